//! Transport layer: TCP (flags, options skipped by data offset), UDP, ICMP/ICMPv6, SCTP ports.

use crate::abi::*;
use crate::bytes::{be16, be32, u8_at};
use crate::net::{Upper, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP};
use crate::packet::Packet;

pub fn decode(d: &[u8], up: Upper, p: &mut Packet) {
    p.flags |= PF_L4;
    let seg = match d.get(up.start..up.end) {
        Some(s) => s,
        None => &[],
    };
    p.l4_off = up.start as u32;
    p.l4_len = seg.len() as u32;
    match p.ip_proto {
        IPPROTO_TCP => tcp(seg, up.start, p),
        IPPROTO_UDP => udp(seg, up.start, p),
        IPPROTO_ICMP | IPPROTO_ICMPV6 => icmp(seg, p),
        IPPROTO_SCTP => {
            if ports(seg, p) {
                p.payload_off = (up.start + 12.min(seg.len())) as u32;
            }
        }
        _ => {
            p.payload_off = up.start as u32;
            p.payload_len = seg.len() as u32;
        }
    }
}

/// Whether a TCP or UDP checksum holds, as Zeek checks it: over the IP payload and the pseudo
/// header; not checked (true) on a capture cut short, a fragment or other protocols; an IPv4 UDP
/// checksum of 0 means none, and so does VXLAN's on IPv6 (Zeek accepts 0 on its VXLAN ports).
pub fn checksum_ok(d: &[u8], p: &Packet) -> bool {
    let tcp = p.ip_proto == IPPROTO_TCP;
    if p.flags & (PF_L4 | PF_TRUNCATED | PF_FRAGMENT) != PF_L4 || !(tcp || p.ip_proto == IPPROTO_UDP) {
        return true;
    }
    let start = p.l4_off as usize;
    let seg = match d.get(start..start + p.l4_len as usize) {
        Some(s) if s.len() >= if tcp { 20 } else { 8 } => s,
        _ => return true,
    };
    let v4 = p.l3 == L3_IPV4;
    if !tcp && be16(seg, 6) == Some(0) && (v4 || p.dport == crate::tunnel::PORT_VXLAN) {
        return true;
    }
    let dst = if p.flags & crate::packet::PF_ROUTED != 0 { &p.route_dst } else { &p.dst };
    let (src, dst) = if v4 { (&p.src[..4], &dst[..4]) } else { (&p.src[..], &dst[..]) };
    let mut sum = sum16(src) + sum16(dst) + p.ip_proto as u64 + seg.len() as u64;
    sum += sum16(seg);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum == 0xffff
}

/// The ones'-complement sum's running total of big-endian 16-bit words (an odd byte padded).
fn sum16(b: &[u8]) -> u64 {
    let mut chunks = b.chunks_exact(2);
    let mut sum: u64 = chunks.by_ref().map(|w| u16::from_be_bytes([w[0], w[1]]) as u64).sum();
    if let [last] = chunks.remainder() {
        sum += (*last as u64) << 8;
    }
    sum
}

fn ports(seg: &[u8], p: &mut Packet) -> bool {
    match (be16(seg, 0), be16(seg, 2)) {
        (Some(s), Some(d)) => {
            p.sport = s;
            p.dport = d;
            p.flags |= PF_PORTS;
            true
        }
        _ => false,
    }
}

fn tcp(seg: &[u8], start: usize, p: &mut Packet) {
    ports(seg, p);
    if seg.len() < 20 {
        return p.mark_short(MAL_TCP_TRUNCATED);
    }
    p.tcp_seq = be32(seg, 4).unwrap_or(0);
    p.tcp_ack = be32(seg, 8).unwrap_or(0);
    let off_flags = be16(seg, 12).unwrap_or(0);
    p.tcp_flags = off_flags & 0x01ff;
    p.tcp_window = be16(seg, 14).unwrap_or(0);
    let doff = ((off_flags >> 12) as usize) * 4;
    if doff < 20 {
        return p.mark(MAL_TCP_BAD_OFFSET);
    }
    if doff > seg.len() {
        return p.mark_short(MAL_TCP_BAD_OFFSET);
    }
    p.payload_off = (start + doff) as u32;
    p.payload_len = (seg.len() - doff) as u32;
}

fn udp(seg: &[u8], start: usize, p: &mut Packet) {
    ports(seg, p);
    let len = match be16(seg, 4) {
        Some(l) if seg.len() >= 8 => l as usize,
        _ => return p.mark_short(MAL_UDP_TRUNCATED),
    };
    let end = if len < 8 {
        p.mark(MAL_UDP_BAD_LENGTH);
        seg.len()
    } else if len > seg.len() {
        // A cut capture or a first fragment holds only part of the datagram.
        if p.flags & (PF_TRUNCATED | PF_FRAGMENT) == 0 {
            p.mark(MAL_UDP_BAD_LENGTH);
        }
        seg.len()
    } else {
        len
    };
    p.payload_off = (start + 8) as u32;
    p.payload_len = (end - 8) as u32;
}

fn icmp(seg: &[u8], p: &mut Packet) {
    match (u8_at(seg, 0), u8_at(seg, 1)) {
        (Some(t), Some(c)) => {
            p.icmp_type = t;
            p.icmp_code = c;
        }
        _ => return p.mark_short(MAL_ICMP_TRUNCATED),
    }
    if seg.len() < 4 {
        return p.mark_short(MAL_ICMP_TRUNCATED);
    }
    let echo = matches!((p.ip_proto, p.icmp_type), (IPPROTO_ICMP, 0) | (IPPROTO_ICMP, 8) | (IPPROTO_ICMPV6, 128) | (IPPROTO_ICMPV6, 129));
    if echo {
        p.icmp_id = be16(seg, 4).unwrap_or(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net;

    /// An IPv4 UDP datagram 10.0.0.1:1000 -> 10.0.0.2:53 with payload "abc" and `csum`.
    fn udp4(csum: u16) -> Vec<u8> {
        let mut d = vec![0x45, 0, 0, 31, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        d.extend_from_slice(&[0x03, 0xe8, 0, 53, 0, 11]);
        d.extend_from_slice(&csum.to_be_bytes());
        d.extend_from_slice(b"abc");
        d
    }

    fn decoded(d: &[u8]) -> Packet {
        let mut p = Packet::new();
        let up = net::ipv4(d, 0, &mut p).unwrap();
        decode(d, up, &mut p);
        p
    }

    #[test]
    fn checksums_are_checked_as_zeek_does() {
        // The right sum (worked out by hand: ones'-complement of the pseudo header and segment).
        let words: u64 = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + 11 + 0x03e8 + 53 + 11 + 0x6162 + 0x6300;
        let folded = (words & 0xffff) + (words >> 16);
        let good = !(folded as u16);
        assert!(checksum_ok(&udp4(good), &decoded(&udp4(good))));
        assert!(!checksum_ok(&udp4(good ^ 1), &decoded(&udp4(good ^ 1))));
        // IPv4 UDP without a checksum.
        assert!(checksum_ok(&udp4(0), &decoded(&udp4(0))));
        // Cut short by the capture: not checked.
        let d = udp4(good ^ 1);
        let mut p = decoded(&d);
        p.flags |= PF_TRUNCATED;
        assert!(checksum_ok(&d, &p));
    }
}
