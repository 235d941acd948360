//! Tunnels: whether a decoded packet carries another packet, and where that one starts. The rules
//! (ports, headers, what counts as the tunnel) are Zeek's: its packet analyzers for IP-in-IP, GRE
//! (with ERSPAN, Aruba's 802.11 and PPTP), VXLAN, GENEVE, Teredo, AYIYA and GTPv1. Every length
//! comes from the packet, so every read is bounded by the carrier's payload.

use crate::abi::*;
use crate::bytes::{be16, u8_at};
use crate::link::Inner;
use crate::net::{IPPROTO_TCP, IPPROTO_UDP};
use crate::packet::Packet;

/// Tunnels followed inside one another at most (Zeek's Tunnel::max_depth is 2; hostile nesting
/// stops here).
pub const MAX_DEPTH: usize = 4;

const IPPROTO_IPIP: u8 = 4;
const IPPROTO_IPV6: u8 = 41;
const IPPROTO_GRE: u8 = 47;

const PORT_GTPV1_U: u16 = 2152;
const PORT_GTPV1_C: u16 = 2123;
const PORT_TEREDO: u16 = 3544;
const PORT_GRE: u16 = 4754;
pub const PORT_VXLAN: u16 = 4789;
const PORT_AYIYA: u16 = 5072;
const PORT_GENEVE: u16 = 6081;

/// The packet inside a tunnel: how to read it, where it starts and which tunnel it rode in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    pub link: Inner,
    pub off: usize,
    /// End of the carrier's payload: the inner packet lies in `off..end`.
    pub end: usize,
    pub encap: u8,
}

/// The tunnel `p` is the carrier of, if any. `d` is the frame `p` was decoded from.
#[inline]
pub fn find(d: &[u8], p: &Packet) -> Option<Found> {
    // Inlined: most packets are TCP, which carries no tunnel we follow, and leave without a call.
    // A fragment holds part of what it carries: the whole datagram is followed once reassembled.
    if p.flags & PF_L4 == 0 || p.flags & PF_FRAGMENT != 0 || p.ip_proto == IPPROTO_TCP {
        return None;
    }
    find_in_payload(d, p)
}

fn find_in_payload(d: &[u8], p: &Packet) -> Option<Found> {
    let start = p.payload_off as usize;
    let end = start.checked_add(p.payload_len as usize)?.min(d.len());
    let body = d.get(start..end)?;
    let at = |link: Inner, skip: usize, encap: u8| Some(Found { link, off: start + skip, end, encap });
    match p.ip_proto {
        IPPROTO_IPIP | IPPROTO_IPV6 => at(Inner::Ip, 0, ENCAP_IP),
        IPPROTO_GRE => gre(body).and_then(|(link, skip, encap)| at(link, skip, encap)),
        IPPROTO_UDP if p.flags & PF_PORTS != 0 => {
            let port = |n: u16| p.sport == n || p.dport == n;
            let (link, skip, encap) = if port(PORT_VXLAN) {
                (Inner::Ethernet, vxlan(body)?, ENCAP_VXLAN)
            } else if port(PORT_GENEVE) {
                geneve(body)?
            } else if port(PORT_GRE) {
                gre(body)?
            } else if port(PORT_GTPV1_U) || port(PORT_GTPV1_C) {
                (Inner::Ip, gtpv1(body)?, ENCAP_GTPV1)
            } else if port(PORT_TEREDO) || looks_like_teredo(body) {
                (Inner::Ip, teredo(body)?, ENCAP_TEREDO)
            } else if port(PORT_AYIYA) || looks_like_ayiya(body) {
                (Inner::Ip, ayiya(body)?, ENCAP_AYIYA)
            } else {
                return None;
            };
            at(link, skip, encap)
        }
        _ => None,
    }
}

/// VXLAN: an 8-byte header, then an Ethernet frame.
fn vxlan(b: &[u8]) -> Option<usize> {
    (b.len() > 8).then_some(8)
}

/// GENEVE: version 0, options in 4-byte units, the payload named by an ethertype.
fn geneve(b: &[u8]) -> Option<(Inner, usize, u8)> {
    let first = u8_at(b, 0)?;
    if first >> 6 != 0 {
        return None;
    }
    let len = 8 + (first & 0x3f) as usize * 4;
    let link = match be16(b, 2)? {
        0x6558 => Inner::Ethernet,
        et @ (0x0800 | 0x86dd | 0x0806) => Inner::Ethertype(et),
        _ => return None,
    };
    (b.len() > len).then_some((link, len, ENCAP_GENEVE))
}

/// GRE versions 0 and 1 (RFC 2784/2890 and PPTP's RFC 2637), as Zeek accepts them: no routing, no
/// reserved flags.
fn gre(b: &[u8]) -> Option<(Inner, usize, u8)> {
    let flags = be16(b, 0)?;
    let proto = be16(b, 2)?;
    let version = flags & 0x0007;
    if flags & 0x4000 != 0 || flags & 0x0078 != 0 || version > 1 {
        return None;
    }
    let mut len = 4;
    for bit in [0x8000, 0x2000, 0x1000, 0x0080] {
        // Checksum, key, sequence number, acknowledgment (version 1): 4 bytes each.
        if flags & bit != 0 {
            len += 4;
        }
    }
    let (link, skip, encap) = if version == 1 {
        if proto != 0x880b {
            return None;
        }
        (Inner::Ppp, len, ENCAP_PPTP)
    } else {
        match proto {
            0x6558 => (Inner::Ethernet, len, ENCAP_GRE),
            // ERSPAN type II has a sequence number and an 8-byte header; type I neither.
            0x88be => (Inner::Ethernet, len + if flags & 0x1000 != 0 { 8 } else { 0 }, ENCAP_ERSPAN),
            // ERSPAN type III: 12 bytes, 8 more when its last byte's O bit says so.
            0x22eb => {
                let optional = u8_at(b, len + 11)? & 0x01 != 0;
                (Inner::Ethernet, len + if optional { 20 } else { 12 }, ENCAP_ERSPAN)
            }
            // Aruba's access points tunnel 802.11 frames.
            p if (p & 0x0f == 0 && (0x8200..=0x8370).contains(&p)) || p == 0x9000 => (Inner::Wlan, len, ENCAP_GRE),
            // Cisco MetaData in GRE: the payload's ethertype first, then version, length, option
            // and group tag.
            0x8909 => (Inner::Ethertype(be16(b, len)?), len + 8, ENCAP_GRE),
            0x0800 | 0x86dd => (Inner::Ip, len, ENCAP_GRE),
            et => (Inner::Ethertype(et), len, ENCAP_GRE),
        }
    };
    (b.len() > skip).then_some((link, skip, encap))
}

/// GTPv1-U: version 1, protocol type GTP, message G-PDU; the optional fields and the extension
/// header chain skipped; the payload must start as IP.
fn gtpv1(b: &[u8]) -> Option<usize> {
    const G_PDU: u8 = 255;
    let flags = u8_at(b, 0)?;
    if flags >> 5 != 1 || flags & 0x10 == 0 || u8_at(b, 1)? != G_PDU {
        return None;
    }
    let mut len = 8;
    if flags & 0x07 != 0 {
        // Sequence number, N-PDU number and next extension type, present together.
        len += 4;
        if flags & 0x04 != 0 {
            let mut next = u8_at(b, len - 1)?;
            // Each extension: its length in 4-byte units first, the next type last.
            for _ in 0..16 {
                if next == 0 {
                    break;
                }
                let units = u8_at(b, len)? as usize;
                if units == 0 {
                    return None;
                }
                len += units * 4;
                next = u8_at(b, len - 1)?;
            }
            if next != 0 {
                return None;
            }
        }
    }
    matches!(u8_at(b, len)? >> 4, 4 | 6).then_some(len)
}

/// Zeek's test for Teredo on any port: an IPv6 header with a Teredo (2001:0::/32) address, or an
/// origin indication (after an optional authentication header) followed by IPv6.
fn looks_like_teredo(b: &[u8]) -> bool {
    if b.len() < 40 {
        return false;
    }
    if b[0] >> 4 == 6 {
        const TEREDO_PREFIX: [u8; 4] = [0x20, 0x01, 0x00, 0x00];
        return b.get(8..12) == Some(&TEREDO_PREFIX[..]) || b.get(24..28) == Some(&TEREDO_PREFIX[..]);
    }
    b[0] == 0 && b[1] <= 1 && teredo(b).is_some()
}

/// Teredo: an optional authentication header, an optional origin indication, then IPv6 whose
/// payload length fits the datagram (a bubble may carry more). Returns the IPv6 header's offset.
fn teredo(b: &[u8]) -> Option<usize> {
    let mut at = 0;
    if be16(b, at)? == 1 {
        let (id_len, auth_len) = (u8_at(b, at + 2)? as usize, u8_at(b, at + 3)? as usize);
        at += 4 + id_len + auth_len + 8 + 1;
    }
    if be16(b, at)? == 0 {
        at += 8;
    }
    let ip = b.get(at..)?;
    if ip.len() < 40 || ip[0] >> 4 != 6 {
        return None;
    }
    let payload = be16(ip, 4)? as usize;
    const NO_NEXT_HEADER: u8 = 59;
    let bubble = ip[6] == NO_NEXT_HEADER && payload == 0;
    (40 + payload == ip.len() || (bubble && ip.len() >= 40)).then_some(at)
}

/// Zeek's test for AYIYA on any port: signature length/hash method 0x52, auth method/op 0x11.
fn looks_like_ayiya(b: &[u8]) -> bool {
    b.len() >= 3 && b[1] == 0x52 && b[2] == 0x11
}

/// AYIYA: identity and signature sized by the header; only "forward" (opcode 1) carries a packet,
/// and its next header must be IPv4 or IPv6.
fn ayiya(b: &[u8]) -> Option<usize> {
    let (first, second, op, next) = (u8_at(b, 0)?, u8_at(b, 1)?, u8_at(b, 2)?, u8_at(b, 3)?);
    let len = 8 + (1usize << (first >> 4)) + (second >> 4) as usize * 4;
    let forwards = op & 0x0f == 1 && (next == IPPROTO_IPIP || next == IPPROTO_IPV6);
    (forwards && b.len() > len).then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gre_headers_by_flags_and_version() {
        // Key and sequence number, IPv4 payload.
        let mut b = vec![0x30, 0x00, 0x08, 0x00, 0, 0, 0, 1, 0, 0, 0, 2, 0x45];
        assert_eq!(gre(&b), Some((Inner::Ip, 12, ENCAP_GRE)));
        // Routing present: refused, as Zeek does.
        b[0] = 0x40;
        assert_eq!(gre(&b), None);
        // PPTP: version 1, key, then PPP.
        let pptp = [0x30, 0x01, 0x88, 0x0b, 0, 4, 0, 1, 0, 0, 0, 7, 0xff, 0x03, 0x00, 0x21, 0x45];
        assert_eq!(gre(&pptp), Some((Inner::Ppp, 12, ENCAP_PPTP)));
        // Nothing after the header: no inner packet.
        assert_eq!(gre(&[0x00, 0x00, 0x08, 0x00]), None);
    }

    #[test]
    fn gtp_extension_chain_is_bounded_and_checked() {
        // E flag, one extension of 1 unit whose next type is 0, then IPv4.
        let b = [0x34, 0xff, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0x85, 1, 0, 0, 0, 0x45];
        assert_eq!(gtpv1(&b), Some(16));
        // An extension of length 0 would loop for ever: refused.
        let bad = [0x34, 0xff, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0x85, 0, 0, 0, 0, 0x45];
        assert_eq!(gtpv1(&bad), None);
        // Not a G-PDU (an echo request): no inner packet.
        assert_eq!(gtpv1(&[0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0x45]), None);
    }

    #[test]
    fn teredo_needs_a_consistent_ipv6_header() {
        let mut b = vec![0u8; 8 + 40 + 4];
        b[8] = 0x60;
        b[8 + 5] = 4;
        assert_eq!(teredo(&b), Some(8));
        b[8 + 5] = 5;
        assert_eq!(teredo(&b), None);
        assert_eq!(teredo(&b[..20]), None);
    }
}
