// Constants of the decoder ABI. wasm/ABI.md is the one description; tests/abi_test.ts fails
// when a name or value here differs from it.

// Version
export const ABI_VERSION = 1;

// Sizes and status codes
export const SCRATCH_BYTES = 65536;
export const EVENT_HEADER = 8;
export const STATUS_NEED_INPUT = 0;
export const STATUS_OUT_FULL = 1;
export const STATUS_NEED_BPF = 2;
export const STATUS_ERROR = 3;
export const STATUS_DONE = 4;

// Errors (ws_error_code)
export const ERR_NONE = 0;
export const ERR_NOT_A_CAPTURE = 1;
export const ERR_TRUNCATED_HEADER = 2;
export const ERR_TRUNCATED_RECORD = 3;
export const ERR_CORRUPT_RECORD = 4;
export const ERR_CORRUPT_BLOCK = 5;
export const ERR_UNSUPPORTED_VERSION = 6;
export const ERR_EMPTY = 7;

// Event types
export const EV_PACKET = 1;
export const EV_FLOW = 2;
export const EV_INTERFACE = 3;
export const EV_TOP = 4;
export const EV_NAME = 5;
export const EV_IFSTATS = 6;

// PACKET event (EV_PACKET)
export const PKT_TS_SEC = 8;
export const PKT_TS_NSEC = 16;
export const PKT_IFACE = 20;
export const PKT_CAPLEN = 24;
export const PKT_WIRELEN = 28;
export const PKT_LINKTYPE = 32;
export const PKT_ETHERTYPE = 34;
export const PKT_VLAN_OUTER = 36;
export const PKT_VLAN_INNER = 38;
export const PKT_L3 = 40;
export const PKT_IP_PROTO = 41;
export const PKT_MALFORMED = 42;
export const PKT_TTL = 43;
export const PKT_FLAGS = 44;
export const PKT_SRC = 48;
export const PKT_DST = 64;
export const PKT_SPORT = 80;
export const PKT_DPORT = 82;
export const PKT_TCP_FLAGS = 84;
export const PKT_ICMP_TYPE = 86;
export const PKT_ICMP_CODE = 87;
export const PKT_FLOW_ID = 88;
export const PKT_SRC_MAC = 96;
export const PKT_DST_MAC = 102;
export const PKT_PAYLOAD_COPIED = 108;
export const PKT_TCP_WINDOW = 110;
export const PKT_IP_LEN = 112;
export const PKT_PAYLOAD_OFF = 116;
export const PKT_PAYLOAD_LEN = 120;
export const PKT_TCP_SEQ = 124;
export const PKT_TCP_ACK = 128;
export const PKT_ICMP_ID = 132;
export const PKT_RESERVED = 134;
export const PKT_FRAME = 136;
export const PKT_PAYLOAD = 144;

// Packet flags (PKT_FLAGS)
export const PF_FRAGMENT = 1;
export const PF_FIRST_FRAGMENT = 2;
export const PF_FROM_RESPONDER = 4;
export const PF_L4 = 8;
export const PF_PORTS = 16;
export const PF_TRUNCATED = 32;
export const PF_MAC = 64;
export const PF_VLAN_OUTER = 128;
export const PF_VLAN_INNER = 256;
export const PF_LOOPBACK = 512;

// L3 kinds (PKT_L3)
export const L3_NONE = 0;
export const L3_IPV4 = 4;
export const L3_IPV6 = 6;
export const L3_ARP = 1;
export const L3_OTHER = 2;
export const L3_UNSUPPORTED_LINK = 3;

// Malformed reasons (PKT_MALFORMED and the STAT_MALFORMED table)
export const MAL_NONE = 0;
export const MAL_LINK_TRUNCATED = 1;
export const MAL_VLAN_TRUNCATED = 2;
export const MAL_ARP_TRUNCATED = 3;
export const MAL_IP_TRUNCATED = 4;
export const MAL_IP_BAD_VERSION = 5;
export const MAL_IPV4_BAD_HEADER_LEN = 6;
export const MAL_IPV4_BAD_TOTAL_LEN = 7;
export const MAL_IP_LEN_EXCEEDS_FRAME = 8;
export const MAL_IPV6_EXT_TRUNCATED = 9;
export const MAL_TCP_TRUNCATED = 10;
export const MAL_TCP_BAD_OFFSET = 11;
export const MAL_UDP_TRUNCATED = 12;
export const MAL_UDP_BAD_LENGTH = 13;
export const MAL_ICMP_TRUNCATED = 14;
export const MAL_SNAPLEN_TRUNCATED = 16;
export const MAL_RECORD_INVALID = 17;
export const MAL_IPV6_BAD_PAYLOAD_LEN = 18;
export const MAL_COUNT = 19;

// Flow event (EV_FLOW)
export const FL_ID = 8;
export const FL_FIRST_SEC = 16;
export const FL_FIRST_NSEC = 24;
export const FL_LAST_NSEC = 28;
export const FL_LAST_SEC = 32;
export const FL_IPVER = 40;
export const FL_PROTO = 41;
export const FL_END = 42;
export const FL_TCP_STATE = 43;
export const FL_FLAGS_A = 44;
export const FL_FLAGS_B = 46;
export const FL_ADDR_A = 48;
export const FL_ADDR_B = 64;
export const FL_PORT_A = 80;
export const FL_PORT_B = 82;
export const FL_VLAN = 84;
export const FL_RECORD_SEQ = 86;
export const FL_PKTS_A = 88;
export const FL_BYTES_A = 96;
export const FL_PKTS_B = 104;
export const FL_BYTES_B = 112;
export const FL_IFACE = 120;
export const FL_FRAGMENTS = 124;
export const FL_SERVICE_PORT = 128;
export const FL_SIZE = 136;

// Flow end reasons (FL_END)
export const END_EOF = 0;
export const END_IDLE = 1;
export const END_ACTIVE = 2;
export const END_FIN = 3;
export const END_RST = 4;
export const END_EVICTED = 5;

// TCP states (FL_TCP_STATE)
export const TCP_NONE = 0;
export const TCP_SYN_SENT = 1;
export const TCP_SYN_RECEIVED = 2;
export const TCP_ESTABLISHED = 3;
export const TCP_HALF_CLOSED = 4;
export const TCP_CLOSED = 5;
export const TCP_RESET = 6;
export const TCP_MIDSTREAM = 7;

// INTERFACE event (EV_INTERFACE)
export const IF_ID = 8;
export const IF_LINKTYPE = 12;
export const IF_SNAPLEN = 16;
export const IF_TS_UNITS = 20;
export const IF_NAME_LEN = 24;
export const IF_FORMAT = 28;
export const IF_NAME = 32;

// NAME event (EV_NAME)
export const NM_IPVER = 8;
export const NM_NAME_LEN = 10;
export const NM_ADDR = 16;
export const NM_NAME = 32;

// IFSTATS event (EV_IFSTATS)
export const IS_IFACE = 8;
export const IS_HAS = 12;
export const IS_RECV = 16;
export const IS_DROP = 24;
export const IS_OSDROP = 32;
export const IS_SIZE = 40;
export const IS_HAS_RECV = 1;
export const IS_HAS_DROP = 2;
export const IS_HAS_OSDROP = 4;

// TOP event (EV_TOP)
export const TOP_TABLE = 8;
export const TOP_IPVER = 9;
export const TOP_PROTO = 10;
export const TOP_HAS_PORT = 11;
export const TOP_PORT = 12;
export const TOP_ADDR_A = 16;
export const TOP_ADDR_B = 32;
export const TOP_PKTS_A = 48;
export const TOP_BYTES_A = 56;
export const TOP_PKTS_B = 64;
export const TOP_BYTES_B = 72;
export const TOP_FLOWS = 80;
export const TOP_FIRST_SEC = 88;
export const TOP_FIRST_NSEC = 96;
export const TOP_LAST_NSEC = 100;
export const TOP_LAST_SEC = 104;
export const TOP_SIZE = 112;
export const TOP_HOSTS = 1;
export const TOP_PAIRS = 2;
export const TOP_SERVICES = 3;

// Protocol filter bits (ws_filter_protocols)
export const PROTO_TCP = 1;
export const PROTO_UDP = 2;
export const PROTO_ICMP = 4;
export const PROTO_ICMPV6 = 8;
export const PROTO_ARP = 16;
export const PROTO_IPV4 = 32;
export const PROTO_IPV6 = 64;
export const PROTO_OTHER = 128;

// Statistics (ws_stats_ptr: f64 array)
export const ST_RECORDS = 0;
export const ST_PACKETS = 1;
export const ST_BYTES = 2;
export const ST_CAPTURED_BYTES = 3;
export const ST_FILTERED = 4;
export const ST_FIRST_SEC = 5;
export const ST_FIRST_NSEC = 6;
export const ST_LAST_SEC = 7;
export const ST_LAST_NSEC = 8;
export const ST_TRUNCATED = 9;
export const ST_IPV4_PKTS = 10;
export const ST_IPV4_BYTES = 11;
export const ST_IPV6_PKTS = 12;
export const ST_IPV6_BYTES = 13;
export const ST_ARP_PKTS = 14;
export const ST_ARP_BYTES = 15;
export const ST_OTHER_L3_PKTS = 16;
export const ST_OTHER_L3_BYTES = 17;
export const ST_UNSUPPORTED_LINK_PKTS = 18;
export const ST_UNSUPPORTED_LINK_BYTES = 19;
export const ST_VLAN_PKTS = 20;
export const ST_IPV4_FRAGMENTS = 21;
export const ST_IPV6_FRAGMENTS = 22;
export const ST_FRAGMENTS_UNMATCHED = 23;
export const ST_FLOWS_CREATED = 24;
export const ST_FLOW_RECORDS = 25;
export const ST_FLOWS_IDLE = 26;
export const ST_FLOWS_EVICTED = 27;
export const ST_FLOWS_ACTIVE = 28;
export const ST_FLOWS_PEAK = 29;
export const ST_INTERFACES = 30;
export const ST_MALFORMED_PKTS = 31;
export const ST_NON_FIRST_FRAGMENTS = 32;
export const ST_HOSTS_FOLDED = 33;
export const ST_PAIRS_FOLDED = 34;
export const ST_SERVICES_FOLDED = 35;
export const ST_PROTO_BASE = 64;
export const ST_MALFORMED_BASE = 576;
export const ST_LINKTYPE_BASE = 640;
export const ST_ETHERTYPE_BASE = 688;
export const STATS_LEN = 784;

// Link types decoded (IF_LINKTYPE, PKT_LINKTYPE)
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_PPP = 9;
export const LINKTYPE_RAW_OPENBSD = 12;
export const LINKTYPE_RAW_BSDOS = 14;
export const LINKTYPE_PPP_HDLC = 50;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_NFLOG = 239;
export const LINKTYPE_LINUX_SLL2 = 276;
