//! HTTP/1.x: the request or status line and the headers that say who talks to whom (Host,
//! User-Agent, Server ...), one event per message. Bodies are skipped as they arrive
//! (Content-Length, chunked), so keep-alive and pipelined messages follow one another. A header
//! block larger than MAX_HEADER is reported truncated and ends its direction; so does anything
//! that is not HTTP. A 101 or a CONNECT answered 2xx turns the connection into a tunnel: done,
//! unless the 101 answers `Upgrade: h2c`: then, as after the HTTP/2 connection preface, h2.rs
//! reads the rest. DoH in HTTP/1.1: a request's `dns=` parameter and `application/dns-message`
//! bodies of known length are decoded as DNS.

use super::event::Ctx;
use super::h2::{self, H2};
use super::{Parsed, StreamParser};
use crate::abi::*;
use std::collections::VecDeque;

const METHODS: [&[u8]; 9] = [b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ", b"TRACE "];

/// Largest header block read (start line included).
const MAX_HEADER: usize = 16 * 1024;
/// Longest chunk-size or trailer line.
const MAX_LINE: usize = 1024;
/// Longest method name.
const MAX_METHOD: usize = 32;
/// Requests remembered until their responses (HEAD and CONNECT change what a response carries).
const MAX_PENDING: usize = 64;
/// Largest DoH body read (DNS messages are rarely above a few kB; the stream holds 64 kB).
const MAX_DOH_BODY: u64 = 16 * 1024;

pub fn looks_like_http(d: &[u8]) -> bool {
    d.starts_with(b"HTTP/1.") || METHODS.iter().any(|m| d.starts_with(m)) || d.starts_with(&h2::PREFACE[..16])
}

/// Where a direction is in its stream of messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Expecting a request or status line (blank lines before it are skipped).
    Start,
    /// Chunked body: a chunk-size line.
    ChunkSize,
    /// Chunked body: the line end after a chunk's data.
    ChunkEnd,
    /// Chunked body: trailer fields up to an empty line.
    Trailers,
    /// A CONNECT went out: what follows is a tunnel if the response says 2xx.
    Connect,
    /// A DoH body of this length, read whole.
    DnsBody(u64),
    /// Nothing more to read (not HTTP, a body that lasts until the close, a truncated header).
    Stopped,
}

/// What a request implies for its response.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sent {
    Head,
    Connect,
    /// `Upgrade: h2c`: a 101 switches to HTTP/2.
    H2c,
    Other,
}

#[derive(Clone, Copy)]
struct Side {
    phase: Phase,
    /// Bytes at the front of the stream already searched for the end of the header block.
    scanned: usize,
}

pub struct Http {
    sides: [Side; 2],
    /// Requests not yet answered, oldest first.
    pending: VecDeque<Sent>,
    tunnel: bool,
    /// The HTTP2-Settings header of the last request that asked for h2c.
    h2c_settings: Option<Vec<u8>>,
    /// Set once the connection speaks HTTP/2: it parses everything from then on.
    h2: Option<Box<H2>>,
}

impl Default for Http {
    fn default() -> Http {
        Http {
            sides: [Side { phase: Phase::Start, scanned: 0 }; 2],
            pending: VecDeque::new(),
            tunnel: false,
            h2c_settings: None,
            h2: None,
        }
    }
}

impl StreamParser for Http {
    fn parse(&mut self, ctx: &mut Ctx, dir: usize, data: &[u8]) -> Parsed {
        let dir = dir & 1;
        if let Some(h2) = &mut self.h2 {
            return h2.parse(ctx, dir, data);
        }
        let mut r = match self.sides[dir].phase {
            Phase::Start => self.message(ctx, dir, data),
            Phase::ChunkSize => self.chunk_size(dir, data),
            Phase::ChunkEnd => self.chunk_end(dir, data),
            Phase::Trailers => self.trailer(dir, data),
            Phase::DnsBody(n) => self.dns_body(ctx, dir, data, n),
            // Held until the response says whether a tunnel follows.
            Phase::Connect => Parsed::default(),
            Phase::Stopped => Parsed { consumed: data.len(), skip: u64::MAX, done: false },
        };
        if r.consumed > 0 {
            self.sides[dir].scanned = 0;
        }
        if self.h2.is_none() {
            r.done = self.tunnel || self.sides.iter().all(|s| s.phase == Phase::Stopped);
        }
        r
    }
}

impl Http {
    fn stop(&mut self, dir: usize) -> Parsed {
        self.sides[dir].phase = Phase::Stopped;
        Parsed::default()
    }

    /// A request or response header block, once whole (or once it outgrows MAX_HEADER).
    fn message(&mut self, ctx: &mut Ctx, dir: usize, data: &[u8]) -> Parsed {
        let blank = data.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
        if blank > 0 {
            return Parsed { consumed: blank, ..Parsed::default() };
        }
        if dir == 0 && data[0] == b'P' {
            let n = data.len().min(h2::PREFACE.len());
            if data[..n] == h2::PREFACE[..n] {
                // HTTP/2 with prior knowledge: the preface is whole once n reaches its length.
                if n < h2::PREFACE.len() {
                    return Parsed::default();
                }
                return self.h2.insert(Box::new(H2::prior_knowledge())).parse(ctx, dir, data);
            }
        }
        let window = &data[..data.len().min(MAX_HEADER)];
        let end = header_end(window, self.sides[dir].scanned);
        let (block, truncated) = match end {
            Some(e) => (&data[..e], false),
            None if data.len() >= MAX_HEADER => (window, true),
            None => {
                self.sides[dir].scanned = window.len().saturating_sub(2);
                if !plausible_start(data) {
                    return self.stop(dir);
                }
                return Parsed::default();
            }
        };
        let head = match Head::parse(block, truncated) {
            Some(h) => h,
            None => return self.stop(dir),
        };
        let doh_query = match head.start {
            Start::Request { uri, .. } => h2::dns_parameter(uri),
            Start::Response { .. } => None,
        };
        if ctx.out.room() < APP_EVENT_MAX * (1 + doh_query.is_some() as usize) {
            ctx.defer();
            return Parsed::default();
        }
        let f = &mut *ctx.fields;
        if truncated {
            f.u8(F_HTTP_TRUNCATED, 1);
        }
        let h = &head.headers;
        let next = match head.start {
            Start::Request { method, uri, version } => {
                f.bytes(F_HTTP_METHOD, method);
                f.bytes(F_HTTP_URI, uri);
                if !version.is_empty() {
                    f.bytes(F_HTTP_VERSION, version);
                }
                for (id, name) in [
                    (F_HTTP_HOST, &b"host"[..]),
                    (F_HTTP_USER_AGENT, b"user-agent"),
                    (F_HTTP_CONTENT_TYPE, b"content-type"),
                    (F_HTTP_CONTENT_LENGTH, b"content-length"),
                    (F_HTTP_REFERER, b"referer"),
                ] {
                    if let Some(v) = h.first(name) {
                        f.bytes(id, v);
                    }
                }
                // The scheme word only: the credentials never leave the decoder.
                if let Some(v) = h.first(b"authorization") {
                    f.bytes(F_HTTP_AUTH_SCHEME, v.split(|&b| b == b' ' || b == b'\t').next().unwrap_or(&[]));
                }
                ctx.emit(AK_HTTP_REQUEST);
                if let Some(query) = doh_query {
                    h2::doh(ctx, &query);
                }
                self.request_sent(dir, method, h, truncated)
            }
            Start::Response { version, status, reason } => {
                f.bytes(F_HTTP_VERSION, version);
                f.u16(F_HTTP_STATUS, status);
                f.bytes(F_HTTP_REASON, reason);
                for (id, name) in [
                    (F_HTTP_CONTENT_TYPE, &b"content-type"[..]),
                    (F_HTTP_CONTENT_LENGTH, b"content-length"),
                    (F_HTTP_SERVER, b"server"),
                ] {
                    if let Some(v) = h.first(name) {
                        f.bytes(id, v);
                    }
                }
                ctx.emit(AK_HTTP_RESPONSE);
                self.response_seen(dir, status, h, truncated)
            }
        };
        Parsed { consumed: block.len(), ..next }
    }

    /// After a request's header block: remember what its response will carry, frame its body.
    fn request_sent(&mut self, dir: usize, method: &[u8], h: &Headers, truncated: bool) -> Parsed {
        let h2c = h.all(b"upgrade").iter().flat_map(|v| v.split(|&b| b == b',')).any(|t| trim(t) == b"h2c");
        let sent = match method {
            b"HEAD" => Sent::Head,
            b"CONNECT" => Sent::Connect,
            _ if h2c => Sent::H2c,
            _ => Sent::Other,
        };
        if h2c {
            self.h2c_settings = h.first(b"http2-settings").map(|v| v.to_vec());
        }
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back(sent);
        if truncated {
            self.stop(dir)
        } else if sent == Sent::Connect {
            self.sides[dir].phase = Phase::Connect;
            Parsed::default()
        } else {
            // A request without a length has no body.
            self.body(dir, h, Some(0))
        }
    }

    /// After a response's header block: pair it with its request, frame its body.
    fn response_seen(&mut self, dir: usize, status: u16, h: &Headers, truncated: bool) -> Parsed {
        if status == 101 {
            if self.pending.front() == Some(&Sent::H2c) && !truncated {
                self.h2 = Some(Box::new(H2::upgraded(self.h2c_settings.as_deref())));
                return Parsed::default();
            }
            self.tunnel = true;
        }
        if truncated || self.tunnel {
            return self.stop(dir);
        }
        // Interim responses (100 Continue ...) precede the final one and carry no body.
        if status < 200 {
            return Parsed::default();
        }
        let sent = self.pending.pop_front().unwrap_or(Sent::Other);
        if sent == Sent::Connect {
            if (200..300).contains(&status) {
                self.tunnel = true;
                return self.stop(dir);
            }
            // Refused: the client may go on with plain requests.
            for s in self.sides.iter_mut().filter(|s| s.phase == Phase::Connect) {
                s.phase = Phase::Start;
            }
        }
        if sent == Sent::Head || status == 204 || status == 304 {
            Parsed::default()
        } else {
            // Without a length, the body lasts until the connection closes.
            self.body(dir, h, None)
        }
    }

    /// How the body after a header block is framed (RFC 9112 6.3): `default` when neither
    /// Transfer-Encoding nor Content-Length says (None: until the close).
    fn body(&mut self, dir: usize, h: &Headers, default: Option<u64>) -> Parsed {
        let te = h.all(b"transfer-encoding");
        let dns_message = h.first(b"content-type").map_or(false, h2::is_dns_message);
        let length = if !te.is_empty() {
            let last = te.iter().flat_map(|v| v.split(|&b| b == b',')).last().map(trim).unwrap_or(&[]);
            if last.eq_ignore_ascii_case(b"chunked") {
                self.sides[dir].phase = Phase::ChunkSize;
                return Parsed::default();
            }
            None
        } else {
            match content_length(&h.all(b"content-length")) {
                Ok(Some(n)) => Some(n),
                Ok(None) => default,
                Err(()) => None,
            }
        };
        match length {
            Some(n) if dns_message && n > 0 && n <= MAX_DOH_BODY => {
                self.sides[dir].phase = Phase::DnsBody(n);
                Parsed::default()
            }
            Some(n) => Parsed { skip: n, ..Parsed::default() },
            None => self.stop(dir),
        }
    }

    /// A DoH body, once whole: one DNS event.
    fn dns_body(&mut self, ctx: &mut Ctx, dir: usize, data: &[u8], n: u64) -> Parsed {
        let n = n as usize;
        if data.len() < n {
            return Parsed::default();
        }
        if !ctx.can_emit() {
            ctx.defer();
            return Parsed::default();
        }
        h2::doh(ctx, &data[..n]);
        self.sides[dir].phase = Phase::Start;
        Parsed { consumed: n, ..Parsed::default() }
    }

    fn chunk_size(&mut self, dir: usize, data: &[u8]) -> Parsed {
        let (line, len) = match line(data) {
            Line::Whole(l, n) => (l, n),
            Line::Partial => return Parsed::default(),
            Line::TooLong => return self.stop(dir),
        };
        let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        let size = match line.get(digits) {
            None | Some(b';' | b' ' | b'\t') if digits > 0 && digits <= 15 => {
                line[..digits].iter().fold(0u64, |n, &b| n * 16 + (b as char).to_digit(16).unwrap_or(0) as u64)
            }
            _ => return self.stop(dir),
        };
        if size == 0 {
            self.sides[dir].phase = Phase::Trailers;
            return Parsed { consumed: len, ..Parsed::default() };
        }
        self.sides[dir].phase = Phase::ChunkEnd;
        Parsed { consumed: len, skip: size, done: false }
    }

    fn chunk_end(&mut self, dir: usize, data: &[u8]) -> Parsed {
        let consumed = match data {
            [b'\n', ..] => 1,
            [b'\r', b'\n', ..] => 2,
            [b'\r'] => return Parsed::default(),
            _ => return self.stop(dir),
        };
        self.sides[dir].phase = Phase::ChunkSize;
        Parsed { consumed, ..Parsed::default() }
    }

    fn trailer(&mut self, dir: usize, data: &[u8]) -> Parsed {
        match line(data) {
            Line::Whole(l, n) => {
                if l.is_empty() {
                    self.sides[dir].phase = Phase::Start;
                }
                Parsed { consumed: n, ..Parsed::default() }
            }
            Line::Partial => Parsed::default(),
            Line::TooLong => self.stop(dir),
        }
    }
}

/// The end of a header block (just after its empty line), searching from `from`.
fn header_end(d: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(p) = d.get(i..).and_then(|rest| rest.iter().position(|&b| b == b'\n')) {
        let lf = i + p;
        match (d.get(lf + 1), d.get(lf + 2)) {
            (Some(b'\n'), _) => return Some(lf + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(lf + 3),
            _ => i = lf + 1,
        }
    }
    None
}

/// Whether the bytes so far can still begin a request or status line (garbage stops early).
fn plausible_start(d: &[u8]) -> bool {
    let n = d.len().min(b"HTTP/".len());
    if d[..n] == b"HTTP/"[..n] {
        return true;
    }
    let word = d.iter().take(MAX_METHOD + 1).take_while(|&&b| b != b' ').count();
    word <= MAX_METHOD && d[..word].iter().all(|&b| is_tchar(b))
}

/// RFC 9110 token characters (method and header names).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim(v: &[u8]) -> &[u8] {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = v.iter().position(|b| !ws(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !ws(b)).map_or(start, |e| e + 1);
    &v[start..end.max(start)]
}

/// Content-Length: one number, possibly repeated (RFC 9110 8.6); anything else is an error.
fn content_length(values: &[&[u8]]) -> Result<Option<u64>, ()> {
    let mut n = None;
    for v in values.iter().flat_map(|v| v.split(|&b| b == b',')) {
        let v = trim(v);
        if v.is_empty() || v.len() > 18 || !v.iter().all(u8::is_ascii_digit) {
            return Err(());
        }
        let x = v.iter().fold(0u64, |n, &b| n * 10 + (b - b'0') as u64);
        if matches!(n, Some(m) if m != x) {
            return Err(());
        }
        n = Some(x);
    }
    Ok(n)
}

enum Line<'a> {
    /// The line without its end, and its length with it.
    Whole(&'a [u8], usize),
    Partial,
    TooLong,
}

fn line(d: &[u8]) -> Line<'_> {
    let window = &d[..d.len().min(MAX_LINE)];
    match window.iter().position(|&b| b == b'\n') {
        Some(lf) => Line::Whole(window[..lf].strip_suffix(b"\r").unwrap_or(&window[..lf]), lf + 1),
        None if d.len() >= MAX_LINE => Line::TooLong,
        None => Line::Partial,
    }
}

enum Start<'a> {
    Request { method: &'a [u8], uri: &'a [u8], version: &'a [u8] },
    Response { version: &'a [u8], status: u16, reason: &'a [u8] },
}

/// Header fields in order, names as sent; obs-fold continuations joined by one space.
#[derive(Default)]
struct Headers<'a> {
    fields: Vec<(&'a [u8], Vec<u8>)>,
}

impl<'a> Headers<'a> {
    fn all(&self, name: &[u8]) -> Vec<&[u8]> {
        self.fields.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| &v[..]).collect()
    }

    fn first(&self, name: &[u8]) -> Option<&[u8]> {
        self.fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| &v[..])
    }
}

struct Head<'a> {
    start: Start<'a>,
    headers: Headers<'a>,
}

impl<'a> Head<'a> {
    /// A header block; `cut` when it stops short (the last line may be partial).
    fn parse(block: &'a [u8], cut: bool) -> Option<Head<'a>> {
        let mut lines = block.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let first = lines.next()?;
        let whole = !cut || block.contains(&b'\n');
        let start = start_line(first, whole)?;
        let mut headers = Headers::default();
        for l in lines {
            if l.is_empty() {
                break;
            }
            if l[0] == b' ' || l[0] == b'\t' {
                if let Some((_, v)) = headers.fields.last_mut() {
                    v.push(b' ');
                    v.extend_from_slice(trim(l));
                }
                continue;
            }
            let colon = match l.iter().position(|&b| b == b':') {
                Some(c) if c > 0 && l[..c].iter().all(|&b| is_tchar(b)) => c,
                _ => continue,
            };
            headers.fields.push((&l[..colon], trim(&l[colon + 1..]).to_vec()));
        }
        Some(Head { start, headers })
    }
}

/// "METHOD target HTTP/x.y" or "HTTP/x.y code reason"; `whole` is false for a start line cut
/// at MAX_HEADER (a request's target is then what arrived, without a version).
fn start_line(l: &[u8], whole: bool) -> Option<Start<'_>> {
    if l.starts_with(b"HTTP/") {
        let sp = l.iter().position(|&b| b == b' ')?;
        let version = &l[..sp];
        let rest = &l[sp + 1..];
        let code = rest.get(..3)?;
        if !is_version(version) || !code.iter().all(u8::is_ascii_digit) || matches!(rest.get(3), Some(&b) if b != b' ') {
            return None;
        }
        let status = code.iter().fold(0u16, |n, &b| n * 10 + (b - b'0') as u16);
        return Some(Start::Response { version, status, reason: rest.get(4..).map(trim).unwrap_or(&[]) });
    }
    let sp = l.iter().position(|&b| b == b' ')?;
    let method = &l[..sp];
    if method.len() > MAX_METHOD || !method.iter().all(|&b| is_tchar(b)) {
        return None;
    }
    let rest = &l[sp + 1..];
    let (uri, version) = if whole {
        let last = rest.iter().rposition(|&b| b == b' ')?;
        (trim(&rest[..last]), &rest[last + 1..])
    } else {
        (rest, &[][..])
    };
    if uri.is_empty() || (whole && !is_version(version)) {
        return None;
    }
    Some(Start::Request { method, uri, version })
}

fn is_version(v: &[u8]) -> bool {
    matches!(v, [b'H', b'T', b'T', b'P', b'/', a, b'.', b] if a.is_ascii_digit() && b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_block_ends() {
        assert_eq!(header_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nrest", 0), Some(27));
        assert_eq!(header_end(b"GET / HTTP/1.0\n\nrest", 0), Some(16));
        assert_eq!(header_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r", 0), None);
        assert_eq!(header_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 24), Some(27));
    }

    #[test]
    fn start_lines_and_framing_values() {
        assert!(plausible_start(b"HT") && plausible_start(b"GET /") && plausible_start(b"M-SEARCH"));
        assert!(!plausible_start(b"\x16\x03\x01") && !plausible_start(&[b'A'; 40]));
        assert!(start_line(b"GET / HTTP/1.1", true).is_some());
        assert!(start_line(b"GET /", true).is_none() && start_line(b"GET / HTTP/x", true).is_none());
        assert!(start_line(b"HTTP/1.1 2000", true).is_none() && start_line(b"HTTP/1.1 200", true).is_some());
        assert_eq!(content_length(&[&b"12"[..], b" 12 , 12"]), Ok(Some(12)));
        assert_eq!(content_length(&[&b"12"[..], b"13"]), Err(()));
        assert_eq!(content_length(&[&b"-1"[..]]), Err(()));
        assert_eq!(content_length(&[&b"99999999999999999999"[..]]), Err(()));
        assert_eq!(content_length(&[]), Ok(None));
        assert_eq!(trim(b" \t "), b"");
    }
}

#[cfg(test)]
mod flow_tests {
    use crate::abi::*;
    use crate::app::testing::{rand_below, run, values, Seg};
    use crate::app::FlowApp;
    use crate::net::IPPROTO_TCP;

    type Events = Vec<(u8, Vec<(u16, Vec<u8>)>)>;

    /// Runs a connection given as (direction, bytes) segments with consecutive sequence numbers.
    fn conn(parts: &[(u8, &[u8])]) -> (FlowApp, Events) {
        let mut seq = [1000u32, 5000u32];
        let segs: Vec<Seg> = parts
            .iter()
            .map(|&(dir, payload)| {
                let d = dir as usize;
                let s = seq[d];
                seq[d] = s.wrapping_add(payload.len() as u32);
                let (sport, dport) = if dir == 0 { (40000, 80) } else { (80, 40000) };
                Seg { dir, proto: IPPROTO_TCP, sport, dport, seq: s, tcp_flags: 0x18, payload }
            })
            .collect();
        run(&segs)
    }

    fn str_of(ev: &(u8, Vec<(u16, Vec<u8>)>), id: u16) -> String {
        values(&ev.1, id).first().map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default()
    }

    fn status(ev: &(u8, Vec<(u16, Vec<u8>)>)) -> u16 {
        let v = values(&ev.1, F_HTTP_STATUS);
        u16::from_le_bytes([v[0][0], v[0][1]])
    }

    /// Each event as "METHOD uri" or "status", in order.
    fn summary(ev: &Events) -> Vec<String> {
        ev.iter()
            .map(|e| match e.0 {
                AK_HTTP_REQUEST => format!("{} {}", str_of(e, F_HTTP_METHOD), str_of(e, F_HTTP_URI)),
                _ => status(e).to_string(),
            })
            .collect()
    }

    const REQ: &[u8] = b"GET /index.html HTTP/1.1\r\nhOsT: example.com\r\nUser-Agent: curl/8.0\r\n\tand more\r\n\
Referer: http://a/\r\nAuthorization: Basic dXNlcjpwYXNz\r\nAccept: */*\r\n\r\n";
    const RESP: &[u8] = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello";

    #[test]
    fn request_and_response_fields() {
        let (_, ev) = conn(&[(0, REQ), (1, RESP)]);
        assert_eq!(ev.len(), 2);
        let (req, resp) = (&ev[0], &ev[1]);
        assert_eq!(req.0, AK_HTTP_REQUEST);
        assert_eq!(str_of(req, F_HTTP_METHOD), "GET");
        assert_eq!(str_of(req, F_HTTP_URI), "/index.html");
        assert_eq!(str_of(req, F_HTTP_VERSION), "HTTP/1.1");
        assert_eq!(str_of(req, F_HTTP_HOST), "example.com");
        assert_eq!(str_of(req, F_HTTP_USER_AGENT), "curl/8.0 and more");
        assert_eq!(str_of(req, F_HTTP_REFERER), "http://a/");
        assert_eq!(str_of(req, F_HTTP_AUTH_SCHEME), "Basic");
        assert!(!req.1.iter().any(|(_, v)| v.windows(4).any(|w| w == b"dXNl")), "credentials leaked");
        assert_eq!(resp.0, AK_HTTP_RESPONSE);
        assert_eq!(status(resp), 200);
        assert_eq!(str_of(resp, F_HTTP_REASON), "OK");
        assert_eq!(str_of(resp, F_HTTP_SERVER), "nginx");
        assert_eq!(str_of(resp, F_HTTP_CONTENT_TYPE), "text/html");
        assert_eq!(str_of(resp, F_HTTP_CONTENT_LENGTH), "5");
    }

    #[test]
    fn keep_alive_in_one_byte_segments() {
        let post = b"POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nGET / HTTP/";
        let mut wire = Vec::new();
        for req in [REQ, &post[..], REQ] {
            wire.extend_from_slice(req);
        }
        let mut resp = Vec::new();
        for _ in 0..3 {
            resp.extend_from_slice(RESP);
        }
        // Everything byte by byte, from the first: detection waits for enough of the stream.
        let mut parts: Vec<(u8, &[u8])> = wire.chunks(1).map(|c| (0u8, c)).collect();
        parts.extend(resp.chunks(1).map(|c| (1u8, c)));
        let (fa, ev) = conn(&parts);
        assert_eq!(summary(&ev), ["GET /index.html", "POST /form", "GET /index.html", "200", "200", "200"]);
        assert_eq!(str_of(&ev[1], F_HTTP_CONTENT_LENGTH), "11");
        assert!(!fa.done);
    }

    #[test]
    fn pipelined_requests_and_head() {
        let reqs = b"HEAD /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n";
        // The HEAD response announces a length but has no body; 304 has none either.
        let resps = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n\
HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop";
        let (_, ev) = conn(&[(0, reqs), (1, &resps[..50]), (1, &resps[50..])]);
        assert_eq!(summary(&ev), ["HEAD /a", "GET /b", "GET /c", "200", "304", "404"]);
        assert_eq!(str_of(&ev[5], F_HTTP_REASON), "Not Found");
    }

    #[test]
    fn chunked_bodies() {
        let resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\n\
Trailer-X: y\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
        let req = b"POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /x HTTP/1.1\r\n\r\n";
        let mut parts: Vec<(u8, &[u8])> = vec![(0, &req[..5])];
        parts.extend(req[5..].chunks(2).map(|c| (0u8, c)));
        parts.push((1, &resp[..8]));
        parts.extend(resp[8..].chunks(3).map(|c| (1u8, c)));
        let (_, ev) = conn(&parts);
        assert_eq!(summary(&ev), ["POST /up", "GET /x", "200", "201"]);
        // A bad chunk size stops that direction.
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nHTTP/1.1 200 OK\r\n\r\n";
        let (_, ev) = conn(&[(0, b"GET / HTTP/1.1\r\n\r\n"), (1, bad)]);
        assert_eq!(summary(&ev), ["GET /", "200"]);
    }

    #[test]
    fn interim_responses_and_tunnels() {
        let (fa, ev) = conn(&[
            (0, b"POST /p HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"),
            (1, b"HTTP/1.1 100 Continue\r\n\r\n"),
            (0, b"hi"),
            (1, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
            (0, b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"),
            (1, b"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x05hello"),
        ]);
        assert_eq!(summary(&ev), ["POST /p", "100", "200", "GET /ws", "101"]);
        assert!(fa.done);
        // A refused CONNECT lets plain requests go on; an accepted one is a tunnel.
        let (fa, ev) = conn(&[
            (0, b"CONNECT a:443 HTTP/1.1\r\n\r\n"),
            (1, b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 2\r\n\r\nno"),
            (0, b"CONNECT a:443 HTTP/1.1\r\nProxy-Authorization: Basic eA==\r\n\r\n"),
            (1, b"HTTP/1.1 200 Connection established\r\n\r\n"),
            (0, b"\x16\x03\x01\x00\x05hello"),
        ]);
        assert_eq!(summary(&ev), ["CONNECT a:443", "407", "CONNECT a:443", "200"]);
        assert!(fa.done);
    }

    #[test]
    fn a_body_until_the_close_ends_the_response_side() {
        let (fa, ev) = conn(&[
            (0, b"GET / HTTP/1.0\r\n\r\n"),
            (1, b"HTTP/1.0 200 OK\r\n\r\nHTTP/1.1 500 Not a response\r\n\r\n"),
            (0, b"GET /2 HTTP/1.0\r\n\r\n"),
        ]);
        assert_eq!(summary(&ev), ["GET /", "200", "GET /2"]);
        assert!(!fa.done);
    }

    #[test]
    fn oversized_header_blocks_are_truncated() {
        let mut big = b"GET /big HTTP/1.1\r\nHost: h\r\nX-Pad: ".to_vec();
        big.resize(40_000, b'a');
        let mut parts: Vec<(u8, &[u8])> = big.chunks(1400).map(|c| (0u8, c)).collect();
        parts.push((1, RESP));
        let (_, ev) = conn(&parts);
        assert_eq!(summary(&ev), ["GET /big", "200"]);
        assert_eq!(values(&ev[0].1, F_HTTP_TRUNCATED), vec![vec![1]]);
        assert_eq!(str_of(&ev[0], F_HTTP_HOST), "h");
        // A start line longer than the limit: the target as far as it went, no version.
        let mut long = b"GET /".to_vec();
        long.resize(20_000, b'x');
        let (_, ev) = conn(&[(0, &long[..]), (1, RESP)]);
        assert_eq!(ev.len(), 2);
        let uri = str_of(&ev[0], F_HTTP_URI);
        assert!(uri.starts_with("/xxx") && uri.len() > 16_000, "{}", uri.len());
        assert!(values(&ev[0].1, F_HTTP_VERSION).is_empty());
    }

    #[test]
    fn garbage_gives_up() {
        let (fa, ev) = conn(&[(0, b"GET / HTTP/1.1\r\n\r\n\x00\x01\x02garbage"), (1, b"\x16\x03\x01binary")]);
        assert_eq!(summary(&ev), ["GET /"]);
        assert!(fa.done);
        // A line that never ends: stopped at the first word, not at MAX_HEADER.
        let (fa, ev) = conn(&[(0, b"GET /x HTTP/1.1\r\n\r\nnot-a-method-but-a-very-long-word-instead"), (1, b"\x16\x03")]);
        assert_eq!(summary(&ev), ["GET /x"]);
        assert!(fa.done);
        // A bad status line, or a length that cannot frame the body: what follows is not read.
        for (bad, n) in [(&b"HTTP/1.1 abc\r\n\r\n"[..], 0), (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\nGET", 1)] {
            let (_, ev) = conn(&[(1, bad), (1, b"HTTP/1.1 200 OK\r\n\r\n")]);
            assert_eq!(ev.len(), n);
        }
    }

    #[test]
    fn random_segments_change_nothing_and_mutations_never_panic() {
        let mut conv: Vec<(u8, Vec<u8>)> = Vec::new();
        for _ in 0..4 {
            conv.push((0, REQ.to_vec()));
            conv.push((1, RESP.to_vec()));
            conv.push((
                0,
                b"HEAD / HTTP/1.1\r\n\r\nPOST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n".to_vec(),
            ));
            conv.push((1, b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n".to_vec()));
        }
        let mut rand = rand_below(0x2545_f491_4f6c_dd1du64);
        for run in 0..300 {
            let mut parts: Vec<(u8, Vec<u8>)> = Vec::new();
            for (dir, msg) in &conv {
                let mut m = msg.clone();
                // Every other run keeps the bytes intact: only the segmentation changes.
                for _ in 0..if run % 2 == 0 { 0 } else { rand(4) } {
                    let at = rand(m.len());
                    let b = b"\r\n :0\x00Ff9;"[rand(10)];
                    m[at] = b;
                }
                let mut at = 0;
                while at < m.len() {
                    let small = rand(2) == 0;
                    // Detection needs the method in the first segment.
                    let n = if parts.is_empty() { 4 } else { 1 + rand(if small { 3 } else { 40 }) };
                    parts.push((*dir, m[at..(at + n).min(m.len())].to_vec()));
                    at += n;
                }
            }
            let refs: Vec<(u8, &[u8])> = parts.iter().map(|(d, p)| (*d, &p[..])).collect();
            let (_, ev) = conn(&refs);
            if run % 2 == 0 {
                assert_eq!(ev.len(), 4 * 6);
            } else {
                assert!(ev.len() <= 4 * 6);
            }
        }
    }
}
