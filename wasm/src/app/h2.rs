//! HTTP/2 in cleartext (h2c, RFC 9113), entered by the client's connection preface (prior
//! knowledge) or after an HTTP/1.1 `Upgrade: h2c` answered 101 (http.rs hands over). Frames are
//! read one at a time from each direction's stream; header blocks (HEADERS + CONTINUATION,
//! PUSH_PROMISE) go through that direction's HPACK decoder in order and become HTTP request or
//! response events with version "HTTP/2" and their stream id. DNS over HTTPS in the clear
//! (RFC 8484): a GET's `dns=` parameter and `application/dns-message` bodies become DNS events
//! marked DoH. Bounded: a header block holds at most MAX_HEADER_BLOCK bytes, DoH bodies at most
//! DOH_BODY_MAX each and DOH_BUFFERED together in at most MAX_DOH_STREAMS streams. A protocol
//! error or a block that cannot be decoded stops its direction (the HPACK state is lost).

use super::event::Ctx;
use super::hpack;
use super::{dns, Parsed};
use crate::abi::*;
use crate::bytes::{be16, be32};
use crate::net::IPPROTO_TCP;

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const FRAME_HEADER: usize = 9;
const MAX_HEADER_BLOCK: usize = 48 * 1024;
/// Largest frame waited for whole; larger frames of other types are skipped unread.
const MAX_FRAME_READ: usize = 48 * 1024;
/// A DNS message is at most 65535 bytes; DoH bodies beyond this are not decoded.
const DOH_BODY_MAX: usize = 65535;
const DOH_BUFFERED: usize = 128 * 1024;
const MAX_DOH_STREAMS: usize = 32;
const DNS_MESSAGE: &[u8] = b"application/dns-message";

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const PUSH_PROMISE: u8 = 5;
const GOAWAY: u8 = 7;
const CONTINUATION: u8 = 9;

const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

const SETTINGS_HEADER_TABLE_SIZE: u16 = 1;

/// A header block waiting for its CONTINUATION frames.
struct Block {
    stream: u32,
    end_stream: bool,
    /// A PUSH_PROMISE's block: decoded to keep the table in step, not reported.
    promise: bool,
    bytes: Vec<u8>,
}

#[derive(Default)]
struct Side {
    /// The client's connection preface has not been seen yet.
    preface: bool,
    stopped: bool,
    hpack: hpack::Decoder,
    block: Option<Block>,
}

/// A DoH body being gathered: stream, direction, bytes so far.
struct DohBody {
    stream: u32,
    dir: usize,
    bytes: Vec<u8>,
}

#[derive(Default)]
pub struct H2 {
    sides: [Side; 2],
    bodies: Vec<DohBody>,
}

/// The fields of a header block that the events carry (names arrive lowercase in HTTP/2).
#[derive(Default)]
struct Head {
    method: Option<Vec<u8>>,
    path: Option<Vec<u8>>,
    authority: Option<Vec<u8>>,
    status: Option<Vec<u8>>,
    host: Option<Vec<u8>>,
    user_agent: Option<Vec<u8>>,
    content_type: Option<Vec<u8>>,
    content_length: Option<Vec<u8>>,
    referer: Option<Vec<u8>>,
    auth_scheme: Option<Vec<u8>>,
    server: Option<Vec<u8>>,
}

impl Head {
    fn field(&mut self, name: &[u8], value: &[u8]) {
        let slot = match name {
            b":method" => &mut self.method,
            b":path" => &mut self.path,
            b":authority" => &mut self.authority,
            b":status" => &mut self.status,
            b"host" => &mut self.host,
            b"user-agent" => &mut self.user_agent,
            b"content-type" => &mut self.content_type,
            b"content-length" => &mut self.content_length,
            b"referer" => &mut self.referer,
            b"server" => &mut self.server,
            // The scheme word only: the credentials never leave the decoder.
            b"authorization" => {
                let scheme = value.split(|&b| b == b' ').next().unwrap_or(&[]);
                self.auth_scheme.get_or_insert_with(|| scheme.to_vec());
                return;
            }
            _ => return,
        };
        slot.get_or_insert_with(|| value.to_vec());
    }

    fn is_dns_message(&self) -> bool {
        self.content_type.as_deref().map_or(false, is_dns_message)
    }
}

impl H2 {
    /// After the client's preface was recognised at the start of its stream.
    pub fn prior_knowledge() -> H2 {
        let mut h = H2::default();
        h.sides[0].preface = true;
        h
    }

    /// After `Upgrade: h2c` and a 101: the client sends the preface next; `settings` is its
    /// HTTP2-Settings header (base64url SETTINGS payload), which may size the server's table.
    pub fn upgraded(settings: Option<&[u8]>) -> H2 {
        let mut h = H2::prior_knowledge();
        if let Some(payload) = settings.and_then(base64url) {
            h.settings(0, &payload);
        }
        h
    }

    pub fn parse(&mut self, ctx: &mut Ctx, dir: usize, data: &[u8]) -> Parsed {
        let side = &mut self.sides[dir];
        let mut r = if side.stopped {
            Parsed { consumed: data.len(), skip: u64::MAX, done: false }
        } else if side.preface {
            let n = data.len().min(PREFACE.len());
            if data[..n] != PREFACE[..n] {
                self.stop(dir)
            } else if n == PREFACE.len() {
                side.preface = false;
                Parsed { consumed: n, ..Parsed::default() }
            } else {
                Parsed::default()
            }
        } else {
            self.frame(ctx, dir, data)
        };
        r.done = self.sides.iter().all(|s| s.stopped);
        r
    }

    fn stop(&mut self, dir: usize) -> Parsed {
        let side = &mut self.sides[dir];
        side.stopped = true;
        side.block = None;
        self.bodies.retain(|b| b.dir != dir);
        Parsed::default()
    }

    /// One frame, once whole (or its header, for frames skipped unread).
    fn frame(&mut self, ctx: &mut Ctx, dir: usize, data: &[u8]) -> Parsed {
        let header = match data.get(..FRAME_HEADER) {
            Some(h) => h,
            None => return Parsed::default(),
        };
        let len = (be32(header, 0).unwrap_or(0) >> 8) as usize;
        let (kind, flags) = (header[3], header[4]);
        let stream = be32(header, 5).unwrap_or(0) & 0x7fff_ffff;
        let awaited = self.sides[dir].block.is_some();
        if awaited != (kind == CONTINUATION) {
            // A header block must be followed by its CONTINUATION frames and nothing else.
            return self.stop(dir);
        }
        let wanted = matches!(kind, HEADERS | CONTINUATION | PUSH_PROMISE | SETTINGS | RST_STREAM | GOAWAY)
            || (kind == DATA && self.body_of(stream, dir).is_some());
        if !wanted || len > MAX_FRAME_READ {
            if matches!(kind, HEADERS | CONTINUATION | PUSH_PROMISE) {
                return self.stop(dir);
            }
            self.drop_body(stream, dir);
            return Parsed { consumed: FRAME_HEADER, skip: len as u64, done: false };
        }
        let payload = match data.get(FRAME_HEADER..FRAME_HEADER + len) {
            Some(p) => p,
            None => return Parsed::default(),
        };
        // Header blocks that end here may emit an HTTP event and a DNS one; a DoH body one.
        let ends_block = matches!(kind, HEADERS | CONTINUATION) && flags & END_HEADERS != 0;
        let ends_body = kind == DATA && flags & END_STREAM != 0;
        if (ends_block || ends_body) && ctx.out.room() < 2 * APP_EVENT_MAX {
            ctx.defer();
            return Parsed::default();
        }
        let ok = match kind {
            HEADERS => self.headers(ctx, dir, stream, flags, payload),
            CONTINUATION => self.continuation(ctx, dir, stream, flags, payload),
            PUSH_PROMISE => self.push_promise(ctx, dir, stream, flags, payload),
            DATA => self.data(ctx, dir, stream, flags, payload),
            SETTINGS => {
                if stream == 0 && flags & ACK == 0 {
                    self.settings(dir, payload);
                }
                true
            }
            RST_STREAM => {
                self.bodies.retain(|b| b.stream != stream);
                true
            }
            // GOAWAY: streams the receiver opened above the last one the sender processed never
            // happened (the client opens odd streams, the server even ones).
            _ => {
                let last = be32(payload, 0).unwrap_or(u32::MAX) & 0x7fff_ffff;
                let opened_by_receiver = |s: u32| (s % 2 == 1) == (dir == 1);
                self.bodies.retain(|b| b.stream <= last || !opened_by_receiver(b.stream));
                true
            }
        };
        if !ok {
            return self.stop(dir);
        }
        Parsed { consumed: FRAME_HEADER + len, ..Parsed::default() }
    }

    /// SETTINGS from `dir`: its header table size bounds what the other direction's encoder uses.
    fn settings(&mut self, dir: usize, payload: &[u8]) {
        for entry in payload.chunks_exact(6) {
            if be16(entry, 0) == Some(SETTINGS_HEADER_TABLE_SIZE) {
                let size = be32(entry, 2).unwrap_or(0) as usize;
                self.sides[1 - dir].hpack.limit = size.min(hpack::HARD_MAX_TABLE);
            }
        }
    }

    fn headers(&mut self, ctx: &mut Ctx, dir: usize, stream: u32, flags: u8, payload: &[u8]) -> bool {
        let skip = if flags & PRIORITY != 0 { 5 } else { 0 };
        let fragment = match unpad(payload, flags, skip) {
            Some(f) if stream != 0 => f,
            _ => return false,
        };
        let end_stream = flags & END_STREAM != 0;
        if flags & END_HEADERS != 0 {
            return self.block(ctx, dir, stream, end_stream, false, fragment);
        }
        self.sides[dir].block = Some(Block { stream, end_stream, promise: false, bytes: fragment.to_vec() });
        true
    }

    fn continuation(&mut self, ctx: &mut Ctx, dir: usize, stream: u32, flags: u8, payload: &[u8]) -> bool {
        let mut block = match self.sides[dir].block.take() {
            Some(b) if b.stream == stream && b.bytes.len() + payload.len() <= MAX_HEADER_BLOCK => b,
            _ => return false,
        };
        block.bytes.extend_from_slice(payload);
        if flags & END_HEADERS == 0 {
            self.sides[dir].block = Some(block);
            return true;
        }
        self.block(ctx, dir, block.stream, block.end_stream, block.promise, &block.bytes)
    }

    fn push_promise(&mut self, ctx: &mut Ctx, dir: usize, stream: u32, flags: u8, payload: &[u8]) -> bool {
        let fragment = match unpad(payload, flags, 4) {
            Some(f) if stream != 0 => f,
            _ => return false,
        };
        if flags & END_HEADERS != 0 {
            return self.block(ctx, dir, stream, false, true, fragment);
        }
        self.sides[dir].block = Some(Block { stream, end_stream: false, promise: true, bytes: fragment.to_vec() });
        true
    }

    /// A whole header block: decoded, then reported (a block without pseudo-headers is a trailer).
    fn block(&mut self, ctx: &mut Ctx, dir: usize, stream: u32, end_stream: bool, promise: bool, block: &[u8]) -> bool {
        let mut head = Head::default();
        if self.sides[dir].hpack.decode(block, |n, v| head.field(n, v)).is_err() {
            return false;
        }
        if promise {
            return true;
        }
        let doh_body = !end_stream && head.is_dns_message();
        if head.method.is_some() {
            request(ctx, stream, &head);
            if let Some(query) = head.path.as_deref().and_then(dns_parameter) {
                doh(ctx, &query);
            }
        } else if head.status.is_some() {
            response(ctx, stream, &head);
        } else {
            return true;
        }
        if doh_body && self.bodies.len() < MAX_DOH_STREAMS && self.body_of(stream, dir).is_none() {
            self.bodies.push(DohBody { stream, dir, bytes: Vec::new() });
        }
        true
    }

    fn data(&mut self, ctx: &mut Ctx, dir: usize, stream: u32, flags: u8, payload: &[u8]) -> bool {
        let content = match unpad(payload, flags, 0) {
            Some(c) => c,
            None => return false,
        };
        let buffered: usize = self.bodies.iter().map(|b| b.bytes.len()).sum();
        let i = match self.body_of(stream, dir) {
            Some(i) => i,
            None => return true,
        };
        let body = &mut self.bodies[i];
        if body.bytes.len() + content.len() > DOH_BODY_MAX || buffered + content.len() > DOH_BUFFERED {
            self.bodies.swap_remove(i);
            return true;
        }
        body.bytes.extend_from_slice(content);
        if flags & END_STREAM != 0 {
            let body = self.bodies.swap_remove(i);
            doh(ctx, &body.bytes);
        }
        true
    }

    fn body_of(&self, stream: u32, dir: usize) -> Option<usize> {
        self.bodies.iter().position(|b| b.stream == stream && b.dir == dir)
    }

    fn drop_body(&mut self, stream: u32, dir: usize) {
        if let Some(i) = self.body_of(stream, dir) {
            self.bodies.swap_remove(i);
        }
    }
}

/// Whether a Content-Type names a DNS message (parameters ignored).
pub fn is_dns_message(content_type: &[u8]) -> bool {
    let media = content_type.split(|&b| b == b';').next().unwrap_or(&[]);
    let start = media.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(media.len());
    let end = media.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |e| e + 1);
    media[start..end.max(start)].eq_ignore_ascii_case(DNS_MESSAGE)
}

/// A frame's content without its padding (and without `skip` leading bytes); None if the
/// padding runs past the frame.
fn unpad(payload: &[u8], flags: u8, skip: usize) -> Option<&[u8]> {
    let (pad, start) = if flags & PADDED != 0 { (*payload.first()? as usize, 1) } else { (0, 0) };
    let end = payload.len().checked_sub(pad)?;
    payload.get(start + skip..end)
}

fn request(ctx: &mut Ctx, stream: u32, h: &Head) {
    let f = &mut *ctx.fields;
    let opt = |f: &mut super::event::Fields, id, v: &Option<Vec<u8>>| {
        if let Some(v) = v {
            f.bytes(id, v);
        }
    };
    opt(f, F_HTTP_METHOD, &h.method);
    opt(f, F_HTTP_URI, &h.path);
    f.bytes(F_HTTP_VERSION, b"HTTP/2");
    opt(f, F_HTTP_HOST, if h.authority.is_some() { &h.authority } else { &h.host });
    opt(f, F_HTTP_USER_AGENT, &h.user_agent);
    opt(f, F_HTTP_CONTENT_TYPE, &h.content_type);
    opt(f, F_HTTP_CONTENT_LENGTH, &h.content_length);
    opt(f, F_HTTP_REFERER, &h.referer);
    opt(f, F_HTTP_AUTH_SCHEME, &h.auth_scheme);
    f.u32(F_HTTP_STREAM_ID, stream);
    ctx.emit(AK_HTTP_REQUEST);
}

fn response(ctx: &mut Ctx, stream: u32, h: &Head) {
    let f = &mut *ctx.fields;
    f.bytes(F_HTTP_VERSION, b"HTTP/2");
    let status = h.status.as_deref().unwrap_or(&[]);
    if status.len() == 3 && status.iter().all(u8::is_ascii_digit) {
        f.u16(F_HTTP_STATUS, status.iter().fold(0u16, |n, &b| n * 10 + (b - b'0') as u16));
    }
    for (id, v) in
        [(F_HTTP_CONTENT_TYPE, &h.content_type), (F_HTTP_CONTENT_LENGTH, &h.content_length), (F_HTTP_SERVER, &h.server)]
    {
        if let Some(v) = v {
            f.bytes(id, v);
        }
    }
    f.u32(F_HTTP_STREAM_ID, stream);
    ctx.emit(AK_HTTP_RESPONSE);
}

/// One DNS message carried by DoH, as a DNS event marked so.
pub fn doh(ctx: &mut Ctx, message: &[u8]) {
    ctx.fields.u8(F_DNS_DOH, 1);
    dns::message(ctx, message, IPPROTO_TCP);
}

/// The decoded `dns` parameter of a request target (RFC 8484 4.1), if it has one.
pub fn dns_parameter(target: &[u8]) -> Option<Vec<u8>> {
    let query = &target[target.iter().position(|&b| b == b'?')? + 1..];
    let value = query.split(|&b| b == b'&').find_map(|p| p.strip_prefix(b"dns="))?;
    base64url(value)
}

/// base64url without padding (RFC 4648 5); trailing '=' tolerated, anything else refused.
pub fn base64url(s: &[u8]) -> Option<Vec<u8>> {
    let s = &s[..s.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1)];
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for &c in s {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_parameters() {
        assert_eq!(base64url(b"AAABAAAB"), Some(vec![0, 0, 1, 0, 0, 1]));
        assert_eq!(base64url(b"YQ=="), Some(b"a".to_vec()));
        assert_eq!(base64url(b"Y-_"), Some(vec![0x63, 0xef]));
        assert_eq!(base64url(b"A"), None);
        assert_eq!(base64url(b"a+b/"), None);
        assert_eq!(dns_parameter(b"/dns-query?ct&dns=YQ"), Some(b"a".to_vec()));
        assert_eq!(dns_parameter(b"/dns-query"), None);
        assert_eq!(dns_parameter(b"/q?xdns=YQ"), None);
    }

    #[test]
    fn padding() {
        assert_eq!(unpad(&[2, b'a', b'b', 0, 0], PADDED, 0), Some(&b"ab"[..]));
        assert_eq!(unpad(&[9, b'a'], PADDED, 0), None);
        assert_eq!(unpad(&[], PADDED, 0), None);
        assert_eq!(unpad(&[0, 0, 0, 0, 0, b'h'], PRIORITY, 5), Some(&b"h"[..]));
        assert_eq!(unpad(&[1, 0, 0, 0, 0], PADDED | PRIORITY, 5), None);
    }
}

#[cfg(test)]
mod flow_tests {
    use super::*;
    use crate::app::testing::{rand_below, run, values, Seg};
    use crate::app::FlowApp;

    type Event = (u8, Vec<(u16, Vec<u8>)>);

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
        f.extend_from_slice(&[kind, flags]);
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    /// A literal field without indexing, with a new name, no Huffman.
    fn lit(name: &str, value: &[u8]) -> Vec<u8> {
        let mut b = vec![0, name.len() as u8];
        b.extend_from_slice(name.as_bytes());
        b.push(value.len() as u8);
        b.extend_from_slice(value);
        b
    }

    /// A query for `name` A, as dig sends it.
    fn query(name: &str) -> Vec<u8> {
        let mut m = vec![0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            m.push(label.len() as u8);
            m.extend_from_slice(label.as_bytes());
        }
        m.extend_from_slice(&[0, 0, 1, 0, 1]);
        m
    }

    /// Runs a connection given as (direction, bytes) with consecutive sequence numbers, each
    /// part cut into segments of `seg` bytes.
    fn conn(parts: &[(u8, Vec<u8>)], seg: usize) -> (FlowApp, Vec<Event>) {
        let mut seq = [1000u32, 5000u32];
        let mut segs = Vec::new();
        for (dir, bytes) in parts {
            for chunk in bytes.chunks(seg) {
                let d = *dir as usize;
                let (sport, dport) = if d == 0 { (40000, 80) } else { (80, 40000) };
                segs.push(Seg {
                    dir: *dir,
                    proto: IPPROTO_TCP,
                    sport,
                    dport,
                    seq: seq[d],
                    tcp_flags: 0x18,
                    payload: chunk,
                });
                seq[d] = seq[d].wrapping_add(chunk.len() as u32);
            }
        }
        run(&segs)
    }

    fn text(e: &Event, id: u16) -> String {
        values(&e.1, id).first().map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default()
    }

    fn num(e: &Event, id: u16) -> u32 {
        values(&e.1, id).first().map(|v| v.iter().rev().fold(0u32, |n, &b| n << 8 | b as u32)).unwrap_or(0)
    }

    /// Each event as "stream METHOD path authority", "stream status" or "dns qname".
    fn summary(ev: &[Event]) -> Vec<String> {
        ev.iter()
            .map(|e| match e.0 {
                AK_HTTP_REQUEST => format!(
                    "{} {} {} {}",
                    num(e, F_HTTP_STREAM_ID),
                    text(e, F_HTTP_METHOD),
                    text(e, F_HTTP_URI),
                    text(e, F_HTTP_HOST)
                ),
                AK_HTTP_RESPONSE => format!("{} {}", num(e, F_HTTP_STREAM_ID), num(e, F_HTTP_STATUS)),
                _ => format!(
                    "dns{} {}",
                    if values(&e.1, F_DNS_DOH).is_empty() { "" } else { "(doh)" },
                    text(e, F_DNS_QNAME)
                ),
            })
            .collect()
    }

    /// Prior knowledge, with the RFC 7541 C.4 requests and C.6 responses (Huffman, the dynamic
    /// tables, eviction at 256 bytes): the first request padded, prioritised and split into
    /// CONTINUATION frames; the server's table size set by the client's SETTINGS.
    fn rfc_connection() -> Vec<(u8, Vec<u8>)> {
        let c41 = hex("828684418cf1e3c2e5f23a6ba0ab90f4ff");
        let mut first = vec![3, 0, 0, 0, 0, 200];
        first.extend_from_slice(&c41[..5]);
        first.extend_from_slice(&[0, 0, 0]);
        let mut client = PREFACE.to_vec();
        client.extend(frame(SETTINGS, 0, 0, &[0, 1, 0, 0, 1, 0]));
        client.extend(frame(HEADERS, PADDED | PRIORITY | END_STREAM, 1, &first));
        client.extend(frame(CONTINUATION, 0, 1, &c41[5..9]));
        client.extend(frame(CONTINUATION, END_HEADERS, 1, &c41[9..]));
        client.extend(frame(HEADERS, END_HEADERS | END_STREAM, 3, &hex("828684be5886a8eb10649cbf")));
        let mut c61 = hex("3fe101");
        c61.extend(hex("488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3"));
        let mut server = frame(SETTINGS, 0, 0, &[]);
        server.extend(frame(SETTINGS, ACK, 0, &[]));
        server.extend(frame(HEADERS, END_HEADERS, 1, &c61));
        server.extend(frame(DATA, END_STREAM, 1, b"moved"));
        server.extend(frame(HEADERS, END_HEADERS | END_STREAM, 3, &hex("4883640effc1c0bf")));
        vec![(0, client), (1, server)]
    }

    #[test]
    fn prior_knowledge_in_any_segmentation() {
        for seg in [1, 7, 100, 10_000] {
            let (fa, ev) = conn(&rfc_connection(), seg);
            assert_eq!(summary(&ev), ["1 GET / www.example.com", "3 GET / www.example.com", "1 302", "3 307"], "{seg}");
            assert_eq!(text(&ev[0], F_HTTP_VERSION), "HTTP/2");
            assert!(!fa.done);
        }
    }

    #[test]
    fn upgrade_from_http1() {
        // HTTP2-Settings with a header table of 256 bytes: the server's encoder may use no more.
        let req = b"GET /up HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAEAAAEA\r\n\r\n";
        let mut server = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n".to_vec();
        server.extend(frame(SETTINGS, 0, 0, &[]));
        // The upgraded request's response on stream 1; a size update past 256 is refused.
        server.extend(frame(HEADERS, END_HEADERS | END_STREAM, 1, &[0x88]));
        let mut client = PREFACE.to_vec();
        client.extend(frame(SETTINGS, 0, 0, &[]));
        client.extend(frame(
            HEADERS,
            END_HEADERS | END_STREAM,
            3,
            &[&[0x82, 0x86, 0x84][..], &lit(":authority", b"h")].concat(),
        ));
        let too_big = frame(HEADERS, END_HEADERS, 5, &[0x3f, 0xe2, 0x01, 0x88]);
        let (fa, ev) = conn(&[(0, req.to_vec()), (1, server), (0, client), (1, too_big)], 5);
        assert_eq!(summary(&ev), ["0 GET /up h", "0 101", "1 200", "3 GET / h"]);
        assert_eq!(text(&ev[0], F_HTTP_VERSION), "HTTP/1.1");
        assert_eq!(text(&ev[2], F_HTTP_VERSION), "HTTP/2");
        assert!(!fa.done);
    }

    #[test]
    fn dns_over_http2() {
        let q = query("post.example");
        let get = format!("/dns-query?dns={}", "q80BAAABAAAAAAAAA2dldAdleGFtcGxlAAABAAE");
        let post_head = [
            &[0x83, 0x86][..],
            &lit(":path", b"/dns-query"),
            &lit(":authority", b"doh"),
            &lit("content-type", DNS_MESSAGE),
        ]
        .concat();
        let mut client = PREFACE.to_vec();
        client.extend(frame(
            HEADERS,
            END_HEADERS | END_STREAM,
            1,
            &[&[0x82, 0x86][..], &lit(":path", get.as_bytes())].concat(),
        ));
        client.extend(frame(HEADERS, END_HEADERS, 3, &post_head));
        client.extend(frame(DATA, PADDED, 3, &[&[4][..], &q[..10], &[0; 4]].concat()));
        client.extend(frame(DATA, END_STREAM, 3, &q[10..]));
        // Stream 5's body is reset half way: nothing decoded from it.
        client.extend(frame(HEADERS, END_HEADERS, 5, &post_head));
        client.extend(frame(DATA, 0, 5, &q[..10]));
        client.extend(frame(RST_STREAM, 0, 5, &[0, 0, 0, 8]));
        client.extend(frame(DATA, END_STREAM, 5, &q[10..]));
        let mut answer = query("answer.example");
        answer[2] = 0x81;
        let mut server = frame(
            HEADERS,
            END_HEADERS,
            3,
            &[&[0x88][..], &lit("content-type", b"application/dns-message; x=1")].concat(),
        );
        server.extend(frame(DATA, 0, 3, &answer[..7]));
        // The client's GOAWAY (no pushed stream processed) leaves the streams it opened alone.
        let goaway = frame(GOAWAY, 0, 0, &[0, 0, 0, 0, 0, 0, 0, 0]);
        let rest = frame(DATA, END_STREAM, 3, &answer[7..]);
        let (_, ev) = conn(&[(0, client), (1, server), (0, goaway), (1, rest)], 50);
        assert_eq!(
            summary(&ev),
            [
                "1 GET /dns-query?dns=q80BAAABAAAAAAAAA2dldAdleGFtcGxlAAABAAE ",
                "dns(doh) get.example",
                "3 POST /dns-query doh",
                "dns(doh) post.example",
                "5 POST /dns-query doh",
                "3 200",
                "dns(doh) answer.example"
            ]
        );
        assert_eq!(values(&ev[1].1, F_DNS_TRANSPORT), vec![vec![IPPROTO_TCP]]);
    }

    #[test]
    fn dns_over_http1() {
        let q = query("body.example");
        let mut post = format!("POST /dns-query HTTP/1.1\r\nHost: doh\r\nContent-Type: application/dns-message\r\nContent-Length: {}\r\n\r\n", q.len()).into_bytes();
        post.extend_from_slice(&q);
        post.extend_from_slice(
            b"GET /dns-query?dns=q80BAAABAAAAAAAAA2dldAdleGFtcGxlAAABAAE HTTP/1.1\r\nHost: doh\r\n\r\n",
        );
        let (_, ev) = conn(&[(0, post)], 9);
        assert_eq!(
            summary(&ev)[1..],
            [
                "dns(doh) body.example",
                "0 GET /dns-query?dns=q80BAAABAAAAAAAAA2dldAdleGFtcGxlAAABAAE doh",
                "dns(doh) get.example"
            ]
        );
    }

    #[test]
    fn protocol_errors_stop_a_direction_and_mutations_never_panic() {
        let [(_, client), (_, server)] = <[(u8, Vec<u8>); 2]>::try_from(rfc_connection()).unwrap();
        // A CONTINUATION nobody announced; then a header block in a frame larger than is read.
        let stray = [PREFACE, &frame(CONTINUATION, END_HEADERS, 1, &[0x82])[..]].concat();
        let (fa, ev) = conn(&[(0, stray), (1, server.clone())], 1000);
        assert_eq!(summary(&ev), ["1 302", "3 307"]);
        assert!(!fa.done);
        let mut huge = (MAX_FRAME_READ as u32 + 1).to_be_bytes()[1..].to_vec();
        huge.extend_from_slice(&[HEADERS, END_HEADERS, 0, 0, 0, 1]);
        let (fa, _) = conn(&[(0, [PREFACE, &huge[..]].concat()), (1, huge.clone())], 1000);
        assert!(fa.done);
        let mut rand = rand_below(0x9e37_79b9_7f4a_7c15u64);
        for _ in 0..400 {
            let (mut c, mut s) = (client.clone(), server.clone());
            for _ in 0..1 + rand(4) {
                let m = if rand(2) == 0 { &mut c } else { &mut s };
                let at = PREFACE.len().min(m.len() - 1) + rand(m.len() - PREFACE.len().min(m.len() - 1));
                m[at] = rand(256) as u8;
            }
            let (_, ev) = conn(&[(0, c), (1, s)], 1 + rand(64));
            assert!(ev.len() <= 4);
        }
    }
}
