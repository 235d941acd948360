//! FTP control channel (RFC 959, RFC 2428): client command lines and server replies, one
//! AK_FTP event per command once its final reply arrives (replies are answered in order, so the
//! oldest pending command takes the next final reply), as Zeek's ftp.log has one line per
//! command. The user name is kept for the later events; the password is never read, only marked
//! as given. PASV/EPSV replies and PORT/EPRT commands announce a data connection, which the
//! dispatcher then links to this flow (see expect.rs). AUTH TLS accepted (234) hands the flow to TLS.

use super::event::Ctx;
use super::expect::{address, Announced};
use super::{Parsed, StreamParser};
use crate::abi::*;
use std::collections::VecDeque;

/// Longest line read; a longer one is dropped up to its end.
const MAX_LINE: usize = 2048;
/// Longest argument, user name or reply text kept.
const MAX_TEXT: usize = 512;
/// Commands waiting for a reply; beyond it the oldest goes out without one.
const MAX_PENDING: usize = 16;
/// Lines that are not text before the flow is given up (it is not FTP, or it went binary).
const MAX_JUNK: u8 = 4;

/// A data connection as announced: who connects (orig) to which address and port (resp).
#[derive(Clone, Copy, Debug)]
struct Channel {
    passive: bool,
    orig: [u8; 16],
    resp: [u8; 16],
    port: u16,
}

#[derive(Default)]
struct Command {
    name: Vec<u8>,
    arg: Vec<u8>,
    /// "(N bytes)" from a preliminary (1xx) reply, as written.
    size: Vec<u8>,
    channel: Option<Channel>,
}

#[derive(Default)]
pub struct Ftp {
    pending: VecDeque<Command>,
    user: Vec<u8>,
    password_given: bool,
    /// The first server line went out as AK_BANNER.
    bannered: bool,
    /// A final reply was seen (the first one, the greeting, answers no command: "<init>").
    greeted: bool,
    /// The code of a multi-line reply in progress ("123-" ... "123 ").
    multiline: Option<[u8; 3]>,
    /// Per direction: dropping the rest of an over-long line.
    discarding: [bool; 2],
    junk: u8,
    done: bool,
}

/// A final reply: its code (None when the line has no valid one) and text.
struct Reply<'a> {
    code: Option<u16>,
    text: &'a [u8],
}

impl StreamParser for Ftp {
    fn parse(&mut self, ctx: &mut Ctx, dir: usize, data: &[u8]) -> Parsed {
        let end = match data.iter().take(MAX_LINE).position(|&b| b == b'\n') {
            Some(i) => i,
            None if data.len() >= MAX_LINE => {
                self.discarding[dir] = true;
                return Parsed { consumed: data.len(), ..Parsed::default() };
            }
            None => return Parsed::default(),
        };
        if std::mem::take(&mut self.discarding[dir]) {
            return Parsed { consumed: end + 1, ..Parsed::default() };
        }
        // One event at most per line: else the line waits for room.
        if !ctx.can_emit() {
            ctx.defer();
            return Parsed::default();
        }
        // The dispatcher takes one announced data channel per packet: a second waits for the next.
        if ctx.announced.is_some() {
            return Parsed::default();
        }
        let line = data[..end].strip_suffix(b"\r").unwrap_or(&data[..end]);
        if line.iter().any(|&b| b < 0x20 && b != b'\t') {
            self.junk += 1;
            self.done |= self.junk >= MAX_JUNK;
        } else if dir == 0 {
            self.command(ctx, line);
        } else {
            if !self.bannered {
                // The greeting is also the flow's banner, as for the other greeting servers.
                self.bannered = true;
                ctx.fields.clear();
                ctx.fields.bytes(F_BANNER, &line[..line.len().min(MAX_TEXT)]);
                ctx.dir = 1;
                ctx.emit(AK_BANNER);
                if !ctx.can_emit() {
                    ctx.defer();
                    return Parsed::default();
                }
            }
            self.reply_line(ctx, line);
        }
        Parsed { consumed: end + 1, done: self.done, ..Parsed::default() }
    }
}

impl Ftp {
    fn command(&mut self, ctx: &mut Ctx, line: &[u8]) {
        let (name, arg) = match line.iter().position(|&b| b == b' ') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, &[][..]),
        };
        let mut cmd = Command { name: name.to_ascii_uppercase(), ..Command::default() };
        cmd.name.truncate(MAX_TEXT);
        if cmd.name == b"PASS" {
            self.password_given = true;
        } else {
            cmd.arg = arg[..arg.len().min(MAX_TEXT)].to_vec();
        }
        if cmd.name == b"USER" {
            self.user = cmd.arg.clone();
        }
        let active = match cmd.name.as_slice() {
            b"PORT" => port_address(arg).map(|(a, p)| (ctx.packet.l3, a, p)),
            b"EPRT" => eprt_address(arg),
            _ => None,
        };
        // The server connects from its address to the one the client gave.
        if let Some((l3, addr, port)) = active.filter(|a| a.0 == ctx.packet.l3) {
            let (_, server) = ends(ctx);
            cmd.channel = Some(Channel { passive: false, orig: server, resp: addr, port });
            ctx.announced = Some(Announced::new(l3, &addr, port));
        }
        if self.pending.len() >= MAX_PENDING {
            let oldest = self.pending.pop_front().unwrap_or_default();
            self.emit(ctx, Some(oldest), None);
        }
        self.pending.push_back(cmd);
    }

    /// One line from the server: part of a multi-line reply, or a whole reply.
    fn reply_line(&mut self, ctx: &mut Ctx, line: &[u8]) {
        let code = line.get(..3).filter(|c| c.iter().all(u8::is_ascii_digit));
        if let Some(open) = self.multiline {
            // Only "<same code> " ends it; every other line continues it.
            if code != Some(&open[..]) || line.get(3) == Some(&b'-') {
                return;
            }
            self.multiline = None;
        } else if let (Some(c), Some(b'-')) = (code, line.get(3)) {
            self.multiline = Some([c[0], c[1], c[2]]);
            return;
        }
        let reply = match code {
            Some(c) => Reply {
                code: Some(c.iter().fold(0u16, |n, d| n * 10 + (d - b'0') as u16)),
                text: trim_start(&line[3..]),
            },
            None => Reply { code: None, text: line },
        };
        self.final_reply(ctx, reply);
    }

    fn final_reply(&mut self, ctx: &mut Ctx, reply: Reply) {
        if let Some(100..=199) = reply.code {
            // Preliminary: the command waits on; a transfer reply may tell the file's size.
            if let (Some(cmd), Some(size)) = (self.pending.front_mut(), bytes_in_parens(reply.text)) {
                cmd.size = size.to_vec();
            }
            return;
        }
        let mut cmd = match self.pending.pop_front() {
            Some(c) => Some(c),
            None if !self.greeted => Some(Command { name: b"<init>".to_vec(), ..Command::default() }),
            None => None,
        };
        self.greeted = true;
        if let Some(c) = cmd.as_mut() {
            let (client, server) = ends(ctx);
            let announced = match reply.code {
                Some(227) => port_address(after_paren(reply.text)),
                Some(229) => epsv_port(reply.text).map(|p| (server, p)),
                _ => None,
            };
            if let Some((addr, port)) = announced {
                c.channel = Some(Channel { passive: true, orig: client, resp: addr, port });
                ctx.announced = Some(Announced::new(ctx.packet.l3, &addr, port));
            }
            ctx.starttls |= c.name == b"AUTH" && reply.code == Some(234);
        }
        self.emit(ctx, cmd, Some(reply));
    }

    fn emit(&self, ctx: &mut Ctx, cmd: Option<Command>, reply: Option<Reply>) {
        let f = &mut *ctx.fields;
        f.clear();
        if let Some(c) = &cmd {
            f.bytes(F_FTP_COMMAND, &c.name);
            if !c.arg.is_empty() {
                f.bytes(F_FTP_ARG, &c.arg);
            }
            if !c.size.is_empty() {
                f.bytes(F_FTP_FILE_SIZE, &c.size);
            }
            if let Some(ch) = c.channel {
                // IPv4 addresses as their four bytes.
                let n = if ctx.packet.l3 == L3_IPV4 { 4 } else { 16 };
                f.u8(F_FTP_DATA_PASSIVE, ch.passive as u8);
                f.bytes(F_FTP_DATA_ORIG, &ch.orig[..n]);
                f.bytes(F_FTP_DATA_RESP, &ch.resp[..n]);
                f.u16(F_FTP_DATA_PORT, ch.port);
            }
        }
        if !self.user.is_empty() {
            f.bytes(F_FTP_USER, &self.user);
        }
        if self.password_given {
            f.u8(F_FTP_PASSWORD_GIVEN, 1);
        }
        if let Some(r) = reply {
            if let Some(code) = r.code {
                f.u16(F_FTP_REPLY_CODE, code);
            }
            f.bytes(F_FTP_REPLY_MSG, &r.text[..r.text.len().min(MAX_TEXT)]);
        }
        // Replies come from the server; the event keeps the client-to-server tuple.
        ctx.dir = 0;
        ctx.emit(AK_FTP);
    }
}

/// The control flow's (client, server) addresses, from the packet being decoded.
fn ends(ctx: &Ctx) -> ([u8; 16], [u8; 16]) {
    let p = ctx.packet;
    let (client, server) = if p.flags & PF_FROM_RESPONDER != 0 { (&p.dst, &p.src) } else { (&p.src, &p.dst) };
    (address(p.l3, client), address(p.l3, server))
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| b == b' ').count();
    &s[n..]
}

/// The text after the first "(" (227 replies put the address in parentheses; some servers don't).
fn after_paren(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b == b'(')
        .map_or_else(|| s.iter().position(u8::is_ascii_digit).unwrap_or(s.len()), |i| i + 1);
    &s[start..]
}

/// "h1,h2,h3,h4,p1,p2" (PORT, 227): an IPv4 address and a port.
fn port_address(s: &[u8]) -> Option<([u8; 16], u16)> {
    let mut n = [0u16; 6];
    let mut parts = s.split(|&b| b == b',');
    for v in n.iter_mut() {
        let part = parts.next()?;
        let digits: &[u8] = trim_start(part);
        let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 || len > 3 {
            return None;
        }
        *v = digits[..len].iter().fold(0u16, |a, d| a * 10 + (d - b'0') as u16);
        if *v > 255 {
            return None;
        }
    }
    let mut addr = [0u8; 16];
    for (a, v) in addr.iter_mut().zip(&n[..4]) {
        *a = *v as u8;
    }
    Some((addr, n[4] << 8 | n[5]))
}

/// "(|||port|)" of a 229 reply (RFC 2428 3): the delimiter is the character after "(".
fn epsv_port(s: &[u8]) -> Option<u16> {
    let open = s.iter().position(|&b| b == b'(')?;
    let d = *s.get(open + 1)?;
    let rest = s.get(open + 1..)?;
    let fields: Vec<&[u8]> = rest.split(|&b| b == d).collect();
    number(fields.get(3)?)
}

/// "|af|address|port|" of EPRT: (L3_IPV4 or L3_IPV6, address, port).
fn eprt_address(s: &[u8]) -> Option<(u8, [u8; 16], u16)> {
    let d = *s.first()?;
    let fields: Vec<&[u8]> = s[1..].split(|&b| b == d).collect();
    let text = std::str::from_utf8(fields.get(1)?).ok()?;
    let port = number(fields.get(2)?)?;
    match *fields.first()? {
        b"1" => {
            let v4: std::net::Ipv4Addr = text.parse().ok()?;
            let mut a = [0u8; 16];
            a[..4].copy_from_slice(&v4.octets());
            Some((L3_IPV4, a, port))
        }
        b"2" => Some((L3_IPV6, text.parse::<std::net::Ipv6Addr>().ok()?.octets(), port)),
        _ => None,
    }
}

fn number(s: &[u8]) -> Option<u16> {
    if s.is_empty() || s.len() > 5 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u16, |a, d| a.checked_mul(10)?.checked_add((d - b'0') as u16))
}

/// "N" of "... (N bytes)." in a transfer's preliminary reply.
fn bytes_in_parens(s: &[u8]) -> Option<&[u8]> {
    let open = s.iter().rposition(|&b| b == b'(')?;
    let inner = &s[open + 1..];
    let len = inner.iter().take_while(|b| b.is_ascii_digit()).count();
    (len > 0 && inner[len..].starts_with(b" bytes)")).then(|| &inner[..len])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::{run, tcp_segments, values};

    /// The events of an FTP control flow of (direction, bytes) pieces.
    fn flow(parts: &[(u8, &[u8])]) -> Vec<(u8, Vec<(u16, Vec<u8>)>)> {
        let segs = tcp_segments(parts, 21);
        run(&segs).1
    }

    fn text(ev: &(u8, Vec<(u16, Vec<u8>)>), id: u16) -> Option<String> {
        values(&ev.1, id).first().map(|v| String::from_utf8_lossy(v).into_owned())
    }

    #[test]
    fn commands_pair_with_their_final_replies() {
        let ev = flow(&[
            (1, b"220-Welcome\r\n220 ready\r\n"),
            (0, b"USER alice\r\nPASS s3cret\r\n"),
            (1, b"331 Password required\r\n230 Logged in\r\n"),
            (0, b"PASV\r\n"),
            (1, b"227 Entering Passive Mode (10,0,0,1,195,80).\r\n"),
            (0, b"RETR a b.txt\r\n"),
            (1, b"150 Opening BINARY mode data connection for a b.txt (77 bytes).\r\n226 Done\r\n"),
        ]);
        assert_eq!(ev[0].0, AK_BANNER);
        assert_eq!(text(&ev[0], F_BANNER).as_deref(), Some("220-Welcome"));
        let ev = &ev[1..];
        let names: Vec<Option<String>> = ev.iter().map(|e| text(e, F_FTP_COMMAND)).collect();
        let want = ["<init>", "USER", "PASS", "PASV", "RETR"].map(|s| Some(s.to_string()));
        assert_eq!(names, want);
        assert_eq!(text(&ev[0], F_FTP_REPLY_MSG).as_deref(), Some("ready"));
        assert_eq!(text(&ev[1], F_FTP_ARG).as_deref(), Some("alice"));
        assert_eq!(values(&ev[1].1, F_FTP_REPLY_CODE), [331u16.to_le_bytes().to_vec()]);
        // The password is nowhere in the event, only that it was given.
        assert!(values(&ev[2].1, F_FTP_ARG).is_empty());
        assert!(!ev.iter().any(|e| e.1.iter().any(|(_, v)| v.windows(6).any(|w| w == b"s3cret"))));
        assert_eq!(values(&ev[2].1, F_FTP_PASSWORD_GIVEN), [vec![1]]);
        assert_eq!(values(&ev[3].1, F_FTP_DATA_PORT), [(195u16 * 256 + 80).to_le_bytes().to_vec()]);
        assert_eq!(values(&ev[3].1, F_FTP_DATA_RESP)[0][..4], [10, 0, 0, 1]);
        assert_eq!(values(&ev[3].1, F_FTP_DATA_PASSIVE), [vec![1]]);
        assert_eq!(text(&ev[4], F_FTP_ARG).as_deref(), Some("a b.txt"));
        assert_eq!(text(&ev[4], F_FTP_FILE_SIZE).as_deref(), Some("77"));
        assert_eq!(text(&ev[4], F_FTP_USER).as_deref(), Some("alice"));
    }

    #[test]
    fn address_forms() {
        assert_eq!(epsv_port(b"Entering Extended Passive Mode (|||57086|)"), Some(57086));
        assert_eq!(epsv_port(b"(!!!65536!)"), None);
        let (l3, a, p) = eprt_address(b"|2|2001:470::2e3e|49189|").unwrap();
        assert_eq!((l3, a[0], a[1], a[15], p), (L3_IPV6, 0x20, 0x01, 0x3e, 49189));
        assert_eq!(eprt_address(b"|1|192.0.2.7|20|").map(|x| (x.1[3], x.2)), Some((7, 20)));
        assert!(port_address(b"1,2,3,256,0,21").is_none());
        assert!(port_address(b"114,115").is_none());
        assert_eq!(bytes_in_parens(b"for x (12 bytes)."), Some(&b"12"[..]));
    }

    #[test]
    fn odd_replies_long_lines_and_binary() {
        let long = [b'A'; 3000];
        let ev = flow(&[
            (1, b"220 hi\r\n"),
            (0, b"SYST\r\n"),
            (1, b"SYST not supported\r\n"),
            (0, &long),
            (0, b"AAA\r\nNOOP\r\n"),
            (1, b"200no_space\r\n"),
        ]);
        assert_eq!(ev.len(), 4);
        let ev = &ev[1..];
        assert!(values(&ev[1].1, F_FTP_REPLY_CODE).is_empty());
        assert_eq!(text(&ev[1], F_FTP_REPLY_MSG).as_deref(), Some("SYST not supported"));
        assert_eq!(text(&ev[2], F_FTP_COMMAND).as_deref(), Some("NOOP"));
        assert_eq!(text(&ev[2], F_FTP_REPLY_MSG).as_deref(), Some("no_space"));
        // AUTH TLS accepted: what follows is TLS, nothing more is read.
        let ev = flow(&[(1, b"220 x\r\n"), (0, b"AUTH TLS\r\n"), (1, b"234 go\r\n"), (0, b"\x16\x03\x01\r\n")]);
        assert_eq!(ev.len(), 3);
        let mut rng = crate::app::detect::Rng(11);
        let base = b"220 ftp\r\nUSER a\r\n227 (1,2,3,4,5,6)\r\n229 (|||7|)\r\nEPRT |2|::1|9|\r\n".to_vec();
        for _ in 0..3000 {
            let m = rng.mutate(&base);
            flow(&[(1, &m), (0, &m)]);
        }
    }
}
