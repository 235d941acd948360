//! Network layer: IPv4 (options, fragments), IPv6 (extension-header chain, fragments) and ARP.
//! Each IP decoder returns the byte range of the upper-layer header and payload, or `None` when
//! there is no upper-layer header to read (malformed, or a non-first fragment).

use crate::abi::*;
use crate::bytes::{be16, be32, u8_at};
use crate::packet::{FragPos, Packet, PF_ROUTED};

pub const IPPROTO_ICMP: u8 = 1;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
pub const IPPROTO_AH: u8 = 51;
pub const IPPROTO_ICMPV6: u8 = 58;
pub const IPPROTO_SCTP: u8 = 132;

/// Longest IPv6 extension-header chain followed (RFC 8200 expects a handful).
const MAX_EXT_HEADERS: usize = 16;

pub struct Upper {
    pub start: usize,
    pub end: usize,
}

/// The IP header's claimed end, clamped to the frame; flags a claim past the frame unless the
/// capture itself was cut short (snap length), where a longer claim is expected.
fn clamp_end(claimed: usize, frame_end: usize, p: &mut Packet, reason: u8) -> usize {
    if claimed > frame_end {
        if p.flags & PF_TRUNCATED == 0 {
            p.mark(reason);
        }
        frame_end
    } else {
        claimed
    }
}

pub fn ipv4(d: &[u8], off: usize, p: &mut Packet) -> Option<Upper> {
    let vihl = match u8_at(d, off) {
        Some(b) => b,
        None => {
            p.l3 = L3_IPV4;
            p.mark_short(MAL_IP_TRUNCATED);
            return None;
        }
    };
    if vihl >> 4 != 4 {
        p.l3 = L3_OTHER;
        p.mark(MAL_IP_BAD_VERSION);
        return None;
    }
    p.l3 = L3_IPV4;
    let ihl = ((vihl & 0x0f) as usize) * 4;
    if d.len() < off + 20 {
        p.mark_short(MAL_IP_TRUNCATED);
        return None;
    }
    if ihl < 20 {
        p.mark(MAL_IPV4_BAD_HEADER_LEN);
        return None;
    }
    if d.len() < off + ihl {
        if p.flags & PF_TRUNCATED != 0 {
            p.mark(MAL_SNAPLEN_TRUNCATED);
        } else {
            p.mark(MAL_IPV4_BAD_HEADER_LEN);
        }
        return None;
    }
    let total = be16(d, off + 2)? as usize;
    let frag = be16(d, off + 6)?;
    p.ip_id = be16(d, off + 4)? as u32;
    p.ttl = d[off + 8];
    p.ip_proto = d[off + 9];
    p.src[..4].copy_from_slice(&d[off + 12..off + 16]);
    p.dst[..4].copy_from_slice(&d[off + 16..off + 20]);
    let end = if total == 0 {
        // TCP segmentation offload: the stack left the length to the NIC.
        d.len()
    } else if total < ihl {
        p.ip_len = total as u32;
        p.mark(MAL_IPV4_BAD_TOTAL_LEN);
        return None;
    } else {
        clamp_end(off + total, d.len(), p, MAL_IP_LEN_EXCEEDS_FRAME)
    };
    p.ip_len = if total == 0 { (end - off) as u32 } else { total as u32 };
    let more = frag & 0x2000 != 0;
    let offset = frag & 0x1fff;
    if more || offset != 0 {
        p.flags |= PF_FRAGMENT;
        let hdr_end = (off + ihl) as u32;
        let (l3_off, data_end, offset) = (off as u32, end as u32, offset as u32 * 8);
        // The next-header position is IPv6's; an IPv4 header is rewritten in place.
        p.frag = FragPos { l3_off, hdr_end, data_off: hdr_end, data_end, offset, more, nh_pos: 9, next: p.ip_proto };
        if offset != 0 {
            return None;
        }
        p.flags |= PF_FIRST_FRAGMENT;
    }
    let mut start = off + ihl;
    if p.ip_proto == IPPROTO_AH {
        let (next, len) = match (u8_at(d, start), u8_at(d, start + 1)) {
            (Some(n), Some(l)) if start + (l as usize + 2) * 4 <= end => (n, (l as usize + 2) * 4),
            _ => {
                p.mark_short(MAL_IPV6_EXT_TRUNCATED);
                return None;
            }
        };
        p.ip_proto = next;
        start += len;
    }
    Some(Upper { start, end })
}

pub fn ipv6(d: &[u8], off: usize, p: &mut Packet) -> Option<Upper> {
    let v = match u8_at(d, off) {
        Some(b) => b >> 4,
        None => {
            p.l3 = L3_IPV6;
            p.mark_short(MAL_IP_TRUNCATED);
            return None;
        }
    };
    if v != 6 {
        p.l3 = L3_OTHER;
        p.mark(MAL_IP_BAD_VERSION);
        return None;
    }
    p.l3 = L3_IPV6;
    if d.len() < off + 40 {
        p.mark_short(MAL_IP_TRUNCATED);
        return None;
    }
    let plen = be16(d, off + 4)? as usize;
    let mut next = d[off + 6];
    p.ttl = d[off + 7];
    p.src.copy_from_slice(&d[off + 8..off + 24]);
    p.dst.copy_from_slice(&d[off + 24..off + 40]);
    // Payload length 0: a jumbogram (hop-by-hop option) or segmentation offload, unless nothing
    // follows the header (a Teredo bubble).
    const NO_NEXT_HEADER: u8 = 59;
    let end = if plen == 0 && next != NO_NEXT_HEADER {
        d.len()
    } else {
        clamp_end(off + 40 + plen, d.len(), p, MAL_IPV6_BAD_PAYLOAD_LEN)
    };
    // The header's own claim (Zeek's TotalLen: 40 + payload length), also for a payload length of
    // 0, where the frame's tail (padding or offloaded data) is not the packet's.
    p.ip_len = (40 + plen).min(end - off) as u32;
    let mut pos = off + 40;
    // The byte that names the header at `pos` (for reassembly, which drops the fragment header).
    let mut nh_at = off + 6;
    for _ in 0..MAX_EXT_HEADERS {
        match next {
            // Hop-by-hop, routing, destination options, HIP, shim6, experimental: (next, len in 8-octet units - 1).
            0 | 43 | 60 | 139 | 140 | 253 | 254 => {
                let (n, len) = match (u8_at(d, pos), u8_at(d, pos + 1)) {
                    (Some(n), Some(l)) => (n, (l as usize + 1) * 8),
                    _ => return ext_short(p, next),
                };
                if pos + len > end {
                    return ext_short(p, next);
                }
                if next == 43 {
                    final_destination(&d[pos..pos + len], p);
                }
                next = n;
                nh_at = pos;
                pos += len;
            }
            IPPROTO_AH => {
                let (n, len) = match (u8_at(d, pos), u8_at(d, pos + 1)) {
                    (Some(n), Some(l)) => (n, (l as usize + 2) * 4),
                    _ => return ext_short(p, next),
                };
                if pos + len > end {
                    return ext_short(p, next);
                }
                next = n;
                nh_at = pos;
                pos += len;
            }
            44 => {
                if pos + 8 > end {
                    return ext_short(p, next);
                }
                let n = d[pos];
                let offset = be16(d, pos + 2)? >> 3;
                let more = be16(d, pos + 2)? & 1 != 0;
                p.ip_id = be32(d, pos + 4)?;
                next = n;
                if offset != 0 || more {
                    p.flags |= PF_FRAGMENT;
                    p.frag = FragPos {
                        l3_off: off as u32,
                        hdr_end: pos as u32,
                        data_off: (pos + 8) as u32,
                        data_end: end as u32,
                        offset: offset as u32 * 8,
                        more,
                        nh_pos: (nh_at - off) as u32,
                        next,
                    };
                    if offset != 0 {
                        p.ip_proto = next;
                        return None;
                    }
                    p.flags |= PF_FIRST_FRAGMENT;
                }
                nh_at = pos;
                pos += 8;
            }
            _ => {
                p.ip_proto = next;
                return Some(Upper { start: pos, end });
            }
        }
    }
    ext_short(p, next)
}

/// With segments left, a routing header names the packet's final destination: the address the
/// upper layer (checksum pseudo-header, and so the flow) belongs to (RFC 8200 section 8.1).
fn final_destination(rh: &[u8], p: &mut Packet) {
    let (kind, left) = match (u8_at(rh, 2), u8_at(rh, 3)) {
        (Some(k), Some(l)) => (k, l as usize),
        _ => return,
    };
    if left == 0 {
        return;
    }
    let at = match kind {
        // Type 0 (source route) and 2 (mobility): the last address of the list.
        0 | 2 => 8 + 16 * (((rh.len() - 8) / 16).saturating_sub(1)),
        // Type 4 (segment routing): segment list[0] is the final segment.
        4 => 8,
        _ => return,
    };
    if let Some(a) = rh.get(at..at + 16) {
        p.route_dst.copy_from_slice(a);
        p.flags |= PF_ROUTED;
    }
}

fn ext_short(p: &mut Packet, next: u8) -> Option<Upper> {
    p.ip_proto = next;
    p.mark_short(MAL_IPV6_EXT_TRUNCATED);
    None
}

pub fn arp(d: &[u8], off: usize, p: &mut Packet) {
    p.l3 = L3_ARP;
    let (ptype, hlen, plen) = match (be16(d, off + 2), u8_at(d, off + 4), u8_at(d, off + 5)) {
        (Some(pt), Some(h), Some(pl)) => (pt, h as usize, pl as usize),
        _ => return p.mark_short(MAL_ARP_TRUNCATED),
    };
    let body = off + 8;
    if d.len() < body + 2 * (hlen + plen) {
        return p.mark_short(MAL_ARP_TRUNCATED);
    }
    if ptype == 0x0800 && plen == 4 {
        let spa = body + hlen;
        let tpa = spa + plen + hlen;
        p.src[..4].copy_from_slice(&d[spa..spa + 4]);
        p.dst[..4].copy_from_slice(&d[tpa..tpa + 4]);
    }
}
