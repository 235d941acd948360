//! The first line a server sends (SMTP, FTP, POP3, IMAP greetings) (parser to be completed).

use super::event::Ctx;
use super::{Parsed, StreamParser};

#[derive(Default)]
pub struct Banner;

impl StreamParser for Banner {
    fn parse(&mut self, _ctx: &mut Ctx, _dir: usize, _data: &[u8]) -> Parsed {
        Parsed { done: true, ..Parsed::default() }
    }
}
