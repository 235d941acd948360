// Constants of the decoder ABI. wasm/ABI.md is the one description; tests/abi_test.ts fails
// when a name, a value or a field's type here differs from it.
import { field } from "./layout.ts";

// Version
export const ABI_VERSION = 3;

// Sizes and status codes
export const SCRATCH_BYTES = 65536;
export const BPF_INSN_BYTES = 8;
export const STATUS_NEED_INPUT = 0;
export const STATUS_OUT_FULL = 1;
export const STATUS_NEED_BPF = 2;
export const STATUS_ERROR = 3;
export const STATUS_DONE = 4;

// Event header
export const EVENT_TYPE = field(0, "u16");
export const EVENT_RESERVED = field(2, "u16");
export const EVENT_LEN = field(4, "u32");
export const EVENT_HEADER = 8;

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
export const EV_APP = 7;
export const EV_COMMENT = 8;
export const EV_FLOW_START = 9;
export const EV_HOST_RATE = 10;

// FLOW_START event (EV_FLOW_START)
export const FS_ID = field(8, "f64");
export const FS_TS_SEC = field(16, "f64");
export const FS_TS_NSEC = field(24, "u32");
export const FS_TCP_FLAGS = field(28, "u16");
export const FS_IPVER = field(30, "u8");
export const FS_PROTO = field(31, "u8");
export const FS_ADDR_A = field(32, "u8[16]");
export const FS_ADDR_B = field(48, "u8[16]");
export const FS_PORT_A = field(64, "u16");
export const FS_PORT_B = field(66, "u16");
export const FS_WIRELEN = field(68, "u32");
export const FS_SIZE = 72;

// HOST_RATE event (EV_HOST_RATE)
export const HR_TS_SEC = field(8, "f64");
export const HR_TS_NSEC = field(16, "u32");
export const HR_WINDOW_MS = field(20, "u32");
export const HR_IPVER = field(24, "u8");
export const HR_ADDR = field(32, "u8[16]");
export const HR_PACKETS = field(48, "f64");
export const HR_BYTES = field(56, "f64");
export const HR_SYNS = field(64, "f64");
export const HR_SIZE = 72;
export const HR_HOSTS = 4096;
export const HR_EVENTS_PER_WINDOW = 64;

// PACKET event (EV_PACKET)
export const PKT_TS_SEC = field(8, "f64");
export const PKT_TS_NSEC = field(16, "u32");
export const PKT_IFACE = field(20, "u32");
export const PKT_CAPLEN = field(24, "u32");
export const PKT_WIRELEN = field(28, "u32");
export const PKT_LINKTYPE = field(32, "u16");
export const PKT_ETHERTYPE = field(34, "u16");
export const PKT_VLAN_OUTER = field(36, "u16");
export const PKT_VLAN_INNER = field(38, "u16");
export const PKT_L3 = field(40, "u8");
export const PKT_IP_PROTO = field(41, "u8");
export const PKT_MALFORMED = field(42, "u8");
export const PKT_TTL = field(43, "u8");
export const PKT_FLAGS = field(44, "u32");
export const PKT_SRC = field(48, "u8[16]");
export const PKT_DST = field(64, "u8[16]");
export const PKT_SPORT = field(80, "u16");
export const PKT_DPORT = field(82, "u16");
export const PKT_TCP_FLAGS = field(84, "u16");
export const PKT_ICMP_TYPE = field(86, "u8");
export const PKT_ICMP_CODE = field(87, "u8");
export const PKT_FLOW_ID = field(88, "f64");
export const PKT_SRC_MAC = field(96, "u8[6]");
export const PKT_DST_MAC = field(102, "u8[6]");
export const PKT_PAYLOAD_COPIED = field(108, "u16");
export const PKT_TCP_WINDOW = field(110, "u16");
export const PKT_IP_LEN = field(112, "u32");
export const PKT_PAYLOAD_OFF = field(116, "u32");
export const PKT_PAYLOAD_LEN = field(120, "u32");
export const PKT_TCP_SEQ = field(124, "u32");
export const PKT_TCP_ACK = field(128, "u32");
export const PKT_ICMP_ID = field(132, "u16");
export const PKT_APP = field(134, "u8");
export const PKT_APP_DECIDED = field(135, "u8");
export const PKT_FRAME = field(136, "f64");
export const PKT_PAYLOAD = field(144, "u8[]");

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
export const MAL_TUNNEL_TOO_DEEP = 19;
export const MAL_COUNT = 20;

// Flow event (EV_FLOW)
export const FL_ID = field(8, "f64");
export const FL_FIRST_SEC = field(16, "f64");
export const FL_FIRST_NSEC = field(24, "u32");
export const FL_LAST_NSEC = field(28, "u32");
export const FL_LAST_SEC = field(32, "f64");
export const FL_IPVER = field(40, "u8");
export const FL_PROTO = field(41, "u8");
export const FL_END = field(42, "u8");
export const FL_TCP_STATE = field(43, "u8");
export const FL_FLAGS_A = field(44, "u16");
export const FL_FLAGS_B = field(46, "u16");
export const FL_ADDR_A = field(48, "u8[16]");
export const FL_ADDR_B = field(64, "u8[16]");
export const FL_PORT_A = field(80, "u16");
export const FL_PORT_B = field(82, "u16");
export const FL_VLAN = field(84, "u16");
export const FL_RECORD_SEQ = field(86, "u16");
export const FL_PKTS_A = field(88, "f64");
export const FL_BYTES_A = field(96, "f64");
export const FL_PKTS_B = field(104, "f64");
export const FL_BYTES_B = field(112, "f64");
export const FL_IFACE = field(120, "u32");
export const FL_FRAGMENTS = field(124, "u32");
export const FL_SERVICE_PORT = field(128, "u16");
export const FL_APP = field(130, "u8");
export const FL_APP_SOURCE = field(131, "u8");
export const FL_CONN = field(132, "u8");
export const FL_ORIG_STATE = field(133, "u8");
export const FL_RESP_STATE = field(134, "u8");
export const FL_HISTORY_LEN = field(135, "u8");
export const FL_ORIG_IPBYTES = field(136, "f64");
export const FL_RESP_IPBYTES = field(144, "f64");
export const FL_ORIG_SIZE = field(152, "f64");
export const FL_RESP_SIZE = field(160, "f64");
export const FL_CONN_T1_SEC = field(168, "f64");
export const FL_CONN_T1_NSEC = field(176, "u32");
export const FL_HISTORY = field(180, "u8[24]");
export const FL_ORIG_PKTS = field(208, "f64");
export const FL_RESP_PKTS = field(216, "f64");
export const FL_CONN_T0_SEC = field(224, "f64");
export const FL_CONN_T0_NSEC = field(232, "u32");
export const FL_PARENT_COUNT = field(236, "u8");
export const FL_ENCAP = field(237, "u8");
export const FL_PARENT_0 = field(240, "f64");
export const FL_PARENT_1 = field(248, "f64");
export const FL_PARENT_2 = field(256, "f64");
export const FL_PARENT_3 = field(264, "f64");
export const FL_SIZE = 272;

// Encapsulations (FL_ENCAP)
export const ENCAP_NONE = 0;
export const ENCAP_IP = 1;
export const ENCAP_GRE = 2;
export const ENCAP_ERSPAN = 3;
export const ENCAP_PPTP = 4;
export const ENCAP_VXLAN = 5;
export const ENCAP_GENEVE = 6;
export const ENCAP_TEREDO = 7;
export const ENCAP_AYIYA = 8;
export const ENCAP_GTPV1 = 9;

// Flow end reasons (FL_END)
export const END_EOF = 0;
export const END_IDLE = 1;
export const END_ACTIVE = 2;
export const END_FIN = 3;
export const END_RST = 4;
export const END_EVICTED = 5;
export const END_ATTEMPT = 6;

// TCP states (FL_TCP_STATE)
export const TCP_NONE = 0;
export const TCP_SYN_SENT = 1;
export const TCP_SYN_RECEIVED = 2;
export const TCP_ESTABLISHED = 3;
export const TCP_HALF_CLOSED = 4;
export const TCP_CLOSED = 5;
export const TCP_RESET = 6;
export const TCP_MIDSTREAM = 7;

// Conn bits (FL_CONN)
export const CONN_TRACKED = 1;
export const CONN_ORIG_IS_B = 2;

// Zeek endpoint states (FL_ORIG_STATE, FL_RESP_STATE)
export const EP_INACTIVE = 0;
export const EP_SYN_SENT = 1;
export const EP_SYN_ACK_SENT = 2;
export const EP_PARTIAL = 3;
export const EP_ESTABLISHED = 4;
export const EP_CLOSED = 5;
export const EP_RESET = 6;
export const EP_ACTIVE = 7;

// INTERFACE event (EV_INTERFACE)
export const IF_ID = field(8, "u32");
export const IF_LINKTYPE = field(12, "u32");
export const IF_SNAPLEN = field(16, "u32");
export const IF_TS_UNITS = field(20, "u32");
export const IF_NAME_LEN = field(24, "u32");
export const IF_FORMAT = field(28, "u32");
export const IF_NAME = field(32, "u8[]");
export const IF_FORMAT_PCAP = 1;
export const IF_FORMAT_PCAPNG = 2;

// NAME event (EV_NAME)
export const NM_IPVER = field(8, "u8");
export const NM_NAME_LEN = field(10, "u16");
export const NM_ADDR = field(16, "u8[16]");
export const NM_NAME = field(32, "u8[]");

// IFSTATS event (EV_IFSTATS)
export const IS_IFACE = field(8, "u32");
export const IS_HAS = field(12, "u32");
export const IS_RECV = field(16, "f64");
export const IS_DROP = field(24, "f64");
export const IS_OSDROP = field(32, "f64");
export const IS_SIZE = 40;
export const IS_HAS_RECV = 1;
export const IS_HAS_DROP = 2;
export const IS_HAS_OSDROP = 4;

// COMMENT event (EV_COMMENT)
export const CM_FRAME = field(8, "f64");
export const CM_FLOW_ID = field(16, "f64");
export const CM_WIRELEN = field(24, "u32");
export const CM_FROM_RESPONDER = field(28, "u8");
export const CM_TEXT_LEN = field(30, "u16");
export const CM_TEXT = field(32, "u8[]");

// TOP event (EV_TOP)
export const TOP_TABLE = field(8, "u8");
export const TOP_IPVER = field(9, "u8");
export const TOP_PROTO = field(10, "u8");
export const TOP_HAS_PORT = field(11, "u8");
export const TOP_PORT = field(12, "u16");
export const TOP_APP = field(14, "u8");
export const TOP_ADDR_A = field(16, "u8[16]");
export const TOP_ADDR_B = field(32, "u8[16]");
export const TOP_PKTS_A = field(48, "f64");
export const TOP_BYTES_A = field(56, "f64");
export const TOP_PKTS_B = field(64, "f64");
export const TOP_BYTES_B = field(72, "f64");
export const TOP_FLOWS = field(80, "f64");
export const TOP_FIRST_SEC = field(88, "f64");
export const TOP_FIRST_NSEC = field(96, "u32");
export const TOP_LAST_NSEC = field(100, "u32");
export const TOP_LAST_SEC = field(104, "f64");
export const TOP_SIZE = 112;
export const TOP_HOSTS = 1;
export const TOP_PAIRS = 2;
export const TOP_SERVICES = 3;

// APP event (EV_APP)
export const AP_KIND = field(8, "u8");
export const AP_DIR = field(9, "u8");
export const AP_APP = field(10, "u8");
export const AP_FIELDS_LEN = field(12, "u32");
export const AP_FLOW_ID = field(16, "f64");
export const AP_TS_SEC = field(24, "f64");
export const AP_TS_NSEC = field(32, "u32");
export const AP_IPVER = field(11, "u8");
export const AP_SPORT = field(36, "u16");
export const AP_DPORT = field(38, "u16");
export const AP_FRAME = field(40, "f64");
export const AP_SRC = field(48, "u8[16]");
export const AP_DST = field(64, "u8[16]");
export const AP_DATA = field(80, "u8[]");
export const AF_ID = field(0, "u16");
export const AF_LEN = field(2, "u16");
export const AF_VALUE = field(4, "u8[]");
export const APP_EVENT_MAX = 16384;
export const APP_EVENTS_PER_PACKET = 8;
export const APP_STREAM_MAX = 65536;
export const APP_BUFFER_BUDGET = 33554432;
export const APP_UNKNOWN = 0;
export const APP_DNS = 1;
export const APP_MDNS = 2;
export const APP_LLMNR = 3;
export const APP_HTTP = 4;
export const APP_TLS = 5;
export const APP_QUIC = 6;
export const APP_SSH = 7;
export const APP_DHCP = 8;
export const APP_NTP = 9;
export const APP_SMTP = 10;
export const APP_FTP = 11;
export const APP_POP3 = 12;
export const APP_IMAP = 13;
export const APP_REDIS = 14;
export const APP_MQTT = 15;
export const APP_SMB = 16;
export const APP_RDP = 17;
export const APP_MYSQL = 18;
export const APP_POSTGRESQL = 19;
export const APP_SYSLOG = 20;
export const APP_SNMP = 21;
export const APP_TELNET = 22;
export const APP_FTP_DATA = 30;
export const APP_XMPP = 23;
export const APP_SRC_NONE = 0;
export const APP_SRC_PAYLOAD = 1;
export const APP_SRC_LINKED = 2;
export const AK_DNS = 1;
export const AK_HTTP_REQUEST = 2;
export const AK_HTTP_RESPONSE = 3;
export const AK_TLS_CLIENT_HELLO = 4;
export const AK_TLS_SERVER_HELLO = 5;
export const AK_TLS_CERTIFICATE = 6;
export const AK_QUIC_INITIAL = 7;
export const AK_SSH_BANNER = 8;
export const AK_SSH_KEXINIT = 9;
export const AK_DHCP = 10;
export const AK_NTP = 11;
export const AK_BANNER = 12;
export const AK_FTP = 16;
export const AK_FTP_DATA = 17;
export const AK_TLS_STATE = 18;
export const F_DNS_ID = 1;
export const F_DNS_FLAGS = 2;
export const F_DNS_RCODE = 3;
export const F_DNS_QNAME = 4;
export const F_DNS_QTYPE = 5;
export const F_DNS_QCLASS = 6;
export const F_DNS_RR_NAME = 7;
export const F_DNS_RR_TYPE = 8;
export const F_DNS_RR_CLASS = 9;
export const F_DNS_RR_TTL = 10;
export const F_DNS_RR_DATA = 11;
export const F_DNS_RR_SECTION = 12;
export const F_DNS_TRANSPORT = 13;
export const F_DNS_ERROR = 14;
export const F_DNS_RR_TEXT = 24;
export const F_DNS_RR_NUM = 25;
export const F_DNS_SECTION_CAPPED = 26;
export const F_DNS_DOH = 31;
export const F_HTTP_METHOD = 32;
export const F_HTTP_URI = 33;
export const F_HTTP_VERSION = 34;
export const F_HTTP_HOST = 35;
export const F_HTTP_USER_AGENT = 36;
export const F_HTTP_CONTENT_TYPE = 37;
export const F_HTTP_CONTENT_LENGTH = 38;
export const F_HTTP_STATUS = 39;
export const F_HTTP_REASON = 40;
export const F_HTTP_SERVER = 41;
export const F_HTTP_REFERER = 42;
export const F_HTTP_AUTH_SCHEME = 43;
export const F_HTTP_TRUNCATED = 44;
export const F_HTTP_STREAM_ID = 45;
export const F_TLS_RECORD_VERSION = 64;
export const F_TLS_VERSION = 65;
export const F_TLS_CIPHERS = 66;
export const F_TLS_EXTENSIONS = 67;
export const F_TLS_SNI = 68;
export const F_TLS_ALPN = 69;
export const F_TLS_SUPPORTED_VERSIONS = 70;
export const F_TLS_GROUPS = 71;
export const F_TLS_EC_POINT_FORMATS = 72;
export const F_TLS_SIG_ALGS = 73;
export const F_TLS_CERT = 74;
export const F_TLS_CERT_COUNT = 75;
export const F_TLS_QUIC = 76;
export const F_TLS_SSLV2 = 77;
export const F_QUIC_VERSION = 96;
export const F_QUIC_DCID = 97;
export const F_QUIC_SCID = 98;
export const F_QUIC_PACKET = 99;
export const F_SSH_BANNER = 112;
export const F_SSH_KEX = 113;
export const F_SSH_HOST_KEY = 114;
export const F_SSH_ENC_CS = 115;
export const F_SSH_ENC_SC = 116;
export const F_SSH_MAC_CS = 117;
export const F_SSH_MAC_SC = 118;
export const F_SSH_CMP_CS = 119;
export const F_SSH_CMP_SC = 120;
export const F_DHCP_MSG_TYPE = 128;
export const F_DHCP_CLIENT_MAC = 129;
export const F_DHCP_HOSTNAME = 130;
export const F_DHCP_REQUESTED_IP = 131;
export const F_DHCP_YOUR_IP = 132;
export const F_DHCP_VENDOR_CLASS = 133;
export const F_NTP_VERSION = 144;
export const F_NTP_MODE = 145;
export const F_NTP_STRATUM = 146;
export const F_BANNER = 160;
export const F_FTP_COMMAND = 176;
export const F_FTP_ARG = 177;
export const F_FTP_USER = 178;
export const F_FTP_PASSWORD_GIVEN = 179;
export const F_FTP_REPLY_CODE = 180;
export const F_FTP_REPLY_MSG = 181;
export const F_FTP_DATA_PASSIVE = 182;
export const F_FTP_DATA_ORIG = 183;
export const F_FTP_DATA_RESP = 184;
export const F_FTP_DATA_PORT = 185;
export const F_FTP_FILE_SIZE = 186;
export const F_FTP_CONTROL_FLOW = 187;
export const F_TLS_HISTORY = 78;
export const F_TLS_ESTABLISHED = 79;
export const F_TLS_RESUMED = 80;
export const F_TLS_CURVE = 81;
export const F_TLS_ALERT = 82;
export const F_TLS_CLIENT_CERT = 83;
export const DNS_ERR_TRUNCATED = 1;
export const DNS_ERR_LABEL = 2;
export const DNS_ERR_POINTER_LOOP = 3;

// Protocol filter bits (ws_filter_protocols)
export const PROTO_TCP = 1;
export const PROTO_UDP = 2;
export const PROTO_ICMP = 4;
export const PROTO_ICMPV6 = 8;
export const PROTO_ARP = 16;
export const PROTO_IPV4 = 32;
export const PROTO_IPV6 = 64;
export const PROTO_OTHER = 128;

// Application marks (ws_filter_app_marks)
export const APP_MARK_INCLUDED = 1;
export const APP_MARK_EXCLUDED = 2;

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
export const ST_APP_EVENTS = 36;
export const ST_APP_BUDGET_STOPS = 37;
export const ST_APP_STREAM_GAPS = 38;
export const ST_APP_DEFERRED = 39;
export const ST_HOST_RATE_OVERFLOW = 40;
export const ST_HOST_RATE_UNREPORTED = 41;
export const ST_PROTO_BASE = 64;
export const ST_MALFORMED_BASE = 576;
export const ST_LINKTYPE_BASE = 640;
export const ST_ETHERTYPE_BASE = 688;
export const ST_LINKTYPE_FIRST_BASE = 784;
export const ST_ETHERTYPE_FIRST_BASE = 800;
export const STATS_LEN = 832;

// Link types decoded (IF_LINKTYPE, PKT_LINKTYPE)
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_PPP = 9;
export const LINKTYPE_RAW_OPENBSD = 12;
export const LINKTYPE_RAW_BSDOS = 14;
export const LINKTYPE_PPP_HDLC = 50;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_IEEE802_11 = 105;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IEEE802_11_RADIOTAP = 127;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_NFLOG = 239;
export const LINKTYPE_LINUX_SLL2 = 276;
export const LINKTYPE_PKTAP = 258;

// Conn tracking modes (ws_set_conn_tracking)
export const CONN_MODE_ON = 1;
export const CONN_MODE_CHECKSUMS = 2;
