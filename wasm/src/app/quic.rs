//! QUIC long-header Initial packets (RFC 9000 17.2.2, RFC 9369 for v2). Their payload is
//! encrypted with keys anyone can derive from the destination connection id, so the client's
//! Initials go to TS whole (AK_QUIC_INITIAL) to be decrypted there; the ClientHello inside comes
//! back through `client_hello` (ws_quic_client_hello).

use super::event::{Ctx, Fields};
use super::tls;
use crate::abi::*;
use crate::bytes::{be32, u8_at};
use crate::out::Out;
use crate::packet::Packet;
use crate::stats::Stats;

pub const QUIC_V1: u32 = 0x0000_0001;
pub const QUIC_V2: u32 = 0x6b33_43cf;
/// Payload packets of a flow looked at: enough for a ClientHello over a few Initials and a
/// Retry, never the whole connection.
const MAX_PACKETS: u8 = 8;
/// Packet number (at most 4 bytes) and the 16-byte header-protection sample after it.
const MIN_PROTECTED: usize = 4 + 16;

/// The invariant fields of a long-header packet and where it ends.
pub struct LongHeader<'a> {
    pub version: u32,
    /// Packet type bits (meaning depends on the version).
    pub ty: u8,
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
    /// Bytes of the packet in the datagram (the rest of it for a Retry or a packet cut short).
    pub len: usize,
}

impl LongHeader<'_> {
    pub fn is_initial(&self) -> bool {
        match self.version {
            QUIC_V1 => self.ty == 0,
            QUIC_V2 => self.ty == 1,
            _ => false,
        }
    }

    fn is_retry(&self) -> bool {
        match self.version {
            QUIC_V2 => self.ty == 0,
            _ => self.ty == 3,
        }
    }
}

/// A variable-length integer (RFC 9000 16): its value and size.
fn varint(d: &[u8], off: usize) -> Option<(u64, usize)> {
    let first = u8_at(d, off)?;
    let n = 1usize << (first >> 6);
    let b = d.get(off..off.checked_add(n)?)?;
    let v = b[1..].iter().fold((first & 0x3f) as u64, |v, &x| v << 8 | x as u64);
    Some((v, n))
}

/// A long-header packet of a known version at the start of `d`, its lengths checked (it may be
/// cut short by the capture).
pub fn long_header(d: &[u8]) -> Option<LongHeader> {
    let b0 = u8_at(d, 0)?;
    if b0 & 0xc0 != 0xc0 {
        return None;
    }
    let version = be32(d, 1)?;
    if version != QUIC_V1 && version != QUIC_V2 {
        return None;
    }
    // Connection ids are at most 20 bytes in the versions we know (RFC 9000 17.2).
    let dcid_len = u8_at(d, 5).filter(|&n| n <= 20)? as usize;
    let dcid = d.get(6..6 + dcid_len)?;
    let scid_len = u8_at(d, 6 + dcid_len).filter(|&n| n <= 20)? as usize;
    let scid = d.get(7 + dcid_len..7 + dcid_len + scid_len)?;
    let mut h = LongHeader { version, ty: (b0 >> 4) & 3, dcid, scid, len: d.len() };
    if h.is_retry() {
        return Some(h);
    }
    let mut off = 7 + dcid_len + scid_len;
    if h.is_initial() {
        let (token_len, n) = varint(d, off)?;
        off = off.checked_add(n)?.checked_add(usize::try_from(token_len).ok()?)?;
    }
    let (len, n) = varint(d, off)?;
    let len = usize::try_from(len).ok().filter(|&l| l >= MIN_PROTECTED)?;
    // A capture cut short keeps the start of a packet: still an Initial (version and ids are
    // there), though it cannot be decrypted.
    h.len = (off + n).checked_add(len)?.min(d.len());
    Some(h)
}

/// Whether a UDP payload starts with a QUIC v1 or v2 Initial packet.
pub fn looks_like_initial(d: &[u8]) -> bool {
    long_header(d).map_or(false, |h| h.is_initial())
}

/// Emits the client's Initials (the first of each datagram, which may coalesce several packets);
/// returns whether later packets of the flow are still wanted.
pub fn datagram(ctx: &mut Ctx, d: &[u8], nth: u8) -> bool {
    if ctx.dir == 0 {
        let mut rest = d;
        while let Some(h) = long_header(rest) {
            if h.is_initial() {
                let f = &mut *ctx.fields;
                f.u32(F_QUIC_VERSION, h.version);
                f.bytes(F_QUIC_DCID, h.dcid);
                f.bytes(F_QUIC_SCID, h.scid);
                if f.fits(d.len()) {
                    f.bytes(F_QUIC_PACKET, d);
                }
                ctx.emit(AK_QUIC_INITIAL);
                break;
            }
            rest = &rest[h.len..];
        }
    }
    nth < MAX_PACKETS
}

/// Whether a ClientHello taken from QUIC Initials was written.
#[derive(Debug, PartialEq, Eq)]
pub enum HelloResult {
    Written,
    /// No room in the event buffer: drain it and try again.
    NoRoom,
    /// Not a well-formed ClientHello (or a header cut short).
    Rejected,
}

/// The packet an APP event's fixed part describes (flow, time, frame, addresses, ports).
fn origin(e: &[u8]) -> Option<Packet> {
    let mut p = Packet::new();
    p.flow_id = get(e, AP_FLOW_ID)? as u64;
    let sec = get(e, AP_TS_SEC)?.max(0.0) as u64;
    p.ts_ns = sec.saturating_mul(1_000_000_000).saturating_add(get(e, AP_TS_NSEC)? as u64);
    p.frame = get(e, AP_FRAME)? as u64;
    p.l3 = if get(e, AP_IPVER)? == L3_IPV6 { L3_IPV6 } else { L3_IPV4 };
    p.sport = get(e, AP_SPORT)?;
    p.dport = get(e, AP_DPORT)?;
    p.src = get(e, AP_SRC)?;
    p.dst = get(e, AP_DST)?;
    Some(p)
}

/// Writes an AK_TLS_CLIENT_HELLO (F_TLS_QUIC = 1) for a ClientHello message taken from the
/// CRYPTO frames of a client's Initials: `e` is the fixed part of that Initial's event followed
/// by the message (ABI.md, ws_quic_client_hello).
pub fn client_hello(out: &mut Out, stats: &mut Stats, e: &[u8]) -> HelloResult {
    if out.room() < APP_EVENT_MAX {
        return HelloResult::NoRoom;
    }
    let p = match origin(e) {
        Some(p) => p,
        None => return HelloResult::Rejected,
    };
    let mut fields = Fields::new();
    let mut ctx = Ctx::new(out, stats, &mut fields, &p, APP_QUIC);
    ctx.fields.u8(F_TLS_QUIC, 1);
    if !tls::client_hello_fields(ctx.fields, &e[AP_DATA.at..]) {
        return HelloResult::Rejected;
    }
    ctx.emit(AK_TLS_CLIENT_HELLO);
    HelloResult::Written
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::{run, values, Seg};
    use crate::app::tls::tests::{client_hello_msg, sni};
    use crate::net::IPPROTO_UDP;

    /// A long-header packet: type bits, version, ids, (Initial) token, then `body` bytes.
    fn packet(ty: u8, version: u32, dcid: &[u8], scid: &[u8], body: usize) -> Vec<u8> {
        let mut p = vec![0xc0 | ty << 4];
        p.extend_from_slice(&version.to_be_bytes());
        p.push(dcid.len() as u8);
        p.extend_from_slice(dcid);
        p.push(scid.len() as u8);
        p.extend_from_slice(scid);
        if (version == QUIC_V1 && ty == 0) || (version == QUIC_V2 && ty == 1) {
            p.extend_from_slice(&[0x00]);
        }
        p.extend_from_slice(&(0x4000 | body as u16).to_be_bytes());
        p.extend(std::iter::repeat(0x55).take(body));
        p
    }

    #[test]
    fn initial_headers() {
        let v1 = packet(0, QUIC_V1, &[1; 8], &[2; 4], 1100);
        assert!(looks_like_initial(&v1));
        assert_eq!(long_header(&v1).map(|h| (h.dcid.len(), h.scid.len(), h.len)), Some((8, 4, v1.len())));
        assert!(looks_like_initial(&packet(1, QUIC_V2, &[1; 20], &[], 40)));
        // v2 renumbered the types: 0 is its Retry, and a v1 Handshake is no Initial.
        assert!(!looks_like_initial(&packet(0, QUIC_V2, &[1; 8], &[], 40)));
        assert!(!looks_like_initial(&packet(2, QUIC_V1, &[1; 8], &[], 40)));
        assert!(!looks_like_initial(&packet(0, 0x1a2a_3a4a, &[1; 8], &[], 40)));
        let cut = &v1[..300];
        assert_eq!(long_header(cut).map(|h| h.len), Some(300), "a packet cut by the snap length");
        let mut long_cid = v1.clone();
        long_cid[5] = 21;
        assert!(!looks_like_initial(&long_cid));
        let mut no_fixed_bit = v1.clone();
        no_fixed_bit[0] &= !0x40;
        assert!(!looks_like_initial(&no_fixed_bit));
        // Up to the length field (at 21 here) nothing is known.
        for n in 0..21 {
            assert!(!looks_like_initial(&v1[..n]));
        }
        assert_eq!(varint(&[0xc0, 0, 0, 0, 0, 0, 1, 0], 0), Some((256, 8)));
        assert_eq!(varint(&[0x80, 0, 1], 0), None);
    }

    #[test]
    fn client_initials_become_events() {
        let first = packet(0, QUIC_V1, &[1; 8], &[2; 4], 1100);
        // A later datagram with a Handshake packet coalesced before the Initial.
        let d = [packet(2, QUIC_V1, &[9; 8], &[], 30), packet(0, QUIC_V1, &[3; 8], &[], 1100)].concat();
        let seg =
            |dir: u8, payload| Seg { dir, proto: IPPROTO_UDP, sport: 5000, dport: 443, seq: 0, tcp_flags: 0, payload };
        let (fa, ev) = run(&[seg(0, &first), seg(1, &first), seg(0, &d)]);
        assert_eq!(ev.len(), 2, "the server's Initials are not sent");
        assert!(!fa.done);
        let f = &ev[0].1;
        assert_eq!(ev[0].0, AK_QUIC_INITIAL);
        assert_eq!(values(f, F_QUIC_VERSION), [1u32.to_le_bytes().to_vec()]);
        assert_eq!(values(f, F_QUIC_DCID), [vec![1; 8]]);
        assert_eq!(values(f, F_QUIC_SCID), [vec![2; 4]]);
        assert_eq!(values(f, F_QUIC_PACKET), [first.clone()]);
        assert_eq!(values(&ev[1].1, F_QUIC_DCID), [vec![3; 8]]);
        assert_eq!(values(&ev[1].1, F_QUIC_PACKET), [d.clone()]);
        let many: Vec<Seg> = (0..20).map(|_| seg(0, &first)).collect();
        let (fa, ev) = run(&many);
        assert!(fa.done);
        assert_eq!(ev.len(), MAX_PACKETS as usize);
    }

    #[test]
    fn decrypted_hellos_come_back_as_tls_events() {
        let mut e = vec![0u8; AP_DATA.at];
        put(&mut e, AP_FLOW_ID, 7.0);
        put(&mut e, AP_FRAME, 3.0);
        put(&mut e, AP_IPVER, L3_IPV4);
        put(&mut e, AP_SPORT, 5000);
        e.extend(client_hello_msg(0x0303, &[0x1301], &[sni("example.org")]));
        let mut out = Out::new(1 << 20);
        let mut stats = Stats::new();
        assert_eq!(client_hello(&mut out, &mut stats, &e), HelloResult::Written);
        assert_eq!(get(&out.buf, AP_KIND), Some(AK_TLS_CLIENT_HELLO));
        assert_eq!(get(&out.buf, AP_APP), Some(APP_QUIC));
        assert_eq!(get(&out.buf, AP_SPORT), Some(5000));
        let fields = &out.buf[AP_DATA.at..];
        assert_eq!(&fields[..5], &[F_TLS_QUIC as u8, 0, 1, 0, 1]);
        let len = out.len;
        assert_eq!(client_hello(&mut out, &mut stats, &e[..AP_DATA.at + 10]), HelloResult::Rejected);
        assert_eq!(client_hello(&mut out, &mut stats, &e[..AP_DATA.at - 1]), HelloResult::Rejected);
        assert_eq!(out.len, len);
        let mut full = Out::new(APP_EVENT_MAX - 1);
        assert_eq!(client_hello(&mut full, &mut stats, &e), HelloResult::NoRoom);
    }
}
