//! TLS handshakes in both directions: ClientHello, ServerHello and (TLS <= 1.2) the server's
//! Certificate chain as events; every handshake message, ChangeCipherSpec and alert in the clear
//! as Zeek's ssl_history, in one AK_TLS_STATE event when the handshake is established (Zeek's rule:
//! an encrypted record once both sides encrypt) or the parser stops. Handshake messages may span
//! records and records may span segments: whole records stay in the stream (its memory counts
//! against the shared budget) until every handshake message they carry has been handled. After
//! its ChangeCipherSpec a direction's records are skipped whole, headers only. A direction ends at
//! a record that is not TLS. A client's first record may be an SSLv2-compatible ClientHello (RFC
//! 5246 E.2), which clients of the early 2000s sent to reach SSL 2 and TLS servers alike; the TLS
//! records that follow it are read as usual.

use super::event::{Ctx, Fields};
use super::{Parsed, StreamParser};
use crate::abi::*;
use crate::bytes::{be16, u8_at};

const CT_CCS: u8 = 20;
const CT_HANDSHAKE: u8 = 22;
const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
const HS_CERTIFICATE: u8 = 11;
/// Longest record fragment TLS allows (RFC 5246 6.2.3); a longer one is not TLS.
const MAX_RECORD: usize = (1 << 14) + 2048;
/// Longest handshake message read: with its record headers it must fit in the stream.
const MAX_MESSAGE: usize = APP_STREAM_MAX - 16 * 1024;
/// Records one message may be spread over (each new one re-joins the buffered ones).
const MAX_RECORDS: usize = 64;
/// ServerHello.random of a HelloRetryRequest (RFC 8446 4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11,
    0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Bounds-checked reads through a message; every read fails past the end.
struct Cur<'a> {
    d: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    fn new(d: &'a [u8]) -> Cur<'a> {
        Cur { d, pos: 0 }
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.d.len()
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.d.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    fn u24(&mut self) -> Option<usize> {
        self.take(3).map(|b| (b[0] as usize) << 16 | (b[1] as usize) << 8 | b[2] as usize)
    }

    /// A vector with a one-, two- or three-byte length prefix.
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()? as usize;
        self.take(n)
    }

    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()? as usize;
        self.take(n)
    }

    fn vec24(&mut self) -> Option<&'a [u8]> {
        let n = self.u24()?;
        self.take(n)
    }
}

/// The body of a handshake message of type `ty` (`msg` holds the 4-byte header and the body).
fn body(msg: &[u8], ty: u8) -> Option<&[u8]> {
    let mut c = Cur::new(msg);
    if c.u8()? != ty {
        return None;
    }
    c.vec24()
}

/// Adds the ClientHello fields (ABI.md, F_TLS_*) of one handshake message with its header.
/// False, with every field cleared, when it is not a well-formed ClientHello.
pub fn client_hello_fields(f: &mut Fields, msg: &[u8]) -> bool {
    let ok = body(msg, HS_CLIENT_HELLO).and_then(|b| client_hello(f, b)).is_some();
    if !ok {
        f.clear();
    }
    ok
}

fn client_hello(f: &mut Fields, b: &[u8]) -> Option<()> {
    let mut c = Cur::new(b);
    f.u16(F_TLS_VERSION, c.u16()?);
    c.take(32)?;
    c.vec8()?;
    f.u16_list_be(F_TLS_CIPHERS, c.vec16()?);
    c.vec8()?;
    // Hellos without extensions (SSL 3.0 era) end here; bytes after the extensions are ignored.
    if c.is_empty() {
        return Some(());
    }
    extensions(f, c.vec16()?, true).map(|_| ())
}

/// What a ServerHello says about the rest of the handshake.
struct ServerHello {
    retry: bool,
    /// TLS 1.3 (or a draft of it): everything after the ServerHello is encrypted.
    tls13: bool,
}

fn server_hello(f: &mut Fields, b: &[u8]) -> Option<ServerHello> {
    let mut c = Cur::new(b);
    f.u16(F_TLS_VERSION, c.u16()?);
    let random = c.take(32)?;
    c.vec8()?;
    f.u16_list_be(F_TLS_CIPHERS, c.take(2)?);
    c.u8()?;
    let selected = if c.is_empty() { None } else { extensions(f, c.vec16()?, false)? };
    // 0x7fXX: TLS 1.3 drafts, which also encrypt the rest of the handshake.
    let tls13 = selected.map_or(false, |v| v >= 0x0304 || v >> 8 == 0x7f);
    Some(ServerHello { retry: random == HRR_RANDOM, tls13 })
}

/// The extension types as one field, then the fields of those we read. Returns the server's
/// selected version (supported_versions), if any. A malformed extension list fails; a malformed
/// extension body is skipped.
fn extensions(f: &mut Fields, list: &[u8], client: bool) -> Option<Option<u16>> {
    let mut types = Vec::with_capacity(list.len() / 4 * 2);
    let mut c = Cur::new(list);
    while !c.is_empty() {
        types.extend_from_slice(c.take(2)?);
        c.vec16()?;
    }
    f.u16_list_be(F_TLS_EXTENSIONS, &types);
    let mut selected = None;
    let mut c = Cur::new(list);
    while !c.is_empty() {
        let (ty, data) = (c.u16()?, c.vec16()?);
        if ty == 43 && !client {
            selected = be16(data, 0);
        }
        extension(f, ty, data, client);
    }
    Some(selected)
}

fn extension(f: &mut Fields, ty: u16, data: &[u8], client: bool) -> Option<()> {
    let mut c = Cur::new(data);
    match ty {
        0 if client => {
            let mut names = Cur::new(c.vec16()?);
            while !names.is_empty() {
                let (kind, name) = (names.u8()?, names.vec16()?);
                if kind == 0 {
                    f.bytes(F_TLS_SNI, name);
                    break;
                }
            }
        }
        16 => {
            let mut protos = Cur::new(c.vec16()?);
            while !protos.is_empty() {
                f.bytes(F_TLS_ALPN, protos.vec8()?);
            }
        }
        43 if client => f.u16_list_be(F_TLS_SUPPORTED_VERSIONS, c.vec8()?),
        43 => f.u16(F_TLS_SUPPORTED_VERSIONS, c.u16()?),
        10 => f.u16_list_be(F_TLS_GROUPS, c.vec16()?),
        11 => f.bytes(F_TLS_EC_POINT_FORMATS, c.vec8()?),
        13 => f.u16_list_be(F_TLS_SIG_ALGS, c.vec16()?),
        _ => {}
    }
    Some(())
}

/// SSL 2.0 record header of an SSLv2-compatible ClientHello: two-byte length with the high bit set
/// (no padding), then message type 1 and the highest version the client speaks.
const SSLV2_HEADER: usize = 2;
/// msg_type, version, cipher_spec_length, session_id_length, challenge_length.
const SSLV2_HELLO_FIXED: usize = 9;
/// SSL 2.0's version number, which tools show as the record version of such a hello.
const SSLV2_VERSION: u16 = 0x0002;

/// Whether `d` starts like an SSLv2-compatible ClientHello: SSL 2.0 or an SSL 3 / TLS version.
pub fn looks_like_sslv2_hello(d: &[u8]) -> bool {
    d.len() >= SSLV2_HEADER + SSLV2_HELLO_FIXED
        && d[0] & 0x80 != 0
        && d[2] == HS_CLIENT_HELLO
        && (be16(d, 3) == Some(SSLV2_VERSION) || (d[3] == 3 && d[4] <= 4))
        && sslv2_record_len(d).map_or(false, |n| n >= SSLV2_HELLO_FIXED)
}

/// The length of an SSL 2.0 record without padding (the two-byte header's low 15 bits).
fn sslv2_record_len(d: &[u8]) -> Option<usize> {
    be16(d, 0).map(|v| (v & 0x7fff) as usize)
}

/// The fields of an SSLv2-compatible ClientHello (`msg` from its type byte): the version, the
/// cipher specs that name a TLS suite (0x00XXXX) as F_TLS_CIPHERS, and F_TLS_SSLV2. No
/// extensions, so no SNI. None when its lengths do not add up to the record.
fn sslv2_client_hello(f: &mut Fields, msg: &[u8]) -> Option<()> {
    let mut c = Cur::new(msg);
    c.u8()?;
    let version = c.u16()?;
    let (specs, session, challenge) = (c.u16()? as usize, c.u16()? as usize, c.u16()? as usize);
    let specs = c.take(specs).filter(|s| s.len() % 3 == 0)?;
    c.take(session)?;
    c.take(challenge)?;
    f.u16(F_TLS_RECORD_VERSION, SSLV2_VERSION);
    f.u16(F_TLS_VERSION, version);
    let tls: Vec<u8> = specs.chunks_exact(3).filter(|s| s[0] == 0).flat_map(|s| [s[1], s[2]]).collect();
    f.u16_list_be(F_TLS_CIPHERS, &tls);
    f.u8(F_TLS_SSLV2, 1);
    Some(())
}

/// Certificate (TLS <= 1.2): the count, then as many certificates of the chain (leaf first) as fit
/// in the event, each as an `id` field. A malformed list gives the certificates read before the
/// fault.
fn certificate(f: &mut Fields, b: &[u8], id: u16) {
    let mut c = Cur::new(b);
    let mut list = Cur::new(c.vec24().unwrap_or(&[]));
    let mut count = 0u16;
    let mut ders = Vec::new();
    while let Some(der) = list.vec24() {
        ders.push(der);
        count = count.saturating_add(1);
    }
    f.u16(F_TLS_CERT_COUNT, count);
    for der in ders {
        if !f.fits(der.len()) {
            break;
        }
        f.bytes(id, der);
    }
}

/// The curve of an ECDHE ServerKeyExchange: ECParameters of type named_curve (RFC 8422 5.4).
fn named_curve(b: &[u8]) -> Option<u16> {
    if u8_at(b, 0)? == 3 {
        be16(b, 1)
    } else {
        None
    }
}

/// A record's header at `pos`: (content type, version, fragment length).
fn record_header(d: &[u8], pos: usize) -> Option<(u8, u16, usize)> {
    Some((u8_at(d, pos)?, be16(d, pos + 1)?, be16(d, pos + 3)? as usize))
}

/// Zeek's ssl_history letter of a handshake message type (the client's in upper case).
fn history_letter(msg_type: u8) -> u8 {
    match msg_type {
        0 => b'h',
        1 => b'c',
        2 => b's',
        3 => b'v',
        4 => b't',
        5 => b'e',
        6 => b'j',
        8 => b'o',
        11 => b'x',
        12 => b'k',
        13 => b'r',
        14 => b'n',
        15 => b'y',
        16 => b'g',
        20 => b'f',
        21 => b'w',
        22 => b'u',
        23 => b'a',
        24 => b'p',
        254 => b'm',
        _ => b'z',
    }
}

/// Zeek's limit on ssl_history (SSL::max_ssl_history_length).
const MAX_HISTORY: usize = 100;

/// How the handshake went, for Zeek's ssl.log (one AK_TLS_STATE event when it is over).
#[derive(Default)]
struct Progress {
    /// Zeek's ssl_history letters.
    history: Vec<u8>,
    /// Per direction: its ChangeCipherSpec (or TLS 1.3 application data) was seen.
    encrypted: [bool; 2],
    established: bool,
    curve: Option<u16>,
    last_alert: Option<u8>,
    /// The client's session id, when it offered one to resume.
    session_id: Vec<u8>,
    /// The client sent a non-empty session ticket (extension 35), or a pre_shared_key (41).
    ticket: bool,
    psk: bool,
    client_key_exchange: bool,
    resumed: bool,
    tls13: bool,
    /// The event went out.
    reported: bool,
}

impl Progress {
    fn add(&mut self, client: bool, letter: u8) {
        if self.history.len() < MAX_HISTORY {
            self.history.push(if client { letter.to_ascii_uppercase() } else { letter });
        }
    }
}

#[derive(Default)]
pub struct Tls {
    /// Per direction: bytes of handshake data at the front of the stream already handled.
    handled: [usize; 2],
    /// Per direction: stream bytes of whole records seen by the last call (nothing new below).
    seen: [usize; 2],
    /// Per direction: a message waits for room in the event buffer.
    waiting: [bool; 2],
    ended: [bool; 2],
    /// The direction that sent a ServerHello.
    server: Option<usize>,
    client_hello: bool,
    /// A HelloRetryRequest was seen: compatibility-mode ChangeCipherSpec records do not end.
    retry: bool,
    /// The client's certificates (DER), for the AK_TLS_STATE event: what fits in it.
    client_certs: Vec<Vec<u8>>,
    progress: Progress,
}

const CT_ALERT: u8 = 21;
const CT_APPLICATION_DATA: u8 = 23;
const CT_HEARTBEAT: u8 = 24;
/// Bytes of client certificates kept for the state event (with room left for its other fields).
const CLIENT_CERT_ROOM: usize = APP_EVENT_MAX - 1024;

impl Tls {
    /// Nothing more to learn: the handshake is established (both sides encrypt), or both
    /// directions ended.
    fn finished(&self) -> bool {
        self.progress.established || (self.ended[0] && self.ended[1])
    }

    /// Whether `dir` is the client's: the one that did not send the ServerHello (the initiator
    /// until then).
    fn is_client(&self, dir: usize) -> bool {
        self.server.map_or(dir == 0, |s| s != dir)
    }

    /// The AK_TLS_STATE event, once: when the handshake is established or the parser stops.
    fn report(&mut self, ctx: &mut Ctx) {
        let p = &mut self.progress;
        if p.reported || (!self.client_hello && self.server.is_none()) || !ctx.can_emit() {
            return;
        }
        p.reported = true;
        let f = &mut *ctx.fields;
        f.clear();
        f.bytes(F_TLS_HISTORY, &p.history);
        f.u8(F_TLS_ESTABLISHED, p.established as u8);
        f.u8(F_TLS_RESUMED, p.resumed as u8);
        if let Some(c) = p.curve {
            f.u16(F_TLS_CURVE, c);
        }
        if let Some(a) = p.last_alert {
            f.u8(F_TLS_ALERT, a);
        }
        for der in &self.client_certs {
            if f.fits(der.len()) {
                f.bytes(F_TLS_CLIENT_CERT, der);
            }
        }
        ctx.emit(AK_TLS_STATE);
    }

    /// Ends a direction: its stream is dropped and the rest of it discarded as it arrives.
    fn end(&mut self, ctx: &mut Ctx, dir: usize, len: usize) -> Parsed {
        self.ended[dir] = true;
        let done = self.finished();
        if done {
            self.report(ctx);
        }
        Parsed { consumed: len, skip: u64::MAX, done }
    }

    /// An SSLv2-compatible ClientHello at the front of the client's stream: once whole, its event,
    /// then the stream goes on as TLS records.
    fn sslv2_hello(&mut self, ctx: &mut Ctx, data: &[u8]) -> Parsed {
        let len = sslv2_record_len(data).unwrap_or(0);
        let msg = match data.get(SSLV2_HEADER..SSLV2_HEADER + len) {
            Some(m) => m,
            None => return Parsed::default(),
        };
        if !ctx.can_emit() {
            ctx.defer();
            return Parsed::default();
        }
        ctx.fields.clear();
        if sslv2_client_hello(ctx.fields, msg).is_none() {
            ctx.fields.clear();
            return self.end(ctx, 0, data.len());
        }
        self.client_hello = true;
        self.progress.add(true, b'c');
        ctx.emit(AK_TLS_CLIENT_HELLO);
        Parsed { consumed: SSLV2_HEADER + len, skip: 0, done: self.finished() }
    }

    /// What the ClientHello says about resumption (Zeek's ssl_client_hello and ssl_extension).
    fn client_resumption(&mut self, msg: &[u8]) -> Option<()> {
        let mut c = Cur::new(body(msg, HS_CLIENT_HELLO)?);
        c.take(34)?;
        let sid = c.vec8()?;
        if !sid.is_empty() && !(sid.len() == 32 && sid.iter().all(|&b| b == 0)) {
            self.progress.session_id = sid.to_vec();
        }
        c.vec16()?;
        c.vec8()?;
        let mut exts = Cur::new(c.vec16()?);
        while !exts.is_empty() {
            let (ty, data) = (exts.u16()?, exts.vec16()?);
            self.progress.ticket |= ty == 35 && !data.is_empty() && self.progress.session_id.is_empty();
            self.progress.psk |= ty == 41;
        }
        Some(())
    }

    /// What the ServerHello says about resumption and the key exchange group (TLS 1.3 key_share).
    fn server_resumption(&mut self, msg: &[u8], tls13: bool) -> Option<()> {
        let p = &mut self.progress;
        p.tls13 = tls13;
        let mut c = Cur::new(body(msg, HS_SERVER_HELLO)?);
        c.take(34)?;
        let sid = c.vec8()?;
        p.resumed |= !tls13 && !p.session_id.is_empty() && sid == &p.session_id[..];
        c.take(3)?;
        let mut exts = Cur::new(c.vec16()?);
        while !exts.is_empty() {
            let (ty, data) = (exts.u16()?, exts.vec16()?);
            p.resumed |= ty == 41 && p.psk;
            if ty == 51 {
                p.curve = be16(data, 0).or(p.curve);
            }
        }
        Some(())
    }

    /// Handles one whole handshake message.
    fn message(&mut self, ctx: &mut Ctx, dir: usize, msg: &[u8], record_version: u16) {
        let client = self.is_client(dir);
        let mut letter = history_letter(msg[0]);
        let f = &mut *ctx.fields;
        f.clear();
        match msg[0] {
            HS_CLIENT_HELLO => {
                f.u16(F_TLS_RECORD_VERSION, record_version);
                if client_hello_fields(f, msg) {
                    self.client_hello = true;
                    ctx.emit(AK_TLS_CLIENT_HELLO);
                    let _ = self.client_resumption(msg);
                }
            }
            HS_SERVER_HELLO => {
                f.u16(F_TLS_RECORD_VERSION, record_version);
                match body(msg, HS_SERVER_HELLO).and_then(|b| server_hello(f, b)) {
                    Some(sh) => {
                        ctx.emit(AK_TLS_SERVER_HELLO);
                        self.server = Some(dir);
                        self.retry |= sh.retry;
                        if sh.retry {
                            letter = b'j';
                        }
                        let _ = self.server_resumption(msg, sh.tls13);
                    }
                    None => self.ended[dir] = true,
                }
            }
            HS_CERTIFICATE if !client => {
                certificate(f, body(msg, HS_CERTIFICATE).unwrap_or(&[]), F_TLS_CERT);
                ctx.emit(AK_TLS_CERTIFICATE);
            }
            HS_CERTIFICATE => {
                let mut c = Cur::new(body(msg, HS_CERTIFICATE).unwrap_or(&[]));
                let mut list = Cur::new(c.vec24().unwrap_or(&[]));
                // Kept only while they fit in the event (and so in bounded memory).
                let mut room = CLIENT_CERT_ROOM;
                while let Some(der) = list.vec24().filter(|d| d.len() <= room) {
                    room -= der.len();
                    self.client_certs.push(der.to_vec());
                }
            }
            12 if !client => self.progress.curve = body(msg, 12).and_then(named_curve).or(self.progress.curve),
            16 if client => self.progress.client_key_exchange = true,
            _ => {}
        }
        self.progress.add(client, letter);
        ctx.fields.clear();
    }

    /// A record other than a handshake one, in the clear: ChangeCipherSpec (the direction
    /// encrypts from now on), alert, heartbeat. False for what ends the direction.
    fn control_record(&mut self, dir: usize, ct: u8, fragment: &[u8]) -> bool {
        let client = self.is_client(dir);
        let p = &mut self.progress;
        match ct {
            CT_CCS => {
                p.add(client, b'i');
                // Compatibility mode after a retry request: the next hellos are still in the clear
                // (TLS 1.3 application data marks the direction encrypted then).
                p.encrypted[dir] = !self.retry;
                p.resumed |= client && p.ticket && !p.client_key_exchange;
            }
            CT_ALERT => {
                p.add(client, b'l');
                p.last_alert = u8_at(fragment, 1).or(p.last_alert);
            }
            CT_HEARTBEAT => p.add(client, b'b'),
            _ => return false,
        }
        true
    }

    /// A record of a direction that encrypts: the handshake is established once both do (Zeek's
    /// rule: the first encrypted record after both ChangeCipherSpecs). Records are skipped whole.
    fn encrypted_record(&mut self, ctx: &mut Ctx, dir: usize, data: &[u8]) -> Parsed {
        let (version, len) = match record_header(data, 0) {
            Some((_, v, n)) => (v, n),
            None => return Parsed::default(),
        };
        if version >> 8 != 3 || len > MAX_RECORD {
            return self.end(ctx, dir, data.len());
        }
        if self.progress.encrypted == [true, true] && !self.progress.established {
            if !ctx.can_emit() {
                ctx.defer();
                return Parsed::default();
            }
            self.progress.established = true;
            self.report(ctx);
        }
        let consumed = data.len().min(5 + len);
        Parsed { consumed, skip: (5 + len - consumed) as u64, done: self.finished() }
    }
}

impl StreamParser for Tls {
    fn parse(&mut self, ctx: &mut Ctx, dir: usize, data: &[u8]) -> Parsed {
        if self.ended[dir] {
            return self.end(ctx, dir, data.len());
        }
        if self.progress.encrypted[dir] {
            return self.encrypted_record(ctx, dir, data);
        }
        if dir == 0 && !self.client_hello && self.handled[0] == 0 && looks_like_sslv2_hello(data) {
            return self.sslv2_hello(ctx, data);
        }
        // Nothing to do unless a new record is whole (or is not TLS) or a message waits for room.
        let fresh = match record_header(data, self.seen[dir]) {
            Some((_, version, len)) => data.len() >= self.seen[dir] + 5 + len || version >> 8 != 3 || len > MAX_RECORD,
            None => false,
        };
        if !fresh && !self.waiting[dir] {
            return Parsed::default();
        }
        // Whole records from the front: their handshake bytes joined, and where each one ends
        // (stream offset, handshake bytes up to there, record version).
        let mut hs = Vec::new();
        let mut ends: Vec<(usize, usize, u16)> = Vec::new();
        let mut pos = 0;
        // The content type of the record that stopped the walk (0: not TLS).
        let mut stop = None;
        while let Some((ct, version, len)) = record_header(data, pos) {
            if version >> 8 != 3 || len > MAX_RECORD || ends.len() >= MAX_RECORDS {
                stop = Some(0);
                break;
            }
            if data.len() < pos + 5 + len {
                break;
            }
            if ct != CT_HANDSHAKE {
                stop = Some(ct);
                break;
            }
            hs.extend_from_slice(&data[pos + 5..pos + 5 + len]);
            pos += 5 + len;
            ends.push((pos, hs.len(), version));
        }
        self.seen[dir] = pos;
        // Messages not handled yet, in order.
        let mut off = self.handled[dir];
        self.waiting[dir] = false;
        while !self.ended[dir] {
            let len = match Cur::new(hs.get(off + 1..).unwrap_or(&[])).u24() {
                Some(n) => n,
                None => break,
            };
            if len + 4 > MAX_MESSAGE {
                stop = Some(0);
                break;
            }
            let msg = match hs.get(off..off + 4 + len) {
                Some(m) => m,
                None => break,
            };
            if !ctx.can_emit() {
                ctx.defer();
                self.waiting[dir] = true;
                break;
            }
            let record_version = ends.iter().find(|e| e.1 > off).map_or(0, |e| e.2);
            self.message(ctx, dir, msg, record_version);
            off += 4 + len;
        }
        if self.ended[dir] || stop == Some(0) {
            return self.end(ctx, dir, data.len());
        }
        // Drop the records whose handshake bytes have all been handled.
        let (consumed, base) = ends.iter().rev().find(|e| e.1 <= off).map_or((0, 0), |e| (e.0, e.1));
        self.handled[dir] = off - base;
        self.seen[dir] -= consumed;
        if let (Some(ct), false) = (stop, self.waiting[dir]) {
            if off != hs.len() {
                // A message cut short by a record of another kind: not a handshake to follow.
                return self.end(ctx, dir, data.len());
            }
            let len = record_header(data, pos).map_or(0, |h| h.2);
            if ct == CT_APPLICATION_DATA && self.progress.tls13 {
                // TLS 1.3 without a compatibility ChangeCipherSpec: encrypted from here on.
                self.progress.encrypted[dir] = true;
                self.handled[dir] = 0;
                self.seen[dir] = 0;
                let r = self.encrypted_record(ctx, dir, &data[pos..]);
                return Parsed { consumed: pos + r.consumed, ..r };
            }
            if !self.control_record(dir, ct, &data[pos + 5..pos + 5 + len]) {
                return self.end(ctx, dir, data.len());
            }
            self.handled[dir] = 0;
            self.seen[dir] = 0;
            return Parsed { consumed: pos + 5 + len, skip: 0, done: false };
        }
        Parsed { consumed, skip: 0, done: self.finished() }
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::app::testing::{run, tcp_segments, values};

    fn vec16(b: &[u8]) -> Vec<u8> {
        [&(b.len() as u16).to_be_bytes()[..], b].concat()
    }

    fn ext(ty: u16, data: &[u8]) -> Vec<u8> {
        [&ty.to_be_bytes()[..], &vec16(data)].concat()
    }

    /// A handshake message: type, 24-bit length, body.
    pub fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
        let n = body.len();
        [&[ty, (n >> 16) as u8, (n >> 8) as u8, n as u8][..], body].concat()
    }

    /// A ClientHello (with its handshake header) from wire-order values.
    pub fn client_hello_msg(version: u16, ciphers: &[u16], exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut b = version.to_be_bytes().to_vec();
        b.extend_from_slice(&[7; 32]);
        b.push(0);
        let cs: Vec<u8> = ciphers.iter().flat_map(|c| c.to_be_bytes()).collect();
        b.extend(vec16(&cs));
        b.extend_from_slice(&[1, 0]);
        let e: Vec<u8> = exts.iter().flat_map(|(t, d)| ext(*t, d)).collect();
        b.extend(vec16(&e));
        handshake(HS_CLIENT_HELLO, &b)
    }

    pub fn sni(name: &str) -> (u16, Vec<u8>) {
        (0, vec16(&[&[0u8][..], &vec16(name.as_bytes())].concat()))
    }

    pub fn alpn(protos: &[&str]) -> (u16, Vec<u8>) {
        let l: Vec<u8> = protos.iter().flat_map(|p| [&[p.len() as u8][..], p.as_bytes()].concat()).collect();
        (16, vec16(&l))
    }

    fn server_hello_msg(random: [u8; 32], cipher: u16, exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&random);
        b.push(0);
        b.extend_from_slice(&cipher.to_be_bytes());
        b.push(0);
        let e: Vec<u8> = exts.iter().flat_map(|(t, d)| ext(*t, d)).collect();
        b.extend(vec16(&e));
        handshake(HS_SERVER_HELLO, &b)
    }

    fn record(ct: u8, body: &[u8]) -> Vec<u8> {
        [&[ct, 3, 1][..], &vec16(body)].concat()
    }

    /// Whether the parser is done, and the events of a TLS flow of (direction, bytes) pieces.
    fn flow(parts: &[(u8, &[u8])]) -> (bool, Vec<(u8, Vec<(u16, Vec<u8>)>)>) {
        let segs = tcp_segments(parts, 443);
        let (fa, ev) = run(&segs);
        (fa.done, ev)
    }

    fn hello() -> Vec<u8> {
        client_hello_msg(
            0x0303,
            &[0x0a0a, 0x1301, 0xc02f],
            &[
                sni("example.com"),
                alpn(&["h2", "http/1.1"]),
                (43, vec![4, 0x03, 0x04, 0x03, 0x03]),
                (10, vec16(&[0, 29, 0, 23])),
                (11, vec![1, 0]),
                (13, vec16(&[4, 3, 8, 4])),
            ],
        )
    }

    #[test]
    fn client_hello_across_records_and_segments() {
        let ch = hello();
        // The hello in two records, the second cut across two segments.
        let mut wire = record(CT_HANDSHAKE, &ch[..10]);
        wire.extend(record(CT_HANDSHAKE, &ch[10..]));
        let cert = [0x30u8, 0x03, 1, 2, 3];
        let chain: Vec<u8> = [&[0, 0, 5][..], &cert, &[0, 0, 2, 0x30, 0]].concat();
        let certs = handshake(HS_CERTIFICATE, &[&[0, 0, chain.len() as u8][..], &chain].concat());
        let flight =
            [server_hello_msg([1; 32], 0xc02f, &[alpn(&["h2"])]), certs, handshake(14, &[])].concat();
        let server = record(CT_HANDSHAKE, &flight);
        // The client's key exchange, ChangeCipherSpec and encrypted Finished; the server's.
        let client_end =
            [record(CT_HANDSHAKE, &handshake(16, &[0; 8])), record(CT_CCS, &[1]), record(CT_HANDSHAKE, &[7; 40])].concat();
        let server_end = [record(CT_CCS, &[1]), record(CT_HANDSHAKE, &[8; 40])].concat();
        let parts = [(0, &wire[..20]), (0, &wire[20..]), (1, &server[..]), (0, &client_end), (1, &server_end)];
        let (done, ev) = flow(&parts);
        assert!(done);
        let kinds: Vec<u8> = ev.iter().map(|e| e.0).collect();
        assert_eq!(kinds, [AK_TLS_CLIENT_HELLO, AK_TLS_SERVER_HELLO, AK_TLS_CERTIFICATE, AK_TLS_STATE]);
        // Zeek's ssl_history, established at the server's first encrypted record.
        assert_eq!(values(&ev[3].1, F_TLS_HISTORY), [b"CsxnGIi".to_vec()]);
        assert_eq!(values(&ev[3].1, F_TLS_ESTABLISHED), [vec![1]]);
        assert_eq!(values(&ev[3].1, F_TLS_RESUMED), [vec![0]]);
        // Without the ends, the handshake is not established and the parser waits.
        let (done, ev) = flow(&parts[..3]);
        assert!(!done && ev.len() == 3);
        let f = &ev[0].1;
        assert_eq!(values(f, F_TLS_RECORD_VERSION), [vec![1, 3]]);
        assert_eq!(values(f, F_TLS_VERSION), [vec![3, 3]]);
        assert_eq!(values(f, F_TLS_CIPHERS), [vec![0x0a, 0x0a, 0x01, 0x13, 0x2f, 0xc0]]);
        assert_eq!(values(f, F_TLS_EXTENSIONS), [vec![0, 0, 16, 0, 43, 0, 10, 0, 11, 0, 13, 0]]);
        assert_eq!(values(f, F_TLS_SNI), [b"example.com".to_vec()]);
        assert_eq!(values(f, F_TLS_ALPN), [b"h2".to_vec(), b"http/1.1".to_vec()]);
        assert_eq!(values(f, F_TLS_SUPPORTED_VERSIONS), [vec![4, 3, 3, 3]]);
        assert_eq!(values(f, F_TLS_GROUPS), [vec![29, 0, 23, 0]]);
        assert_eq!(values(f, F_TLS_EC_POINT_FORMATS), [vec![0]]);
        assert_eq!(values(f, F_TLS_SIG_ALGS), [vec![3, 4, 4, 8]]);
        assert_eq!(values(&ev[1].1, F_TLS_CIPHERS), [vec![0x2f, 0xc0]]);
        assert_eq!(values(&ev[1].1, F_TLS_ALPN), [b"h2".to_vec()]);
        assert_eq!(values(&ev[2].1, F_TLS_CERT_COUNT), [vec![2, 0]]);
        assert_eq!(values(&ev[2].1, F_TLS_CERT), [cert.to_vec(), vec![0x30, 0]]);
    }

    #[test]
    fn handshake_one_byte_per_segment_from_the_first() {
        // An evasion classic: nothing in any one segment says TLS, the stream does.
        let ch = record(CT_HANDSHAKE, &hello());
        let sh = record(CT_HANDSHAKE, &server_hello_msg([2; 32], 0x1301, &[(43, vec![3, 4])]));
        let mut parts: Vec<(u8, &[u8])> = ch.chunks(1).map(|c| (0u8, c)).collect();
        parts.extend(sh.chunks(1).map(|c| (1u8, c)));
        let (done, ev) = flow(&parts);
        let kinds: Vec<u8> = ev.iter().map(|e| e.0).collect();
        assert_eq!(kinds, [AK_TLS_CLIENT_HELLO, AK_TLS_SERVER_HELLO]);
        assert_eq!(values(&ev[0].1, F_TLS_SNI), [b"example.com".to_vec()]);
        // TLS 1.3: waiting for the ChangeCipherSpecs (or application data) of both sides.
        assert!(!done);
        // Bytes that never become anything known give up after a bounded look.
        let junk = [0x42u8; 64];
        let (done, ev) = flow(&junk.chunks(1).map(|c| (0u8, c)).collect::<Vec<_>>());
        assert!(done && ev.is_empty());
    }

    #[test]
    fn tls13_and_hello_retry() {
        let ch = record(CT_HANDSHAKE, &hello());
        let sv13 = (43u16, vec![3, 4]);
        let hrr = record(CT_HANDSHAKE, &server_hello_msg(HRR_RANDOM, 0x1301, &[sv13.clone()]));
        let sh = record(CT_HANDSHAKE, &server_hello_msg([2; 32], 0x1301, &[sv13.clone()]));
        let ccs = record(CT_CCS, &[1]);
        let app = record(23, &[9; 40]);
        // Compatibility mode: a ChangeCipherSpec after the retry request on both sides.
        let (done, ev) = flow(&[
            (0, &ch),
            (1, &[hrr.clone(), ccs.clone()].concat()),
            (0, &[ccs.clone(), ch.clone()].concat()),
            (1, &[sh.clone(), ccs.clone(), app.clone()].concat()),
            (0, &app),
        ]);
        let kinds: Vec<u8> = ev.iter().map(|e| e.0).collect();
        assert_eq!(
            kinds,
            [AK_TLS_CLIENT_HELLO, AK_TLS_SERVER_HELLO, AK_TLS_CLIENT_HELLO, AK_TLS_SERVER_HELLO, AK_TLS_STATE]
        );
        assert_eq!(values(&ev[3].1, F_TLS_SUPPORTED_VERSIONS), [vec![4, 3]]);
        assert_eq!(values(&ev[4].1, F_TLS_HISTORY), [b"CjiICsi".to_vec()]);
        assert!(done);
        // Without a retry: the server's and the client's ChangeCipherSpec, then encrypted records.
        let (done, ev) = flow(&[(0, &ch), (1, &[sh.clone(), ccs.clone(), app.clone()].concat()), (0, &[ccs, app].concat())]);
        assert_eq!(ev.len(), 3);
        assert_eq!(values(&ev[2].1, F_TLS_HISTORY), [b"CsiI".to_vec()]);
        assert!(done);
    }

    #[test]
    fn garbage_and_hostile_lengths_end_the_flow() {
        let (done, ev) = flow(&[(0, b"\x16\x03\x01\x00\x05hello"), (1, b"SSH-2.0-x\r\n")]);
        assert!(done);
        assert!(ev.is_empty());
        // A message longer than anything the stream can hold ends its direction at once.
        let (done, ev) =
            flow(&[(0, &record(CT_HANDSHAKE, &[1, 0xff, 0xff, 0xff, 3, 3])), (1, b"SSH-2.0-x\r\n")]);
        assert!(done);
        assert!(ev.is_empty());
        // Truncated hellos at every length give no event and no panic.
        let ch = hello();
        for n in 0..ch.len() {
            let mut m = ch[..n].to_vec();
            if n >= 4 {
                let len = n - 4;
                m[1..4].copy_from_slice(&[(len >> 16) as u8, (len >> 8) as u8, len as u8]);
            }
            let mut f = Fields::new();
            // Cuts that end at the end of an extension still make a whole hello.
            let _ = client_hello_fields(&mut f, &m);
        }
        let mut f = Fields::new();
        assert!(client_hello_fields(&mut f, &ch));
        assert!(!client_hello_fields(&mut f, &ch[..ch.len() - 1]));
        assert!(f.is_empty());
    }

    #[test]
    fn sslv2_compatible_hello_then_tls_records() {
        // SSL 2.0 header (length 0x8000 | n), type 1, TLS 1.0, two cipher specs of which one
        // names a TLS suite, no session id, a 16-byte challenge.
        let mut hello = vec![1, 3, 1, 0, 6, 0, 0, 0, 16, 0x01, 0x00, 0x80, 0x00, 0x00, 0x39];
        hello.extend_from_slice(&[0x5a; 16]);
        let wire = [&[0x80 | (hello.len() >> 8) as u8, hello.len() as u8][..], &hello].concat();
        assert!(looks_like_sslv2_hello(&wire));
        let server = record(CT_HANDSHAKE, &server_hello_msg([3; 32], 0x0039, &[]));
        let (done, ev) = flow(&[(0, &wire[..7]), (0, &wire[7..]), (1, &server)]);
        let kinds: Vec<u8> = ev.iter().map(|e| e.0).collect();
        assert_eq!(kinds, [AK_TLS_CLIENT_HELLO, AK_TLS_SERVER_HELLO]);
        assert_eq!(values(&ev[0].1, F_TLS_RECORD_VERSION), [vec![2, 0]]);
        assert_eq!(values(&ev[0].1, F_TLS_VERSION), [vec![1, 3]]);
        assert_eq!(values(&ev[0].1, F_TLS_CIPHERS), [vec![0x39, 0x00]]);
        assert_eq!(values(&ev[0].1, F_TLS_SSLV2), [vec![1]]);
        assert!(values(&ev[0].1, F_TLS_SNI).is_empty());
        assert!(!done);
        // Lengths that do not add up to the record: no hello, the direction ends.
        let mut bad = wire.clone();
        bad[8] = 0xff;
        let (_, ev) = flow(&[(0, &bad)]);
        assert!(ev.is_empty());
    }

    #[test]
    fn handled_messages_are_not_repeated() {
        // The hello shares its record with the start of the next message, which ends in the next
        // record: the first record stays in the stream, and the hello must not come out twice.
        let flight = [hello(), handshake(16, &[0; 10])].concat();
        let cut = flight.len() - 6;
        let wire = [record(CT_HANDSHAKE, &flight[..cut]), record(CT_HANDSHAKE, &flight[cut..]), record(CT_CCS, &[1])];
        let (_, ev) = flow(&[(0, &wire[0]), (0, &wire[1]), (0, &wire[2])]);
        assert_eq!(ev.len(), 1);
    }

    #[test]
    fn mutated_handshakes_in_random_segments_never_panic() {
        let ch = [record(CT_HANDSHAKE, &hello()[..50]), record(CT_HANDSHAKE, &hello()[50..])].concat();
        let certs = handshake(HS_CERTIFICATE, &[0, 0, 8, 0, 0, 5, 0x30, 3, 1, 2, 3]);
        let sh = record(CT_HANDSHAKE, &[server_hello_msg([1; 32], 0xc02f, &[alpn(&["h2"])]), certs].concat());
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..3000 {
            let mut wire = [ch.clone(), sh.clone()];
            for w in wire.iter_mut() {
                for _ in 0..next() % 4 {
                    let at = next() as usize % w.len();
                    w[at] = next() as u8;
                }
                let cut = next() as usize % w.len();
                w.truncate(w.len() - cut / 8);
            }
            let (a, b) = (next() as usize % wire[0].len(), next() as usize % wire[1].len());
            let parts: [(u8, &[u8]); 4] =
                [(0, &wire[0][..a]), (1, &wire[1][..b]), (0, &wire[0][a..]), (1, &wire[1][b..])];
            flow(&parts);
        }
    }
}
