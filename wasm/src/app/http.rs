//! HTTP/1.x request and response headers (parser to be completed).

use super::event::Ctx;
use super::{Parsed, StreamParser};

const METHODS: [&[u8]; 9] = [b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ", b"TRACE "];

pub fn looks_like_http(d: &[u8]) -> bool {
    d.starts_with(b"HTTP/1.") || METHODS.iter().any(|m| d.starts_with(m))
}

#[derive(Default)]
pub struct Http;

impl StreamParser for Http {
    fn parse(&mut self, _ctx: &mut Ctx, _dir: usize, _data: &[u8]) -> Parsed {
        Parsed { done: true, ..Parsed::default() }
    }
}
