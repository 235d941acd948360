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
