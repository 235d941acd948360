//! The decoded view of one packet, filled layer by layer and reused for every packet.

use crate::abi::*;
use crate::tunnel::MAX_DEPTH;

#[derive(Clone, Debug)]
pub struct Packet {
    pub frame: u64,
    pub iface: u32,
    pub linktype: u32,
    pub ts_ns: u64,
    pub caplen: u32,
    pub wirelen: u32,
    pub flags: u32,
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub ethertype: u16,
    pub vlan: [u16; 2],
    pub l3: u8,
    pub ip_proto: u8,
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub ttl: u8,
    pub ip_len: u32,
    pub ip_id: u32,
    pub sport: u16,
    pub dport: u16,
    pub tcp_flags: u16,
    pub tcp_seq: u32,
    pub tcp_ack: u32,
    pub tcp_window: u16,
    pub icmp_type: u8,
    pub icmp_code: u8,
    pub icmp_id: u16,
    /// Offset and length of the L4 payload inside the captured bytes.
    pub payload_off: u32,
    pub payload_len: u32,
    /// Offset and bytes of the transport header and its payload (the IP payload, as captured).
    pub l4_off: u32,
    pub l4_len: u32,
    pub malformed: u8,
    pub flow_id: u64,
    /// The flow's APP_* as known after this packet, and whether detection is over for it.
    pub app: u8,
    pub app_decided: bool,
    /// Final destination named by an IPv6 routing header (valid with `PF_ROUTED`).
    pub route_dst: [u8; 16],
    /// Inside tunnels: the flow ids of the tunnels' flows, outermost first (`parent_count` set).
    pub parents: [u64; MAX_DEPTH],
    pub parent_count: u8,
    /// ENCAP_* of the tunnel the packet rode in directly.
    pub encap: u8,
    /// Where a fragment's parts lie in the frame (valid with `PF_FRAGMENT`), for reassembly.
    pub frag: FragPos,
}

/// A fragment's layout: `l3_off..hdr_end` the unfragmentable part (IPv6: up to the fragment
/// header), `data_off..data_end` its share of the payload, at byte `offset` of the datagram.
#[derive(Clone, Copy, Debug, Default)]
pub struct FragPos {
    pub l3_off: u32,
    pub hdr_end: u32,
    pub data_off: u32,
    pub data_end: u32,
    pub offset: u32,
    pub more: bool,
    /// IPv6: the next-header byte naming the fragment header (from `l3_off`), and the header
    /// after the fragment header.
    pub nh_pos: u32,
    pub next: u8,
}

/// Internal flag (not in the ABI's PF_* set): `route_dst` holds the final destination.
pub const PF_ROUTED: u32 = 1 << 31;
/// Internal flag: a fragment handed to reassembly (its datagram is what Zeek's conn counts).
pub const PF_DEFRAG: u32 = 1 << 30;
/// Internal flag: a datagram rebuilt from fragments already counted in its flow.
pub const PF_REASSEMBLED: u32 = 1 << 29;
/// Internal flag: the TCP or UDP checksum is wrong (checked only when asked: Zeek's default).
pub const PF_BAD_CHECKSUM: u32 = 1 << 28;

impl Packet {
    pub fn new() -> Packet {
        Packet {
            frame: 0,
            iface: 0,
            linktype: 0,
            ts_ns: 0,
            caplen: 0,
            wirelen: 0,
            flags: 0,
            src_mac: [0; 6],
            dst_mac: [0; 6],
            ethertype: 0,
            vlan: [0; 2],
            l3: L3_NONE,
            ip_proto: 0,
            src: [0; 16],
            dst: [0; 16],
            ttl: 0,
            ip_len: 0,
            ip_id: 0,
            sport: 0,
            dport: 0,
            tcp_flags: 0,
            tcp_seq: 0,
            tcp_ack: 0,
            tcp_window: 0,
            icmp_type: 0,
            icmp_code: 0,
            icmp_id: 0,
            payload_off: 0,
            payload_len: 0,
            l4_off: 0,
            l4_len: 0,
            malformed: MAL_NONE,
            flow_id: 0,
            app: APP_UNKNOWN,
            app_decided: true,
            route_dst: [0; 16],
            parents: [0; MAX_DEPTH],
            parent_count: 0,
            encap: ENCAP_NONE,
            frag: FragPos::default(),
        }
    }

    /// Clears the per-packet fields that decoding sets conditionally.
    pub fn reset(&mut self) {
        self.flags = 0;
        self.app = APP_UNKNOWN;
        self.app_decided = true;
        self.ethertype = 0;
        self.vlan = [0; 2];
        self.l3 = L3_NONE;
        self.ip_proto = 0;
        self.src = [0; 16];
        self.dst = [0; 16];
        self.ttl = 0;
        self.ip_len = 0;
        self.ip_id = 0;
        self.sport = 0;
        self.dport = 0;
        self.tcp_flags = 0;
        self.tcp_seq = 0;
        self.tcp_ack = 0;
        self.tcp_window = 0;
        self.icmp_type = 0;
        self.icmp_code = 0;
        self.icmp_id = 0;
        self.payload_off = 0;
        self.payload_len = 0;
        self.l4_off = 0;
        self.l4_len = 0;
        self.malformed = MAL_NONE;
        self.flow_id = 0;
        self.parent_count = 0;
        self.encap = ENCAP_NONE;
    }

    /// Clears the fields of the carrier's layers before its tunnel's inner packet is decoded,
    /// keeping what belongs to the frame (time, lengths, truncation, the first malformation).
    pub fn begin_inner(&mut self, encap: u8) {
        let keep = self.flags & (PF_TRUNCATED | PF_MAC);
        let (malformed, depth) = (self.malformed, self.parent_count);
        self.reset();
        self.flags = keep;
        self.malformed = malformed;
        self.parent_count = depth + 1;
        self.encap = encap;
    }

    /// Bytes the packet adds to its flow: the frame, or inside a tunnel its own IP packet (the
    /// inner packet has no frame of its own; Zeek counts inner flows the same way).
    #[inline]
    pub fn flow_bytes(&self) -> u64 {
        if self.parent_count == 0 {
            self.wirelen as u64
        } else {
            self.ip_len as u64
        }
    }

    /// Records the first malformation found; later layers keep it.
    #[inline]
    pub fn mark(&mut self, reason: u8) {
        if self.malformed == MAL_NONE {
            self.malformed = reason;
        }
    }

    /// A header cut short: blame the snap length when the capture kept only part of the packet.
    #[inline]
    pub fn mark_short(&mut self, reason: u8) {
        let reason = if self.flags & PF_TRUNCATED != 0 { MAL_SNAPLEN_TRUNCATED } else { reason };
        self.mark(reason);
    }

    #[inline]
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}

impl Default for Packet {
    fn default() -> Packet {
        Packet::new()
    }
}
