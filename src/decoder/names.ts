// Human names for the decoder's numeric codes.
import * as abi from "./abi.ts";

export const IP_PROTOCOL_NAMES: Record<number, string> = {
  0: "IPv6-HopOpt",
  1: "ICMP",
  2: "IGMP",
  4: "IPIP",
  6: "TCP",
  17: "UDP",
  33: "DCCP",
  41: "IPv6-in-IPv4",
  43: "IPv6-Route",
  44: "IPv6-Frag",
  46: "RSVP",
  47: "GRE",
  50: "ESP",
  51: "AH",
  58: "ICMPv6",
  59: "IPv6-NoNxt",
  60: "IPv6-Opts",
  88: "EIGRP",
  89: "OSPF",
  103: "PIM",
  112: "VRRP",
  115: "L2TP",
  132: "SCTP",
  135: "Mobility",
  136: "UDPLite",
  137: "MPLS-in-IP",
};

export function ipProtocolName(proto: number): string {
  return IP_PROTOCOL_NAMES[proto] ?? `IP-${proto}`;
}

export const LINKTYPE_NAMES: Record<number, string> = {
  [abi.LINKTYPE_NULL]: "NULL (BSD loopback)",
  [abi.LINKTYPE_ETHERNET]: "Ethernet",
  [abi.LINKTYPE_PPP]: "PPP",
  [abi.LINKTYPE_RAW_OPENBSD]: "Raw IP",
  [abi.LINKTYPE_RAW_BSDOS]: "Raw IP",
  [abi.LINKTYPE_PPP_HDLC]: "PPP (HDLC)",
  [abi.LINKTYPE_RAW]: "Raw IP",
  [abi.LINKTYPE_IEEE802_11]: "802.11",
  [abi.LINKTYPE_IEEE802_11_RADIOTAP]: "802.11 with radiotap",
  [abi.LINKTYPE_LOOP]: "OpenBSD loopback",
  [abi.LINKTYPE_LINUX_SLL]: "Linux cooked (SLL)",
  [abi.LINKTYPE_IPV4]: "Raw IPv4",
  [abi.LINKTYPE_IPV6]: "Raw IPv6",
  [abi.LINKTYPE_NFLOG]: "Linux NFLOG",
  [abi.LINKTYPE_PKTAP]: "Apple PKTAP",
  [abi.LINKTYPE_LINUX_SLL2]: "Linux cooked v2 (SLL2)",
};

export function linktypeName(linktype: number): string {
  return LINKTYPE_NAMES[linktype] ?? `link type ${linktype} (not decoded)`;
}

export const ETHERTYPE_NAMES: Record<number, string> = {
  0x0000: "802.3/LLC",
  0x0842: "Wake-on-LAN",
  0x22f0: "AVTP",
  0x22f3: "TRILL",
  0x6558: "Transparent Ethernet Bridging",
  0x8035: "RARP",
  0x809b: "AppleTalk",
  0x8137: "IPX",
  0x8808: "Ethernet flow control",
  0x8809: "Slow protocols (LACP)",
  0x8847: "MPLS",
  0x8863: "PPPoE discovery",
  0x8864: "PPPoE session",
  0x888e: "EAPOL (802.1X)",
  0x8892: "PROFINET",
  0x88cc: "LLDP",
  0x88e5: "MACsec",
  0x88f7: "PTP",
  0x8906: "FCoE",
  0x9000: "Ethernet loopback",
  0xffff: "other ethertypes",
};

export function ethertypeName(et: number): string {
  return ETHERTYPE_NAMES[et] ?? `ethertype 0x${et.toString(16).padStart(4, "0")}`;
}

/** Malformed reasons by code, as short keys (report JSON) and sentences (text report). */
export const MALFORMED_REASONS: Record<number, [key: string, text: string]> = {
  [abi.MAL_LINK_TRUNCATED]: ["link_truncated", "link-layer header cut short"],
  [abi.MAL_VLAN_TRUNCATED]: ["vlan_truncated", "VLAN/MPLS/PPPoE header cut short or too many tags"],
  [abi.MAL_ARP_TRUNCATED]: ["arp_truncated", "ARP header cut short"],
  [abi.MAL_IP_TRUNCATED]: ["ip_truncated", "IP header cut short"],
  [abi.MAL_IP_BAD_VERSION]: ["ip_bad_version", "IP version does not match the link layer"],
  [abi.MAL_IPV4_BAD_HEADER_LEN]: ["ipv4_bad_header_length", "IPv4 header length below 20 or past the frame"],
  [abi.MAL_IPV4_BAD_TOTAL_LEN]: ["ipv4_bad_total_length", "IPv4 total length below the header length"],
  [abi.MAL_IP_LEN_EXCEEDS_FRAME]: ["ip_length_exceeds_frame", "IP length larger than the frame"],
  [abi.MAL_IPV6_EXT_TRUNCATED]: ["ipv6_extension_truncated", "IPv6 extension header or AH cut short"],
  [abi.MAL_TCP_TRUNCATED]: ["tcp_truncated", "TCP header cut short"],
  [abi.MAL_TCP_BAD_OFFSET]: ["tcp_bad_data_offset", "TCP data offset below 5 or past the segment"],
  [abi.MAL_UDP_TRUNCATED]: ["udp_truncated", "UDP header cut short"],
  [abi.MAL_UDP_BAD_LENGTH]: ["udp_bad_length", "UDP length below 8 or past the datagram"],
  [abi.MAL_ICMP_TRUNCATED]: ["icmp_truncated", "ICMP header cut short"],
  [abi.MAL_SNAPLEN_TRUNCATED]: ["snaplen_truncated", "headers cut by the capture's snap length"],
  [abi.MAL_RECORD_INVALID]: ["invalid_record", "capture record with inconsistent fields (skipped)"],
  [abi.MAL_IPV6_BAD_PAYLOAD_LEN]: ["ipv6_bad_payload_length", "IPv6 payload length larger than the frame"],
  [abi.MAL_TUNNEL_TOO_DEEP]: ["tunnel_too_deep", "tunnels nested deeper than 4 levels"],
};

/** Encapsulations by FL_ENCAP code, named as Zeek's Tunnel::Type where Zeek has one. */
export const ENCAP_NAMES: Record<number, string> = {
  [abi.ENCAP_IP]: "ip",
  [abi.ENCAP_GRE]: "gre",
  [abi.ENCAP_ERSPAN]: "erspan",
  [abi.ENCAP_PPTP]: "pptp",
  [abi.ENCAP_VXLAN]: "vxlan",
  [abi.ENCAP_GENEVE]: "geneve",
  [abi.ENCAP_TEREDO]: "teredo",
  [abi.ENCAP_AYIYA]: "ayiya",
  [abi.ENCAP_GTPV1]: "gtpv1",
};

export const TCP_STATE_NAMES: Record<number, string> = {
  [abi.TCP_NONE]: "",
  [abi.TCP_SYN_SENT]: "syn_sent",
  [abi.TCP_SYN_RECEIVED]: "syn_received",
  [abi.TCP_ESTABLISHED]: "established",
  [abi.TCP_HALF_CLOSED]: "half_closed",
  [abi.TCP_CLOSED]: "closed",
  [abi.TCP_RESET]: "reset",
  [abi.TCP_MIDSTREAM]: "midstream",
};

export const END_REASON_NAMES: Record<number, string> = {
  [abi.END_EOF]: "end_of_capture",
  [abi.END_IDLE]: "idle_timeout",
  [abi.END_ACTIVE]: "active_timeout",
  [abi.END_FIN]: "fin",
  [abi.END_RST]: "rst",
  [abi.END_EVICTED]: "evicted",
  [abi.END_ATTEMPT]: "attempt_timeout",
};

/** TCP flags as tcpdump prints them ("S", "S.", "F.", "R", "P." ...) and as letters for exports. */
const TCP_FLAG_LETTERS: [number, string][] = [
  [0x01, "F"],
  [0x02, "S"],
  [0x04, "R"],
  [0x08, "P"],
  [0x10, "A"],
  [0x20, "U"],
  [0x40, "E"],
  [0x80, "C"],
  [0x100, "N"],
];

export function tcpFlagLetters(flags: number): string {
  return TCP_FLAG_LETTERS.filter(([bit]) => flags & bit).map(([, l]) => l).join("");
}

export const DECODER_ERRORS: Record<number, string> = {
  [abi.ERR_NOT_A_CAPTURE]: "is not a pcap or pcapng capture",
  [abi.ERR_TRUNCATED_HEADER]: "ends inside its file header",
  [abi.ERR_TRUNCATED_RECORD]: "was cut short in the middle of a packet",
  [abi.ERR_CORRUPT_RECORD]: "has a corrupt packet record",
  [abi.ERR_CORRUPT_BLOCK]: "has a corrupt pcapng block",
  [abi.ERR_UNSUPPORTED_VERSION]: "uses a pcap/pcapng version wiresight does not know",
  [abi.ERR_EMPTY]: "is empty",
};
