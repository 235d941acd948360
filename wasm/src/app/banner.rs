//! The greeting of SMTP, FTP, POP3 and IMAP servers: the first line of the flow. These servers
//! speak first and detection found the flow by that line, so it is the first data this parser
//! sees (from the responder, unless the capture began after the handshake).

use super::event::Ctx;
use super::{Parsed, StreamParser};
use crate::abi::*;

/// Longest greeting kept (SMTP allows 512 bytes per reply line).
const MAX_LINE: usize = 512;

#[derive(Default)]
pub struct Banner;

impl StreamParser for Banner {
    fn parse(&mut self, ctx: &mut Ctx, _dir: usize, data: &[u8]) -> Parsed {
        let line = match data.iter().take(MAX_LINE).position(|&b| b == b'\n') {
            Some(end) => data[..end].strip_suffix(b"\r").unwrap_or(&data[..end]),
            None if data.len() >= MAX_LINE => &data[..MAX_LINE],
            None => return Parsed::default(),
        };
        if !ctx.can_emit() {
            ctx.defer();
            return Parsed::default();
        }
        ctx.fields.bytes(F_BANNER, line);
        ctx.emit(AK_BANNER);
        Parsed { consumed: data.len(), done: true, ..Parsed::default() }
    }
}

#[cfg(test)]
mod tests {
    use crate::abi::*;
    use crate::app::testing::{run, values, Seg};
    use crate::net::IPPROTO_TCP;

    fn seg(dir: u8, seq: u32, payload: &[u8]) -> Seg<'_> {
        let (sport, dport) = if dir == 1 { (25, 50000) } else { (50000, 25) };
        Seg { dir, proto: IPPROTO_TCP, sport, dport, seq, tcp_flags: 0x18, payload }
    }

    #[test]
    fn the_first_line_once() {
        let (fa, ev) = run(&[
            seg(1, 1, b"220-mx.example.org ESMTP Postfix\r\n220"),
            seg(1, 38, b" more\r\n"),
            seg(0, 1, b"EHLO a\r\n"),
        ]);
        assert!(fa.done);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].0, AK_BANNER);
        assert_eq!(values(&ev[0].1, F_BANNER), vec![b"220-mx.example.org ESMTP Postfix".to_vec()]);
        // A longer line is cut at MAX_LINE.
        let mut long = b"+OK ".to_vec();
        long.resize(600, b'x');
        long.extend_from_slice(b"\r\n");
        let (_, ev) = run(&[seg(1, 1, &long)]);
        assert_eq!(values(&ev[0].1, F_BANNER)[0].len(), super::MAX_LINE);
    }
}
