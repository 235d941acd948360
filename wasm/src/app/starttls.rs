//! Protocols that turn into TLS on the same connection once both sides agree: SMTP (STARTTLS,
//! then 220), POP3 (STLS, then +OK), IMAP (`tag STARTTLS`, then `tag OK`), XMPP (`<starttls/>`,
//! then `<proceed/>`) and MySQL (the client's SSLRequest, a 32-byte handshake response with
//! CLIENT_SSL). The server's first line of the text protocols is their greeting (AK_BANNER). Once
//! TLS is agreed, the dispatcher hands the flow to the TLS parser (Ctx::starttls). Bounded: a flow
//! that does not ask within MAX_MESSAGES lines or messages is left alone.

use super::event::Ctx;
use super::{Parsed, StreamParser};
use crate::abi::*;

/// Longest line read (SMTP allows 512 bytes per reply line); a longer one ends the look.
const MAX_LINE: usize = 512;
/// Lines or messages looked at before the flow is left alone.
const MAX_MESSAGES: u16 = 64;
/// MySQL's SSLRequest payload: capability flags, max packet size, charset, 23 reserved bytes.
const MYSQL_SSL_REQUEST: usize = 32;
const MYSQL_CLIENT_SSL: u32 = 0x0800;

pub struct Starttls {
    app: u8,
    greeted: bool,
    /// The client asked to start TLS (IMAP: with this tag) and waits for the answer.
    asked: Option<Vec<u8>>,
    messages: u16,
}

impl Starttls {
    pub fn new(app: u8) -> Starttls {
        Starttls { app, greeted: false, asked: None, messages: 0 }
    }

    fn stop(data: &[u8]) -> Parsed {
        Parsed { consumed: data.len(), skip: u64::MAX, done: true }
    }

    /// One line of SMTP, POP3 or IMAP (without CR LF).
    fn line(&mut self, ctx: &mut Ctx, dir: usize, line: &[u8]) {
        let mut words = line.split(|&b| b == b' ');
        let first = words.next().unwrap_or(&[]);
        if dir == 0 {
            self.asked = match self.app {
                APP_IMAP => words.next().filter(|w| w.eq_ignore_ascii_case(b"STARTTLS")).map(|_| first.to_vec()),
                APP_POP3 => first.eq_ignore_ascii_case(b"STLS").then(Vec::new),
                _ => first.eq_ignore_ascii_case(b"STARTTLS").then(Vec::new),
            };
            return;
        }
        if !self.greeted {
            self.greeted = true;
            ctx.fields.clear();
            ctx.fields.bytes(F_BANNER, line);
            ctx.emit(AK_BANNER);
            return;
        }
        let tag = match &self.asked {
            Some(t) => t,
            None => return,
        };
        let agreed = match self.app {
            // Untagged lines ("* CAPABILITY ...") may come before the tagged answer.
            APP_IMAP if first != &tag[..] => return,
            APP_IMAP => words.next().map_or(false, |w| w.eq_ignore_ascii_case(b"OK")),
            APP_POP3 => first.starts_with(b"+OK"),
            // A multi-line reply ("220-") goes on to its last line.
            _ if line.get(3) == Some(&b'-') => return,
            _ => line.starts_with(b"220"),
        };
        ctx.starttls = agreed;
        self.asked = None;
    }

    fn text(&mut self, ctx: &mut Ctx, dir: usize, data: &[u8]) -> Parsed {
        let end = match data.iter().take(MAX_LINE).position(|&b| b == b'\n') {
            Some(end) => end,
            None if data.len() >= MAX_LINE => {
                // A greeting that long is kept cut; any other line that long ends the look.
                if dir == 1 && !self.greeted && ctx.can_emit() {
                    self.line(ctx, dir, &data[..MAX_LINE]);
                }
                return Self::stop(data);
            }
            None => return Parsed::default(),
        };
        if dir == 1 && !self.greeted && !ctx.can_emit() {
            ctx.defer();
            return Parsed::default();
        }
        let line = data[..end].strip_suffix(b"\r").unwrap_or(&data[..end]);
        self.line(ctx, dir, line);
        Parsed { consumed: end + 1, skip: 0, done: false }
    }

    /// XMPP: the stream's stanzas up to the last '>' seen; the request and the answer are
    /// elements of their own.
    fn xmpp(&mut self, ctx: &mut Ctx, dir: usize, data: &[u8]) -> Parsed {
        let end = match data.iter().rposition(|&b| b == b'>') {
            Some(e) => e + 1,
            None if data.len() >= MAX_LINE => return Self::stop(data),
            None => return Parsed::default(),
        };
        let has = |needle: &[u8]| data[..end].windows(needle.len()).any(|w| w == needle);
        if dir == 0 && has(b"<starttls") {
            self.asked = Some(Vec::new());
        } else if dir == 1 && self.asked.is_some() && has(b"<proceed") {
            ctx.starttls = true;
        }
        Parsed { consumed: end, skip: 0, done: false }
    }

    /// MySQL: packets of a 3-byte length and a sequence number; the client's first one decides.
    fn mysql(&mut self, ctx: &mut Ctx, dir: usize, data: &[u8]) -> Parsed {
        let len = match data.get(..4) {
            Some(h) => u32::from_le_bytes([h[0], h[1], h[2], 0]) as usize,
            None => return Parsed::default(),
        };
        if dir == 1 {
            let consumed = data.len().min(4 + len);
            return Parsed { consumed, skip: (4 + len - consumed) as u64, done: false };
        }
        let caps = match data.get(4..8) {
            Some(c) => u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
            None => return Parsed::default(),
        };
        if len != MYSQL_SSL_REQUEST || caps & MYSQL_CLIENT_SSL == 0 {
            return Self::stop(data);
        }
        if data.len() < 4 + len {
            return Parsed::default();
        }
        ctx.starttls = true;
        Parsed { consumed: 4 + len, skip: 0, done: false }
    }
}

impl StreamParser for Starttls {
    fn parse(&mut self, ctx: &mut Ctx, dir: usize, data: &[u8]) -> Parsed {
        let r = match self.app {
            APP_XMPP => self.xmpp(ctx, dir, data),
            APP_MYSQL => self.mysql(ctx, dir, data),
            _ => self.text(ctx, dir, data),
        };
        if r.consumed > 0 && !ctx.starttls {
            self.messages += 1;
            if self.messages >= MAX_MESSAGES {
                return Parsed { done: true, ..r };
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use crate::abi::*;
    use crate::app::testing::{run, tcp_segments, values};

    /// The kinds of events of a flow to `port` (the client's hello after the upgrade is a TLS
    /// record: a ClientHello event shows the switch).
    fn kinds(port: u16, parts: &[(u8, &[u8])]) -> Vec<u8> {
        run(&tcp_segments(parts, port)).1.iter().map(|e| e.0).collect()
    }

    fn client_hello() -> Vec<u8> {
        let msg = crate::app::tls::tests::client_hello_msg(0x0303, &[0xc02f], &[]);
        [&[22, 3, 1, 0, msg.len() as u8][..], &msg].concat()
    }

    #[test]
    fn each_protocol_hands_over_once_both_sides_agree() {
        let ch = client_hello();
        let imap: [(u8, &[u8]); 5] = [
            (1, b"* OK IMAP4rev1 ready\r\n"),
            (0, b"a1 STARTTLS\r\n"),
            (1, b"* note\r\n"),
            (1, b"a1 OK Begin TLS\r\n"),
            (0, &ch),
        ];
        assert_eq!(kinds(143, &imap), [AK_BANNER, AK_TLS_CLIENT_HELLO]);
        let smtp: [(u8, &[u8]); 4] =
            [(1, b"220 mx ESMTP\r\n"), (0, b"STARTTLS\r\n"), (1, b"220-go\r\n220 ahead\r\n"), (0, &ch)];
        assert_eq!(kinds(25, &smtp), [AK_BANNER, AK_TLS_CLIENT_HELLO]);
        let pop: [(u8, &[u8]); 4] = [(1, b"+OK POP3\r\n"), (0, b"STLS\r\n"), (1, b"+OK\r\n"), (0, &ch)];
        assert_eq!(kinds(110, &pop), [AK_BANNER, AK_TLS_CLIENT_HELLO]);
        let xmpp: [(u8, &[u8]); 4] = [
            (0, b"<?xml version='1.0'?><stream:stream to='x' xmlns='jabber:client'>"),
            (0, b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
            (1, b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
            (0, &ch),
        ];
        assert_eq!(kinds(5222, &xmpp), [AK_TLS_CLIENT_HELLO]);
        let greeting = b"\x07\x00\x00\x00\x0a5.7.1\x00";
        let mut ssl_request = vec![32, 0, 0, 1, 0x00, 0x0a, 0, 0];
        ssl_request.resize(36, 0);
        let mysql: [(u8, &[u8]); 3] = [(1, &greeting[..]), (0, &ssl_request), (0, &ch)];
        assert_eq!(kinds(3306, &mysql), [AK_TLS_CLIENT_HELLO]);
    }

    #[test]
    fn a_refusal_or_no_request_keeps_the_protocol() {
        let ch = client_hello();
        let imap: [(u8, &[u8]); 4] =
            [(1, b"* OK ready\r\n"), (0, b"a1 STARTTLS\r\n"), (1, b"a1 NO not now\r\n"), (0, &ch)];
        let (_, ev) = run(&tcp_segments(&imap, 143));
        assert_eq!(ev.len(), 1);
        assert_eq!(values(&ev[0].1, F_BANNER), [b"* OK ready".to_vec()]);
        // A MySQL client that logs in without SSL: the look ends.
        let mut login = vec![40, 0, 0, 1, 0x00, 0x02, 0, 0];
        login.resize(44, 0);
        let (fa, ev) = run(&tcp_segments(&[(1, b"\x07\x00\x00\x00\x0a5.7.1\x00"), (0, &login)], 3306));
        assert!(fa.done && ev.is_empty());
        // The greeting is the server's first line, a long one cut at MAX_LINE.
        let mut long = b"+OK ".to_vec();
        long.resize(600, b'x');
        long.extend_from_slice(b"\r\n");
        let (_, ev) = run(&tcp_segments(&[(1, b"220-mx.example.org ESMTP\r\n220 more\r\n"), (1, &long)], 25));
        assert_eq!(values(&ev[0].1, F_BANNER), [b"220-mx.example.org ESMTP".to_vec()]);
        let (_, ev) = run(&tcp_segments(&[(1, &long)], 110));
        assert_eq!(values(&ev[0].1, F_BANNER)[0].len(), super::MAX_LINE);
        // Endless chatter gives up after a bounded number of lines.
        let chatter = b"NOOP\r\n".repeat(100);
        let (fa, _) = run(&tcp_segments(&[(1, b"220 hi\r\n"), (0, &chatter)], 25));
        assert!(fa.done);
    }
}
