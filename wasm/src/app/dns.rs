//! DNS messages over UDP and TCP (two-byte length prefix, reassembled by the stream): header,
//! questions and the records of its three sections (dns_rdata.rs reads their data). Names are decompressed with loop
//! protection: pointers must point backwards, a name follows at most MAX_POINTERS of them and
//! stays within 255 bytes and 63-byte labels.

use super::dns_rdata::{rdata, Rr};
use super::event::{Ctx, Fields};
use super::text;
use super::{Parsed, StreamParser};
use crate::abi::*;
use crate::bytes::{be16, be32, u8_at};

const MAX_POINTERS: usize = 64;
const MAX_QUESTIONS: usize = 32;
/// Records kept per section; the rest are walked over and the section marked capped.
const MAX_PER_SECTION: usize = 100;
/// Room a record is started with: less, and the rest of the message's records are left out
/// (capped) rather than cut halfway by the event's size limit.
const RECORD_ROOM: usize = 1024;
const TYPE_OPT: u16 = 41;

/// Reads a name at `pos`; returns its text and where the name ends in the message.
pub fn name(m: &[u8], mut pos: usize) -> Result<(String, usize), u8> {
    let mut out = String::new();
    let mut end = None;
    let mut wire_len = 1usize;
    let mut jumps = 0;
    loop {
        let len = u8_at(m, pos).ok_or(DNS_ERR_TRUNCATED)? as usize;
        match len & 0xc0 {
            0x00 if len == 0 => {
                let end = end.unwrap_or(pos + 1);
                if out.is_empty() {
                    out.push_str("<Root>");
                }
                return Ok((out, end));
            }
            0x00 => {
                let label = m.get(pos + 1..pos + 1 + len).ok_or(DNS_ERR_TRUNCATED)?;
                wire_len += len + 1;
                if wire_len > 255 {
                    return Err(DNS_ERR_LABEL);
                }
                if !out.is_empty() {
                    out.push('.');
                }
                text::push_label(&mut out, label);
                pos += 1 + len;
            }
            0xc0 => {
                let target = (be16(m, pos).ok_or(DNS_ERR_TRUNCATED)? & 0x3fff) as usize;
                jumps += 1;
                if target >= pos || jumps > MAX_POINTERS {
                    return Err(DNS_ERR_POINTER_LOOP);
                }
                end.get_or_insert(pos + 2);
                pos = target;
            }
            // 0x40 and 0x80: extended label types (RFC 6891 deprecated them); not a name.
            _ => return Err(DNS_ERR_LABEL),
        }
    }
}

/// Where the name at `pos` ends, without following its pointer (for records left out).
fn skip_name(m: &[u8], mut pos: usize) -> Result<usize, u8> {
    loop {
        let len = u8_at(m, pos).ok_or(DNS_ERR_TRUNCATED)? as usize;
        match len & 0xc0 {
            0x00 if len == 0 => return Ok(pos + 1),
            0x00 => pos += 1 + len,
            0xc0 => return Ok(pos + 2),
            _ => return Err(DNS_ERR_LABEL),
        }
    }
}

/// One DNS message as an AK_DNS event, whatever carried it (a UDP payload, a TCP message after
/// its length prefix, an HTTP body): the entry point for any framing. `transport` is the IP
/// protocol it came over (IPPROTO_UDP or IPPROTO_TCP).
pub fn message(ctx: &mut Ctx, m: &[u8], transport: u8) {
    let f = &mut *ctx.fields;
    f.u8(F_DNS_TRANSPORT, transport);
    let (id, flags) = match (be16(m, 0), be16(m, 2)) {
        (Some(i), Some(fl)) => (i, fl),
        _ => {
            f.u8(F_DNS_ERROR, DNS_ERR_TRUNCATED);
            return ctx.emit(AK_DNS);
        }
    };
    f.u16(F_DNS_ID, id);
    f.u16(F_DNS_FLAGS, flags);
    if let Err(e) = body(ctx.fields, m, flags) {
        ctx.fields.u8(F_DNS_ERROR, e);
    }
    ctx.emit(AK_DNS);
}

fn body(f: &mut Fields, m: &[u8], flags: u16) -> Result<(), u8> {
    let count = |off| be16(m, off).map(|v| v as usize).ok_or(DNS_ERR_TRUNCATED);
    let (qd, an, ns, ar) = (count(4)?, count(6)?, count(8)?, count(10)?);
    let mut rcode = flags & 0x000f;
    let mut pos = 12;
    for _ in 0..qd.min(MAX_QUESTIONS) {
        let (qname, end) = name(m, pos)?;
        f.bytes(F_DNS_QNAME, qname.as_bytes());
        f.u16(F_DNS_QTYPE, be16(m, end).ok_or(DNS_ERR_TRUNCATED)?);
        f.u16(F_DNS_QCLASS, be16(m, end + 2).ok_or(DNS_ERR_TRUNCATED)?);
        pos = end + 4;
    }
    let result = (|| {
        for (section, n) in [(1u8, an), (2, ns), (3, ar)] {
            let (mut kept, mut capped) = (0, false);
            for _ in 0..n {
                capped = capped || kept == MAX_PER_SECTION || !f.fits(RECORD_ROOM);
                // Records past the cap are walked (names not followed) to reach the next section.
                let (owner, end) = match capped {
                    true => (None, skip_name(m, pos)?),
                    false => name(m, pos).map(|(n, e)| (Some(n), e))?,
                };
                let rtype = be16(m, end).ok_or(DNS_ERR_TRUNCATED)?;
                let class = be16(m, end + 2).ok_or(DNS_ERR_TRUNCATED)?;
                let ttl = be32(m, end + 4).ok_or(DNS_ERR_TRUNCATED)?;
                let rdlen = be16(m, end + 8).ok_or(DNS_ERR_TRUNCATED)? as usize;
                let rdata_at = end + 10;
                if m.len() < rdata_at + rdlen {
                    return Err(DNS_ERR_TRUNCATED);
                }
                if rtype == TYPE_OPT {
                    // EDNS: the TTL's top byte extends the response code (RFC 6891 6.1.3).
                    rcode |= ((ttl >> 24) as u16) << 4;
                }
                pos = rdata_at + rdlen;
                let owner = match owner {
                    Some(owner) => owner,
                    None => continue,
                };
                kept += 1;
                f.bytes(F_DNS_RR_NAME, owner.as_bytes());
                f.u16(F_DNS_RR_TYPE, rtype);
                f.u16(F_DNS_RR_CLASS, class);
                f.u32(F_DNS_RR_TTL, ttl);
                f.u8(F_DNS_RR_SECTION, section);
                rdata(f, m, Rr { rtype, class, ttl, at: rdata_at, len: rdlen })?;
            }
            if capped {
                f.u8(F_DNS_SECTION_CAPPED, section);
            }
        }
        Ok(())
    })();
    f.u16(F_DNS_RCODE, rcode);
    result
}

/// DNS over TCP: each message is preceded by its length.
#[derive(Default)]
pub struct TcpDns;

impl StreamParser for TcpDns {
    fn parse(&mut self, ctx: &mut Ctx, _dir: usize, data: &[u8]) -> Parsed {
        let mut consumed = 0;
        while let Some(len) = be16(data, consumed) {
            let start = consumed + 2;
            let msg = match data.get(start..start + len as usize) {
                Some(m) => m,
                None => break,
            };
            if !ctx.can_emit() {
                ctx.defer();
                break;
            }
            message(ctx, msg, crate::net::IPPROTO_TCP);
            consumed = start + len as usize;
        }
        Parsed { consumed, ..Parsed::default() }
    }
}

/// Whether a UDP payload is a well-formed DNS message (for DNS on ports other than 53).
pub fn looks_like_dns(m: &[u8]) -> bool {
    let counts = (be16(m, 4), be16(m, 6), be16(m, 8), be16(m, 10));
    let (qd, an, ns, ar) = match counts {
        (Some(a), Some(b), Some(c), Some(d)) => (a, b, c, d),
        _ => return false,
    };
    let opcode = (be16(m, 2).unwrap_or(0) >> 11) & 0xf;
    if qd != 1 || opcode > 5 || an > 64 || ns > 64 || ar > 64 {
        return false;
    }
    let mut pos = match name(m, 12) {
        Ok((n, end)) if n != "<Root>" || end == 13 => end + 4,
        _ => return false,
    };
    if pos > m.len() {
        return false;
    }
    for _ in 0..(an + ns + ar) {
        let end = match name(m, pos) {
            Ok((_, e)) => e,
            Err(_) => return false,
        };
        let rdlen = match be16(m, end + 8) {
            Some(l) => l as usize,
            None => return false,
        };
        pos = end + 10 + rdlen;
    }
    pos == m.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_names_and_loops() {
        // "www.example.com" at 12, then a pointer to it at 29, then a self-pointer at 31.
        let mut m = vec![0u8; 12];
        m.extend_from_slice(b"\x03www\x07example\x03com\x00");
        m.extend_from_slice(&[0xc0, 12, 0xc0, 31]);
        assert_eq!(name(&m, 12).unwrap(), ("www.example.com".to_string(), 29));
        assert_eq!(name(&m, 29).unwrap(), ("www.example.com".to_string(), 31));
        assert_eq!(name(&m, 31), Err(DNS_ERR_POINTER_LOOP));
        let long: Vec<u8> = std::iter::repeat(b"\x3faaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec())
            .take(5)
            .flatten()
            .chain([0])
            .collect();
        assert_eq!(name(&long, 0), Err(DNS_ERR_LABEL));
        assert_eq!(name(&[0], 0).unwrap().0, "<Root>");
        assert_eq!(name(&[5, b'a'], 0), Err(DNS_ERR_TRUNCATED));
    }
}

#[cfg(test)]
mod flow_tests {
    use crate::abi::*;
    use crate::app::testing::{run, values, Seg};
    use crate::net::{IPPROTO_TCP, IPPROTO_UDP};

    /// A response for example.com A with one answer that points back at the question name.
    fn response() -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 93, 184, 216, 34]);
        m
    }

    #[test]
    fn udp_and_tcp_messages() {
        let m = response();
        let (_, ev) = run(&[Seg { dir: 1, proto: IPPROTO_UDP, sport: 53, dport: 40000, seq: 0, tcp_flags: 0, payload: &m }]);
        assert_eq!(ev.len(), 1);
        let f = &ev[0].1;
        assert_eq!(values(f, F_DNS_QNAME), vec![b"example.com".to_vec()]);
        assert_eq!(values(f, F_DNS_RR_DATA), vec![b"93.184.216.34".to_vec()]);
        assert_eq!(values(f, F_DNS_RR_TTL), vec![3600u32.to_le_bytes().to_vec()]);
        // Over TCP, split across segments, with two messages in the second.
        let mut wire = Vec::new();
        for _ in 0..3 {
            wire.extend_from_slice(&(m.len() as u16).to_be_bytes());
            wire.extend_from_slice(&m);
        }
        let (_, ev) = run(&[
            Seg { dir: 1, proto: IPPROTO_TCP, sport: 53, dport: 40000, seq: 1000, tcp_flags: 0x18, payload: &wire[..5] },
            Seg { dir: 1, proto: IPPROTO_TCP, sport: 53, dport: 40000, seq: 1005, tcp_flags: 0x18, payload: &wire[5..] },
        ]);
        assert_eq!(ev.len(), 3);
        assert!(ev.iter().all(|(k, f)| *k == AK_DNS && values(f, F_DNS_TRANSPORT) == vec![vec![6]]));
    }

    #[test]
    fn sections_past_the_cap_are_walked_and_marked() {
        // 150 answers (A 10.0.0.x), then one SOA in the authority section.
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, 150, 0, 1, 0, 0];
        m.extend_from_slice(b"\x01a\x00\x00\x01\x00\x01");
        for i in 0..150u8 {
            m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, i]);
        }
        m.extend_from_slice(&[0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 60, 0, 26, 1, b'n', 0, 1, b'h', 0]);
        m.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5]);
        let (_, ev) = run(&[Seg { dir: 1, proto: IPPROTO_UDP, sport: 53, dport: 9, seq: 0, tcp_flags: 0, payload: &m }]);
        let f = &ev[0].1;
        assert_eq!(values(f, F_DNS_SECTION_CAPPED), vec![vec![1]]);
        assert_eq!(values(f, F_DNS_RR_SECTION).iter().filter(|s| s[0] == 1).count(), 100);
        assert_eq!(values(f, F_DNS_RR_DATA).last().unwrap(), b"n h 1 2 3 4 5");
        assert!(values(f, F_DNS_RR_TEXT).contains(&b"soa.mname=n".to_vec()));
        assert!(values(f, F_DNS_RR_NUM).contains(&[b"soa.minimum".as_slice(), &5u32.to_le_bytes()].concat()));
        assert_eq!(values(f, F_DNS_ERROR), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn a_compression_loop_is_reported_not_followed() {
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(b"\x01a\x00\x00\x01\x00\x01");
        m.extend_from_slice(&[0xc0, 31, 0xc0, 29, 0, 1]);
        let (_, ev) = run(&[Seg { dir: 1, proto: IPPROTO_UDP, sport: 53, dport: 9, seq: 0, tcp_flags: 0, payload: &m }]);
        assert_eq!(values(&ev[0].1, F_DNS_ERROR), vec![vec![DNS_ERR_POINTER_LOOP]]);
        assert_eq!(values(&ev[0].1, F_DNS_QNAME), vec![b"a".to_vec()]);
    }
}
