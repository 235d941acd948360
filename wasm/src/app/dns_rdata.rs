//! DNS record data: every record gets a text form (F_DNS_RR_DATA, what tshark shows: the CSV
//! column and summaries), and structured types also named values, F_DNS_RR_TEXT ("key=value")
//! and F_DNS_RR_NUM (key, then u32), that the JSON exports nest under the key's prefix
//! (`soa.mname` -> `{"soa": {"mname": ...}}`). Reads stay inside the record's data; names may
//! point back into the message.

use super::dns::name;
use super::event::Fields;
use super::text;
use crate::abi::*;
use crate::bytes::{be16, be32, u8_at};
use std::fmt::Write;

/// The record header values its data is read with.
pub struct Rr {
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    /// Where the data starts in the message, and its length.
    pub at: usize,
    pub len: usize,
}

/// Bytes of opaque data (unknown types, digests) given as hex, at most.
const HEX_MAX: usize = 256;
const T: u8 = DNS_ERR_TRUNCATED;
const OPT_CLIENT_SUBNET: u16 = 8;
const OPT_COOKIE: u16 = 10;

fn num(f: &mut Fields, key: &str, v: u32) {
    let mut b = Vec::with_capacity(key.len() + 4);
    b.extend_from_slice(key.as_bytes());
    b.extend_from_slice(&v.to_le_bytes());
    f.bytes(F_DNS_RR_NUM, &b);
}

fn txt(f: &mut Fields, key: &str, v: &[u8]) {
    let mut b = Vec::with_capacity(key.len() + 1 + v.len());
    b.extend_from_slice(key.as_bytes());
    b.push(b'=');
    b.extend_from_slice(v);
    f.bytes(F_DNS_RR_TEXT, &b);
}

/// A <character-string> at `p`: the bytes and where the next field starts.
fn char_string(d: &[u8], p: usize) -> Result<(&[u8], usize), u8> {
    let l = u8_at(d, p).ok_or(T)? as usize;
    Ok((d.get(p + 1..p + 1 + l).ok_or(T)?, p + 1 + l))
}

fn quoted(s: &[u8]) -> String {
    format!("\"{}\"", String::from_utf8_lossy(s))
}

/// Writes the record's data fields.
pub fn rdata(f: &mut Fields, m: &[u8], rr: Rr) -> Result<(), u8> {
    // Everything the data holds ends with it; backward name pointers stay within this prefix.
    let m = &m[..rr.at + rr.len];
    let (at, d) = (rr.at, &m[rr.at..]);
    let text = match rr.rtype {
        1 if d.len() == 4 => text::ipv4(d),
        28 if d.len() == 16 => text::ipv6(d),
        2 | 5 | 12 | 39 => name(m, at)?.0,
        6 => soa(f, m, at)?,
        15 => {
            let (preference, exchange) = (be16(d, 0).ok_or(T)?, name(m, at + 2)?.0);
            num(f, "mx.preference", preference as u32);
            txt(f, "mx.exchange", exchange.as_bytes());
            format!("{} {}", preference, exchange)
        }
        16 => {
            // One field per character-string, as tshark lists them.
            let mut p = 0;
            while p < d.len() {
                let (s, next) = char_string(d, p)?;
                f.bytes(F_DNS_RR_DATA, s);
                p = next;
            }
            return Ok(());
        }
        33 => srv(f, m, at)?,
        35 => naptr(f, m, at)?,
        41 => opt(&rr, d)?,
        43 => ds(f, d)?,
        46 => rrsig(f, m, at)?,
        47 => nsec(f, m, at)?,
        48 => dnskey(f, d)?,
        64 | 65 => svcb(f, m, at)?,
        257 => caa(f, d)?,
        _ => {
            num(f, "rdlength", d.len() as u32);
            text::hex(&d[..d.len().min(HEX_MAX)])
        }
    };
    f.bytes(F_DNS_RR_DATA, text.as_bytes());
    Ok(())
}

fn soa(f: &mut Fields, m: &[u8], at: usize) -> Result<String, u8> {
    let (mname, after) = name(m, at)?;
    let (rname, after) = name(m, after)?;
    txt(f, "soa.mname", mname.as_bytes());
    txt(f, "soa.rname", rname.as_bytes());
    let mut out = format!("{} {}", mname, rname);
    for (i, key) in ["soa.serial", "soa.refresh", "soa.retry", "soa.expire", "soa.minimum"].iter().enumerate() {
        let v = be32(m, after + 4 * i).ok_or(T)?;
        num(f, key, v);
        let _ = write!(out, " {}", v);
    }
    Ok(out)
}

fn srv(f: &mut Fields, m: &[u8], at: usize) -> Result<String, u8> {
    let n = |off| be16(m, at + off).ok_or(T);
    let (priority, weight, port, target) = (n(0)?, n(2)?, n(4)?, name(m, at + 6)?.0);
    num(f, "srv.priority", priority as u32);
    num(f, "srv.weight", weight as u32);
    num(f, "srv.port", port as u32);
    txt(f, "srv.name", target.as_bytes());
    Ok(format!("{} {} {} {}", priority, weight, port, target))
}

fn naptr(f: &mut Fields, m: &[u8], at: usize) -> Result<String, u8> {
    let (order, preference) = (be16(m, at).ok_or(T)?, be16(m, at + 2).ok_or(T)?);
    let (flags, p) = char_string(m, at + 4)?;
    let (service, p) = char_string(m, p)?;
    let (regexp, p) = char_string(m, p)?;
    let replacement = name(m, p)?.0;
    num(f, "naptr.order", order as u32);
    num(f, "naptr.preference", preference as u32);
    txt(f, "naptr.flags", flags);
    txt(f, "naptr.service", service);
    txt(f, "naptr.regexp", regexp);
    txt(f, "naptr.replacement", replacement.as_bytes());
    Ok(format!("{} {} {} {} {} {}", order, preference, quoted(flags), quoted(service), quoted(regexp), replacement))
}

fn caa(f: &mut Fields, d: &[u8]) -> Result<String, u8> {
    let flags = u8_at(d, 0).ok_or(T)?;
    let (tag, p) = char_string(d, 1)?;
    let value = &d[p..];
    num(f, "caa.flags", flags as u32);
    txt(f, "caa.tag", tag);
    txt(f, "caa.value", value);
    Ok(format!("{} {} {}", flags, String::from_utf8_lossy(tag), quoted(value)))
}

/// SVCB and HTTPS (RFC 9460): priority, target and the parameters clients act on.
fn svcb(f: &mut Fields, m: &[u8], at: usize) -> Result<String, u8> {
    let priority = be16(m, at).ok_or(T)?;
    let (target, end) = name(m, at + 2)?;
    num(f, "svcb.priority", priority as u32);
    txt(f, "svcb.target", target.as_bytes());
    let mut out = format!("{} {}", priority, target);
    let mut p = end;
    while p < m.len() {
        let (key, len) = (be16(m, p).ok_or(T)?, be16(m, p + 2).ok_or(T)? as usize);
        let v = m.get(p + 4..p + 4 + len).ok_or(T)?;
        p += 4 + len;
        let list = |chunk: usize, form: fn(&[u8]) -> String| {
            v.chunks_exact(chunk).map(form).collect::<Vec<_>>().join(",")
        };
        match key {
            1 => {
                let (mut names, mut q) = (Vec::new(), 0);
                while q < v.len() {
                    let (s, next) = char_string(v, q)?;
                    names.push(String::from_utf8_lossy(s).into_owned());
                    q = next;
                }
                let alpn = names.join(",");
                txt(f, "svcb.alpn", alpn.as_bytes());
                let _ = write!(out, " alpn={}", alpn);
            }
            2 => {
                num(f, "svcb.no_default_alpn", 1);
                out.push_str(" no-default-alpn");
            }
            3 => {
                let port = be16(v, 0).ok_or(T)?;
                num(f, "svcb.port", port as u32);
                let _ = write!(out, " port={}", port);
            }
            4 | 6 => {
                let (param, hints) = match key {
                    4 => ("ipv4hint", list(4, text::ipv4)),
                    _ => ("ipv6hint", list(16, text::ipv6)),
                };
                txt(f, &format!("svcb.{}", param), hints.as_bytes());
                let _ = write!(out, " {}={}", param, hints);
            }
            5 => {
                // The ECH configuration itself is opaque: that it is offered is what matters.
                num(f, "svcb.ech", 1);
                out.push_str(" ech");
            }
            _ => {
                let _ = write!(out, " key{}", key);
            }
        }
    }
    Ok(out)
}

fn ds(f: &mut Fields, d: &[u8]) -> Result<String, u8> {
    let key_tag = be16(d, 0).ok_or(T)?;
    let (algorithm, digest_type) = (u8_at(d, 2).ok_or(T)?, u8_at(d, 3).ok_or(T)?);
    let digest = text::hex(&d[4..d.len().min(4 + HEX_MAX)]);
    num(f, "ds.key_tag", key_tag as u32);
    num(f, "ds.algorithm", algorithm as u32);
    num(f, "ds.digest_type", digest_type as u32);
    txt(f, "ds.digest", digest.as_bytes());
    Ok(format!("{} {} {} {}", key_tag, algorithm, digest_type, digest))
}

/// DNSKEY summarised: flags, protocol, algorithm, the key tag (RFC 4034 appendix B) and key size.
fn dnskey(f: &mut Fields, d: &[u8]) -> Result<String, u8> {
    let flags = be16(d, 0).ok_or(T)?;
    let (protocol, algorithm) = (u8_at(d, 2).ok_or(T)?, u8_at(d, 3).ok_or(T)?);
    let mut sum: u32 = 0;
    for (i, &b) in d.iter().enumerate() {
        sum += if i & 1 == 0 { (b as u32) << 8 } else { b as u32 };
    }
    let key_tag = (sum + (sum >> 16)) & 0xffff;
    num(f, "dnskey.flags", flags as u32);
    num(f, "dnskey.protocol", protocol as u32);
    num(f, "dnskey.algorithm", algorithm as u32);
    num(f, "dnskey.key_tag", key_tag);
    num(f, "dnskey.key_length", (d.len() - 4) as u32);
    Ok(format!("{} {} {} {}", flags, protocol, algorithm, key_tag))
}

/// RRSIG summarised: everything but the signature.
fn rrsig(f: &mut Fields, m: &[u8], at: usize) -> Result<String, u8> {
    let type_covered = be16(m, at).ok_or(T)?;
    let (algorithm, labels) = (u8_at(m, at + 2).ok_or(T)?, u8_at(m, at + 3).ok_or(T)?);
    let n = |off| be32(m, at + off).ok_or(T);
    let (original_ttl, expiration, inception) = (n(4)?, n(8)?, n(12)?);
    let key_tag = be16(m, at + 16).ok_or(T)?;
    let signer = name(m, at + 18)?.0;
    num(f, "rrsig.type_covered", type_covered as u32);
    num(f, "rrsig.algorithm", algorithm as u32);
    num(f, "rrsig.labels", labels as u32);
    num(f, "rrsig.original_ttl", original_ttl);
    num(f, "rrsig.expiration", expiration);
    num(f, "rrsig.inception", inception);
    num(f, "rrsig.key_tag", key_tag as u32);
    txt(f, "rrsig.signer", signer.as_bytes());
    Ok(format!(
        "{} {} {} {} {} {} {} {}",
        type_covered, algorithm, labels, original_ttl, expiration, inception, key_tag, signer
    ))
}

/// NSEC (RFC 4034 section 4; mDNS's negative answers, RFC 6762 section 6.1): the next name and the
/// types its bitmap windows list, as numbers in ascending order ("1 28").
fn nsec(f: &mut Fields, m: &[u8], at: usize) -> Result<String, u8> {
    let (next, mut p) = name(m, at)?;
    let mut types = String::new();
    // `m` ends with the record's data: the windows run to its end.
    while p < m.len() {
        let (window, len) = (u8_at(m, p).ok_or(T)? as u32, u8_at(m, p + 1).ok_or(T)? as usize);
        let bitmap = m.get(p + 2..p + 2 + len).ok_or(T)?;
        for (i, byte) in bitmap.iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    let sep = if types.is_empty() { "" } else { " " };
                    let _ = write!(types, "{}{}", sep, window * 256 + i as u32 * 8 + bit);
                }
            }
        }
        p += 2 + len;
    }
    txt(f, "nsec.next", next.as_bytes());
    txt(f, "nsec.types", types.as_bytes());
    Ok(format!("{} {}", next, types))
}

/// The EDNS pseudo-record (RFC 6891): UDP size in the class, version and DO bit in the TTL;
/// client subnet (RFC 7871) and cookies (RFC 7873) among its options. Every message has one, so
/// it is given as text alone ("udp_size=1232 ext_rcode=0 version=0 do=1 ecs=192.0.2.0/24/0
/// cookie=CLIENT,SERVER"), one field instead of a dozen; TypeScript reads the values from it.
fn opt(rr: &Rr, d: &[u8]) -> Result<String, u8> {
    // Written piece by piece: every message has this record, and `format!` was most of its cost.
    let mut out = String::with_capacity(96);
    let fixed = [
        ("udp_size=", rr.class as u32),
        (" ext_rcode=", rr.ttl >> 24),
        (" version=", (rr.ttl >> 16) & 0xff),
        (" do=", (rr.ttl >> 15) & 1),
    ];
    for (key, value) in fixed {
        out.push_str(key);
        text::push_decimal(&mut out, value);
    }
    let mut p = 0;
    while p < d.len() {
        let (code, len) = (be16(d, p).ok_or(T)?, be16(d, p + 2).ok_or(T)? as usize);
        let v = d.get(p + 4..p + 4 + len).ok_or(T)?;
        p += 4 + len;
        match code {
            OPT_CLIENT_SUBNET => {
                let (family, source, scope) = (be16(v, 0).ok_or(T)?, u8_at(v, 2).ok_or(T)?, u8_at(v, 3).ok_or(T)?);
                // The address is cut to its prefix's bytes on the wire.
                let mut padded = [0u8; 16];
                let given = &v[4..];
                let width = if family == 2 { 16 } else { 4 };
                padded[..given.len().min(width)].copy_from_slice(&given[..given.len().min(width)]);
                let address = if family == 2 { text::ipv6(&padded) } else { text::ipv4(&padded) };
                let _ = write!(out, " ecs={}/{}/{}", address, source, scope);
            }
            OPT_COOKIE => {
                let (client, server) = v.split_at(v.len().min(8));
                out.push_str(" cookie=");
                text::push_hex(&mut out, client);
                if !server.is_empty() {
                    out.push(',');
                    text::push_hex(&mut out, &server[..server.len().min(32)]);
                }
            }
            _ => {
                let _ = write!(out, " option{}", code);
            }
        }
    }
    Ok(out)
}
