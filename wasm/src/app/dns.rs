//! DNS messages over UDP and TCP (two-byte length prefix, reassembled by the stream): header,
//! questions and every record with its data as text. Names are decompressed with loop
//! protection: pointers must point backwards, a name follows at most MAX_POINTERS of them and
//! stays within 255 bytes and 63-byte labels.

use super::event::Ctx;
use super::text;
use super::{Parsed, StreamParser};
use crate::abi::*;
use crate::bytes::{be16, be32, u8_at};

const MAX_POINTERS: usize = 64;
const MAX_QUESTIONS: usize = 32;
const MAX_RECORDS: usize = 256;
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

/// One DNS message as an AK_DNS event.
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
    if let Err(e) = body(ctx, m, flags) {
        ctx.fields.u8(F_DNS_ERROR, e);
    }
    ctx.emit(AK_DNS);
}

fn body(ctx: &mut Ctx, m: &[u8], flags: u16) -> Result<(), u8> {
    let count = |off| be16(m, off).map(|v| v as usize).ok_or(DNS_ERR_TRUNCATED);
    let (qd, an, ns, ar) = (count(4)?, count(6)?, count(8)?, count(10)?);
    let f = &mut *ctx.fields;
    let mut rcode = flags & 0x000f;
    let mut pos = 12;
    for _ in 0..qd.min(MAX_QUESTIONS) {
        let (qname, end) = name(m, pos)?;
        f.bytes(F_DNS_QNAME, qname.as_bytes());
        f.u16(F_DNS_QTYPE, be16(m, end).ok_or(DNS_ERR_TRUNCATED)?);
        f.u16(F_DNS_QCLASS, be16(m, end + 2).ok_or(DNS_ERR_TRUNCATED)?);
        pos = end + 4;
    }
    let sections = [(1u8, an), (2, ns), (3, ar)];
    let mut left = MAX_RECORDS;
    let result = (|| {
        for (section, n) in sections {
            for _ in 0..n {
                if left == 0 {
                    return Ok(());
                }
                left -= 1;
                let (owner, end) = name(m, pos)?;
                let rtype = be16(m, end).ok_or(DNS_ERR_TRUNCATED)?;
                let class = be16(m, end + 2).ok_or(DNS_ERR_TRUNCATED)?;
                let ttl = be32(m, end + 4).ok_or(DNS_ERR_TRUNCATED)?;
                let rdlen = be16(m, end + 8).ok_or(DNS_ERR_TRUNCATED)? as usize;
                let rdata_at = end + 10;
                if m.len() < rdata_at + rdlen {
                    return Err(DNS_ERR_TRUNCATED);
                }
                pos = rdata_at + rdlen;
                if rtype == TYPE_OPT {
                    // EDNS: the TTL's top byte extends the response code (RFC 6891 6.1.3).
                    rcode |= ((ttl >> 24) as u16) << 4;
                    continue;
                }
                f.bytes(F_DNS_RR_NAME, owner.as_bytes());
                f.u16(F_DNS_RR_TYPE, rtype);
                f.u16(F_DNS_RR_CLASS, class);
                f.u32(F_DNS_RR_TTL, ttl);
                f.u8(F_DNS_RR_SECTION, section);
                rdata(f, m, rtype, rdata_at, rdlen)?;
            }
        }
        Ok(())
    })();
    f.u16(F_DNS_RCODE, rcode);
    result
}

/// Record data as text; types not listed are given as hex.
fn rdata(f: &mut super::event::Fields, m: &[u8], rtype: u16, at: usize, len: usize) -> Result<(), u8> {
    let d = &m[at..at + len];
    let name_at = |off: usize| name(m, at + off).map(|(n, _)| n);
    let text = match rtype {
        1 if len == 4 => text::ipv4(d),
        28 if len == 16 => text::ipv6(d),
        2 | 5 | 12 | 39 => name_at(0)?,
        15 => format!("{} {}", be16(d, 0).ok_or(DNS_ERR_TRUNCATED)?, name_at(2)?),
        33 => format!(
            "{} {} {} {}",
            be16(d, 0).ok_or(DNS_ERR_TRUNCATED)?,
            be16(d, 2).ok_or(DNS_ERR_TRUNCATED)?,
            be16(d, 4).ok_or(DNS_ERR_TRUNCATED)?,
            name_at(6)?
        ),
        6 => {
            let (mname, after) = name(m, at)?;
            let (rname, after) = name(m, after)?;
            let n = |i: usize| be32(m, after + 4 * i).ok_or(DNS_ERR_TRUNCATED);
            format!("{} {} {} {} {} {} {}", mname, rname, n(0)?, n(1)?, n(2)?, n(3)?, n(4)?)
        }
        16 => {
            // One field per character-string, as tshark lists them.
            let mut p = 0;
            while p < len {
                let l = d[p] as usize;
                let s = d.get(p + 1..p + 1 + l).ok_or(DNS_ERR_TRUNCATED)?;
                f.bytes(F_DNS_RR_DATA, s);
                p += 1 + l;
            }
            return Ok(());
        }
        _ => text::hex(&d[..len.min(256)]),
    };
    f.bytes(F_DNS_RR_DATA, text.as_bytes());
    Ok(())
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
    fn a_compression_loop_is_reported_not_followed() {
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(b"\x01a\x00\x00\x01\x00\x01");
        m.extend_from_slice(&[0xc0, 31, 0xc0, 29, 0, 1]);
        let (_, ev) = run(&[Seg { dir: 1, proto: IPPROTO_UDP, sport: 53, dport: 9, seq: 0, tcp_flags: 0, payload: &m }]);
        assert_eq!(values(&ev[0].1, F_DNS_ERROR), vec![vec![DNS_ERR_POINTER_LOOP]]);
        assert_eq!(values(&ev[0].1, F_DNS_QNAME), vec![b"a".to_vec()]);
    }
}
