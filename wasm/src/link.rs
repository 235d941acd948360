//! Link layers: find where the network header starts and what it is.

use crate::abi::*;
use crate::bytes::{be16, le16, le32, u8_at, Order};
use crate::packet::Packet;

/// What the link layer hands to the network layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Net {
    /// IP, version taken from the first nibble (raw IP link types, MPLS, NFLOG).
    Ip,
    Ipv4,
    Ipv6,
    Arp,
    /// A non-IP ethertype or an 802.3/LLC frame (ethertype 0).
    Other(u16),
    /// The link header itself was cut short or malformed.
    Broken,
    Unsupported,
}

const ETH_IPV4: u16 = 0x0800;
const ETH_ARP: u16 = 0x0806;
const ETH_RARP: u16 = 0x8035;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;
const ETH_QINQ_OLD: u16 = 0x9100;
const ETH_IPV6: u16 = 0x86dd;
const ETH_MPLS: u16 = 0x8847;
const ETH_MPLS_MC: u16 = 0x8848;
const ETH_PPPOE: u16 = 0x8864;
const ETH_ARISTA: u16 = 0xd28b;
/// Provider backbone bridging (802.1ah): a 4-byte I-TAG, then the customer's MACs and ethertype.
const ETH_PBB: u16 = 0x88e7;
/// Cisco VN-Tag: 4 bytes of tag, then the ethertype.
const ETH_VNTAG: u16 = 0x8926;
/// Cisco FabricPath: a 2-byte FTag/TTL after the ethertype, then the whole original Ethernet frame.
const ETH_FABRICPATH: u16 = 0x8903;
/// Cisco MetaData (a security group tag): 8 bytes ending with the next ethertype.
const ETH_CISCO_METADATA: u16 = 0x8909;

/// Most stacked tags/labels followed before giving up on a frame.
const MAX_TAGS: usize = 8;

pub fn decode(linktype: u32, d: &[u8], p: &mut Packet) -> (Net, usize) {
    match linktype {
        LINKTYPE_ETHERNET => ethernet(d, 0, p),
        LINKTYPE_RAW | LINKTYPE_RAW_OPENBSD | LINKTYPE_RAW_BSDOS => (Net::Ip, 0),
        // These two name the version: a packet of the other version is malformed, not reinterpreted.
        LINKTYPE_IPV4 => {
            p.ethertype = ETH_IPV4;
            (Net::Ipv4, 0)
        }
        LINKTYPE_IPV6 => {
            p.ethertype = ETH_IPV6;
            (Net::Ipv6, 0)
        }
        LINKTYPE_NULL => bsd_loopback(d, p, None),
        LINKTYPE_LOOP => bsd_loopback(d, p, Some(Order::Big)),
        LINKTYPE_LINUX_SLL => sll(d, p),
        LINKTYPE_LINUX_SLL2 => sll2(d, p),
        LINKTYPE_PPP | LINKTYPE_PPP_HDLC => ppp(d, 0, p),
        LINKTYPE_NFLOG => nflog(d, p),
        LINKTYPE_PKTAP => pktap(d, p),
        LINKTYPE_IEEE802_11 => wlan(d, 0, p),
        LINKTYPE_IEEE802_11_RADIOTAP => radiotap(d, p),
        _ => (Net::Unsupported, 0),
    }
}

/// Apple's PKTAP header (xnu bsd/net/pktap.h:89-114 struct pktap_header, little-endian): its
/// length (pth_length) and at 8 the DLT of the packet after it, as macOS's `-i pktap` gives it.
pub const PKTAP_MIN_HEADER: usize = 105;
pub const PKTAP_FLAGS: usize = 36;
pub const PKTAP_PID: usize = 52;
pub const PKTAP_COMM: usize = 56;
/// pktap.h:204-205 PTH_FLAG_DIR_IN and PTH_FLAG_DIR_OUT.
pub const PTH_FLAG_DIR_IN: u32 = 1;

fn pktap(d: &[u8], p: &mut Packet) -> (Net, usize) {
    let (len, dlt) = match (le32(d, 0), le32(d, 8)) {
        (Some(len), Some(dlt)) if len as usize >= PKTAP_MIN_HEADER && len as usize <= d.len() => (len as usize, dlt),
        _ => return short(p, MAL_LINK_TRUNCATED),
    };
    // The DLTs macOS interfaces have (Darwin's values): Ethernet, loopback and utun, raw IP, PPP.
    let inner = match dlt {
        0 => LINKTYPE_NULL,
        1 => LINKTYPE_ETHERNET,
        9 => LINKTYPE_PPP,
        12 => LINKTYPE_RAW,
        108 => LINKTYPE_LOOP,
        _ => return (Net::Unsupported, 0),
    };
    let (net, off) = decode(inner, &d[len..], p);
    (net, off + len)
}

/// The process a PKTAP header names: pid, command (pth_comm, up to 16 bytes) and whether the
/// packet came in; None when the header is cut short or names no process.
pub fn pktap_process(d: &[u8]) -> Option<(u32, &[u8], bool)> {
    let len = le32(d, 0)? as usize;
    if len < PKTAP_MIN_HEADER || len > d.len() {
        return None;
    }
    let comm = &d[PKTAP_COMM..PKTAP_COMM + 17];
    let comm = &comm[..comm.iter().position(|&b| b == 0).unwrap_or(16)];
    let pid = le32(d, PKTAP_PID)?;
    if comm.is_empty() || pid as i32 <= 0 {
        return None;
    }
    Some((pid, comm, le32(d, PKTAP_FLAGS)? & 3 == PTH_FLAG_DIR_IN))
}

/// The link layer a tunnel hands its inner packet to (see tunnel.rs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inner {
    Ethernet,
    /// IP, version taken from the first nibble.
    Ip,
    /// A payload named by an ethertype (GRE, GENEVE).
    Ethertype(u16),
    /// PPP with or without HDLC address/control bytes (PPTP's enhanced GRE).
    Ppp,
    /// An 802.11 frame (Aruba's GRE).
    Wlan,
}

/// Decodes the link layer of a tunnel's inner packet starting at `off`.
pub fn decode_inner(inner: Inner, d: &[u8], off: usize, p: &mut Packet) -> (Net, usize) {
    match inner {
        Inner::Ethernet => ethernet(d, off, p),
        Inner::Ip => (Net::Ip, off),
        Inner::Ethertype(et) => ethertype(et, d, off, p),
        Inner::Ppp => ppp(d, off, p),
        Inner::Wlan => wlan(d, off, p),
    }
}

fn short(p: &mut Packet, reason: u8) -> (Net, usize) {
    p.mark_short(reason);
    (Net::Broken, 0)
}

fn ethernet(d: &[u8], off: usize, p: &mut Packet) -> (Net, usize) {
    let et = match be16(d, off + 12) {
        Some(et) => et,
        None => return short(p, MAL_LINK_TRUNCATED),
    };
    macs(d, off, p);
    ethertype(et, d, off + 14, p)
}

/// Destination and source MAC of an Ethernet header at `off` (the caller checked its length).
fn macs(d: &[u8], off: usize, p: &mut Packet) {
    p.dst_mac.copy_from_slice(&d[off..off + 6]);
    p.src_mac.copy_from_slice(&d[off + 6..off + 12]);
    p.flags |= PF_MAC;
}

/// Follows an ethertype through VLAN tags, MPLS labels, PPPoE and LLC/SNAP to the network layer.
fn ethertype(mut et: u16, d: &[u8], mut off: usize, p: &mut Packet) -> (Net, usize) {
    let mut tags = 0usize;
    loop {
        match et {
            ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD => {
                let (tci, next) = match (be16(d, off), be16(d, off + 2)) {
                    (Some(t), Some(n)) => (t, n),
                    _ => return short(p, MAL_VLAN_TRUNCATED),
                };
                if tags == 0 {
                    p.vlan[0] = tci & 0x0fff;
                    p.flags |= PF_VLAN_OUTER;
                } else if tags == 1 {
                    p.vlan[1] = tci & 0x0fff;
                    p.flags |= PF_VLAN_INNER;
                }
                tags += 1;
                if tags > MAX_TAGS {
                    return short(p, MAL_VLAN_TRUNCATED);
                }
                et = next;
                off += 4;
            }
            ETH_MPLS | ETH_MPLS_MC => {
                // Pop labels to the bottom of the stack; the payload's first nibble says IPv4/IPv6.
                loop {
                    let label = match crate::bytes::be32(d, off) {
                        Some(l) => l,
                        None => return short(p, MAL_VLAN_TRUNCATED),
                    };
                    off += 4;
                    tags += 1;
                    if label & 0x100 != 0 {
                        break;
                    }
                    if tags > MAX_TAGS {
                        return short(p, MAL_VLAN_TRUNCATED);
                    }
                }
                p.ethertype = et;
                return match u8_at(d, off).map(|b| b >> 4) {
                    Some(4) | Some(6) => (Net::Ip, off),
                    Some(_) => (Net::Other(et), off),
                    None => short(p, MAL_VLAN_TRUNCATED),
                };
            }
            ETH_ARISTA => {
                // Arista vendor header: subtype, version, then a 64- or 48-bit timestamp.
                let (subtype, version) = match (be16(d, off), be16(d, off + 2)) {
                    (Some(s), Some(v)) => (s, v),
                    _ => return short(p, MAL_VLAN_TRUNCATED),
                };
                let ts_len = match version & 0x00f0 {
                    0x0010 => 8,
                    0x0020 => 6,
                    _ => 0,
                };
                if subtype != 1 || ts_len == 0 {
                    break;
                }
                et = match be16(d, off + 4 + ts_len) {
                    Some(e) => e,
                    None => return short(p, MAL_VLAN_TRUNCATED),
                };
                off += 4 + ts_len + 2;
                tags += 1;
                if tags > MAX_TAGS {
                    return short(p, MAL_VLAN_TRUNCATED);
                }
            }
            ETH_PBB | ETH_FABRICPATH => {
                // Both carry a whole customer Ethernet header after their own 4 (PBB) or 2 bytes.
                let at = off + if et == ETH_PBB { 4 } else { 2 };
                et = match be16(d, at + 12) {
                    Some(e) => e,
                    None => return short(p, MAL_VLAN_TRUNCATED),
                };
                macs(d, at, p);
                off = at + 14;
                tags += 1;
                if tags > MAX_TAGS {
                    return short(p, MAL_VLAN_TRUNCATED);
                }
            }
            ETH_VNTAG | ETH_CISCO_METADATA => {
                let len = if et == ETH_VNTAG { 6 } else { 8 };
                et = match be16(d, off + len - 2) {
                    Some(e) => e,
                    None => return short(p, MAL_VLAN_TRUNCATED),
                };
                off += len;
                tags += 1;
                if tags > MAX_TAGS {
                    return short(p, MAL_VLAN_TRUNCATED);
                }
            }
            ETH_PPPOE => {
                if d.len() < off + 6 {
                    return short(p, MAL_VLAN_TRUNCATED);
                }
                p.ethertype = et;
                return ppp_protocol(d, off + 6, p);
            }
            _ if et <= 1500 => return llc(d, off, p),
            _ => break,
        }
    }
    p.ethertype = et;
    (by_ethertype(et), off)
}

fn by_ethertype(et: u16) -> Net {
    match et {
        ETH_IPV4 => Net::Ipv4,
        ETH_IPV6 => Net::Ipv6,
        ETH_ARP | ETH_RARP => Net::Arp,
        other => Net::Other(other),
    }
}

/// 802.3 length field: LLC, and SNAP carrying an ethertype.
fn llc(d: &[u8], off: usize, p: &mut Packet) -> (Net, usize) {
    let is_snap = d.get(off..off + 3) == Some(&[0xaa, 0xaa, 0x03][..]);
    if is_snap {
        if let Some(et) = be16(d, off + 6) {
            if et > 1500 && et != ETH_VLAN && et != ETH_QINQ {
                p.ethertype = et;
                return (by_ethertype(et), off + 8);
            }
        }
    }
    p.ethertype = 0;
    (Net::Other(0), off)
}

/// Radiotap: a little-endian header length, then an 802.11 frame.
fn radiotap(d: &[u8], p: &mut Packet) -> (Net, usize) {
    match le16(d, 2) {
        Some(len) if (len as usize) >= 8 && (len as usize) < d.len() => wlan(d, len as usize, p),
        _ => short(p, MAL_LINK_TRUNCATED),
    }
}

/// 802.11: data frames carrying LLC/SNAP (as Zeek reads them). Management and control frames,
/// null-data and protected (encrypted) frames have no network layer to read. Of an A-MSDU, the
/// first subframe is read.
fn wlan(d: &[u8], off: usize, p: &mut Packet) -> (Net, usize) {
    let (fc, flags) = match (u8_at(d, off), u8_at(d, off + 1)) {
        (Some(fc), Some(fl)) => (fc, fl),
        _ => return short(p, MAL_LINK_TRUNCATED),
    };
    let is_data = fc & 0x0c == 0x08;
    if !is_data || fc & 0x40 != 0 || flags & 0x40 != 0 {
        return (Net::Other(0), off);
    }
    let four_addr = flags & 0x03 == 0x03;
    let mut hdr = if four_addr { 30 } else { 24 };
    let mut amsdu = false;
    if fc & 0x80 != 0 {
        // QoS data: a 2-byte QoS control, whose bit 7 marks an A-MSDU.
        amsdu = match u8_at(d, off + hdr) {
            Some(q) => q & 0x80 != 0,
            None => return short(p, MAL_LINK_TRUNCATED),
        };
        hdr += 2;
        // The order bit on a QoS frame adds a 4-byte HT control.
        if flags & 0x80 != 0 {
            hdr += 4;
        }
    }
    if d.len() < off + hdr {
        return short(p, MAL_LINK_TRUNCATED);
    }
    // Addresses by To DS / From DS: (destination, source).
    let (da, sa) = match flags & 0x03 {
        0 => (4, 10),
        1 => (16, 10),
        2 => (4, 16),
        _ => (16, 24),
    };
    p.dst_mac.copy_from_slice(&d[off + da..off + da + 6]);
    p.src_mac.copy_from_slice(&d[off + sa..off + sa + 6]);
    p.flags |= PF_MAC;
    // An A-MSDU subframe header: destination, source, length.
    let llc_at = off + hdr + if amsdu { 14 } else { 0 };
    let is_snap = d.get(llc_at..llc_at + 6) == Some(&[0xaa, 0xaa, 0x03, 0, 0, 0][..]);
    match be16(d, llc_at + 6) {
        Some(et) if is_snap => ethertype(et, d, llc_at + 8, p),
        _ if is_snap => short(p, MAL_LINK_TRUNCATED),
        _ => (Net::Other(0), llc_at),
    }
}

/// BSD loopback: a 4-byte address family, in the writer's byte order (NULL) or big-endian (LOOP).
fn bsd_loopback(d: &[u8], p: &mut Packet, order: Option<Order>) -> (Net, usize) {
    let raw = match d.get(0..4) {
        Some(b) => [b[0], b[1], b[2], b[3]],
        None => return short(p, MAL_LINK_TRUNCATED),
    };
    let family = match order {
        Some(_) => u32::from_be_bytes(raw),
        // NULL uses host order of the capturing machine; a family is small, so the
        // non-zero half tells the order.
        None => {
            let le = u32::from_le_bytes(raw);
            if le & 0xffff_0000 == 0 {
                le
            } else {
                u32::from_be_bytes(raw)
            }
        }
    };
    match family {
        2 => (Net::Ipv4, 4),
        // AF_INET6 differs by OS: Linux 10, BSDs 24/28/30.
        10 | 24 | 28 | 30 => (Net::Ipv6, 4),
        _ => (Net::Other(0), 4),
    }
}

fn sll(d: &[u8], p: &mut Packet) -> (Net, usize) {
    if d.len() < 16 {
        return short(p, MAL_LINK_TRUNCATED);
    }
    let arphrd = be16(d, 2).unwrap_or(0);
    let addr_len = be16(d, 4).unwrap_or(0) as usize;
    if arphrd == 1 && addr_len == 6 {
        p.src_mac.copy_from_slice(&d[6..12]);
    }
    let proto = be16(d, 14).unwrap_or(0);
    sll_protocol(arphrd, proto, d, 16, p)
}

fn sll2(d: &[u8], p: &mut Packet) -> (Net, usize) {
    if d.len() < 20 {
        return short(p, MAL_LINK_TRUNCATED);
    }
    let proto = be16(d, 0).unwrap_or(0);
    let arphrd = be16(d, 8).unwrap_or(0);
    let addr_len = u8_at(d, 11).unwrap_or(0) as usize;
    if arphrd == 1 && addr_len == 6 {
        p.src_mac.copy_from_slice(&d[12..18]);
    }
    sll_protocol(arphrd, proto, d, 20, p)
}

/// The SLL protocol field is an ethertype, except for a few Linux-internal values.
fn sll_protocol(arphrd: u16, proto: u16, d: &[u8], off: usize, p: &mut Packet) -> (Net, usize) {
    const ARPHRD_IPGRE: u16 = 778;
    const ARPHRD_NETLINK: u16 = 824;
    if arphrd == ARPHRD_NETLINK {
        return (Net::Other(proto), off);
    }
    if arphrd == ARPHRD_IPGRE && proto < 0x0600 {
        return (Net::Other(proto), off);
    }
    match proto {
        // 0x0004: 802.2 LLC frames; 0x0001: Novell 802.3.
        0x0004 | 0x0001 => llc(d, off, p),
        et if et > 1500 => ethertype(et, d, off, p),
        other => {
            p.ethertype = other;
            (Net::Other(other), off)
        }
    }
}

/// PPP with or without HDLC address/control bytes and with protocol-field compression.
fn ppp(d: &[u8], off: usize, p: &mut Packet) -> (Net, usize) {
    let off = if d.get(off..off + 2) == Some(&[0xff, 0x03][..]) { off + 2 } else { off };
    ppp_protocol(d, off, p)
}

fn ppp_protocol(d: &[u8], off: usize, p: &mut Packet) -> (Net, usize) {
    let first = match u8_at(d, off) {
        Some(b) => b,
        None => return short(p, MAL_LINK_TRUNCATED),
    };
    // An odd first byte is a compressed one-byte protocol field.
    let (proto, len) = if first & 1 == 1 {
        (first as u16, 1)
    } else {
        match be16(d, off) {
            Some(v) => (v, 2),
            None => return short(p, MAL_LINK_TRUNCATED),
        }
    };
    match proto {
        0x0021 => (Net::Ipv4, off + len),
        0x0057 => (Net::Ipv6, off + len),
        other => (Net::Other(other), off + len),
    }
}

/// NFLOG: a 4-byte header, then TLVs whose lengths are in host byte order; NFULA_PAYLOAD holds the packet.
fn nflog(d: &[u8], p: &mut Packet) -> (Net, usize) {
    const NFULA_PAYLOAD: u16 = 9;
    if d.len() < 4 {
        return short(p, MAL_LINK_TRUNCATED);
    }
    let mut off = 4usize;
    for _ in 0..64 {
        let (len, kind) = match (le16(d, off), le16(d, off + 2)) {
            (Some(l), Some(t)) => (l as usize, t & 0x7fff),
            _ => break,
        };
        if len < 4 || off + len > d.len() {
            break;
        }
        if kind == NFULA_PAYLOAD {
            return (Net::Ip, off + 4);
        }
        off += (len + 3) & !3;
    }
    (Net::Other(0), off.min(d.len()))
}
