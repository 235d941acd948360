//! Constants shared with the TypeScript side. `wasm/ABI.md` is the one description; the `abi_doc`
//! test below parses it and fails when a name, a value or a field's type here differs.

use std::marker::PhantomData;

/// A field of an event layout: its offset, and its type (ABI.md's `type` column) as `T`, so that
/// `put` and `get` take the field's own width and a value of another type does not compile.
pub struct Field<T: ?Sized> {
    pub at: usize,
    ty: PhantomData<T>,
}

impl<T: ?Sized> Clone for Field<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for Field<T> {}

/// A field type, named as in ABI.md.
pub trait AbiType {
    const NAME: &'static str;
}

/// A fixed-width field type, stored little-endian.
pub trait Scalar: AbiType + Copy {
    const SIZE: usize;
    fn write(self, to: &mut [u8]);
    fn read(from: &[u8]) -> Self;
}

macro_rules! scalar {
    ($ty:ty, $name:literal, $size:literal) => {
        impl AbiType for $ty {
            const NAME: &'static str = $name;
        }
        impl Scalar for $ty {
            const SIZE: usize = $size;
            #[inline(always)]
            fn write(self, to: &mut [u8]) {
                to.copy_from_slice(&self.to_le_bytes());
            }
            #[inline(always)]
            fn read(from: &[u8]) -> Self {
                let mut b = [0u8; $size];
                b.copy_from_slice(from);
                <$ty>::from_le_bytes(b)
            }
        }
    };
}

scalar!(u8, "u8", 1);
scalar!(u16, "u16", 2);
scalar!(u32, "u32", 4);
scalar!(f64, "f64", 8);

macro_rules! byte_array {
    ($n:literal, $name:literal) => {
        impl AbiType for [u8; $n] {
            const NAME: &'static str = $name;
        }
        impl Scalar for [u8; $n] {
            const SIZE: usize = $n;
            #[inline(always)]
            fn write(self, to: &mut [u8]) {
                to.copy_from_slice(&self);
            }
            #[inline(always)]
            fn read(from: &[u8]) -> Self {
                let mut b = [0u8; $n];
                b.copy_from_slice(from);
                b
            }
        }
    };
}

byte_array!(6, "u8[6]");
byte_array!(16, "u8[16]");
byte_array!(24, "u8[24]");

/// `u8[]`: the variable-length tail of an event (a name, a payload, the fields).
impl AbiType for [u8] {
    const NAME: &'static str = "u8[]";
}

/// Writes `v` into field `f` of event `e` (reserved by `Out::event`, so long enough).
#[inline(always)]
pub fn put<T: Scalar>(e: &mut [u8], f: Field<T>, v: T) {
    v.write(&mut e[f.at..f.at + T::SIZE]);
}

/// Copies `v` to the tail that starts at `f`.
#[inline(always)]
pub fn put_tail(e: &mut [u8], f: Field<[u8]>, v: &[u8]) {
    e[f.at..f.at + v.len()].copy_from_slice(v);
}

/// Reads field `f` of `e`, or `None` when `e` ends before it.
#[inline(always)]
pub fn get<T: Scalar>(e: &[u8], f: Field<T>) -> Option<T> {
    e.get(f.at..f.at.checked_add(T::SIZE)?).map(T::read)
}

/// Every constant of a group as (name, value, ABI.md type: empty but for fields).
pub type Table = &'static [(&'static str, i64, &'static str)];

macro_rules! abi_consts {
    ($table:ident : $ty:ty { $($name:ident = $val:expr,)* }) => {
        $(pub const $name: $ty = $val;)*
        pub const $table: Table = &[$((stringify!($name), $val as i64, ""),)*];
    };
}

/// A layout: typed fields (`NAME: type = offset`) and untyped sizes (`NAME = bytes`).
macro_rules! abi_layout {
    ($table:ident { $($name:ident $(: $ty:ty)? = $val:expr,)* }) => {
        $(abi_layout!(@const $name $(: $ty)? = $val);)*
        pub const $table: Table = &[$((stringify!($name), $val as i64, abi_layout!(@type $($ty)?)),)*];
    };
    (@const $name:ident : $ty:ty = $val:expr) => {
        pub const $name: Field<$ty> = Field { at: $val, ty: PhantomData };
    };
    (@const $name:ident = $val:expr) => {
        pub const $name: usize = $val;
    };
    (@type $ty:ty) => { <$ty as AbiType>::NAME };
    (@type) => { "" };
}

abi_consts!(VERSION: u32 { ABI_VERSION = 3, });

abi_consts!(SIZES: usize {
    SCRATCH_BYTES = 65536,
    BPF_INSN_BYTES = 8,
});

abi_layout!(EVENT_HEADER_FIELDS {
    EVENT_TYPE: u16 = 0,
    EVENT_RESERVED: u16 = 2,
    EVENT_LEN: u32 = 4,
    EVENT_HEADER = 8,
});

abi_consts!(STATUS: u32 {
    STATUS_NEED_INPUT = 0,
    STATUS_OUT_FULL = 1,
    STATUS_NEED_BPF = 2,
    STATUS_ERROR = 3,
    STATUS_DONE = 4,
});

abi_consts!(ERRORS: u32 {
    ERR_NONE = 0,
    ERR_NOT_A_CAPTURE = 1,
    ERR_TRUNCATED_HEADER = 2,
    ERR_TRUNCATED_RECORD = 3,
    ERR_CORRUPT_RECORD = 4,
    ERR_CORRUPT_BLOCK = 5,
    ERR_UNSUPPORTED_VERSION = 6,
    ERR_EMPTY = 7,
});

abi_consts!(EVENTS: u16 {
    EV_PACKET = 1,
    EV_FLOW = 2,
    EV_INTERFACE = 3,
    EV_TOP = 4,
    EV_NAME = 5,
    EV_IFSTATS = 6,
    EV_APP = 7,
    EV_COMMENT = 8,
    EV_FLOW_START = 9,
    EV_HOST_RATE = 10,
});

abi_layout!(FLOW_START_FIELDS {
    FS_ID: f64 = 8,
    FS_TS_SEC: f64 = 16,
    FS_TS_NSEC: u32 = 24,
    FS_TCP_FLAGS: u16 = 28,
    FS_IPVER: u8 = 30,
    FS_PROTO: u8 = 31,
    FS_ADDR_A: [u8; 16] = 32,
    FS_ADDR_B: [u8; 16] = 48,
    FS_PORT_A: u16 = 64,
    FS_PORT_B: u16 = 66,
    FS_WIRELEN: u32 = 68,
    FS_SIZE = 72,
});

abi_layout!(HOST_RATE_FIELDS {
    HR_TS_SEC: f64 = 8,
    HR_TS_NSEC: u32 = 16,
    HR_WINDOW_MS: u32 = 20,
    HR_IPVER: u8 = 24,
    HR_ADDR: [u8; 16] = 32,
    HR_PACKETS: f64 = 48,
    HR_BYTES: f64 = 56,
    HR_SYNS: f64 = 64,
    HR_SIZE = 72,
    HR_HOSTS = 4096,
    HR_EVENTS_PER_WINDOW = 64,
});

abi_layout!(COMMENT_FIELDS {
    CM_FRAME: f64 = 8,
    CM_FLOW_ID: f64 = 16,
    CM_WIRELEN: u32 = 24,
    CM_FROM_RESPONDER: u8 = 28,
    CM_TEXT_LEN: u16 = 30,
    CM_TEXT: [u8] = 32,
});

abi_layout!(NAME_FIELDS {
    NM_IPVER: u8 = 8,
    NM_NAME_LEN: u16 = 10,
    NM_ADDR: [u8; 16] = 16,
    NM_NAME: [u8] = 32,
});

abi_layout!(IFSTATS_FIELDS {
    IS_IFACE: u32 = 8,
    IS_HAS: u32 = 12,
    IS_RECV: f64 = 16,
    IS_DROP: f64 = 24,
    IS_OSDROP: f64 = 32,
    IS_SIZE = 40,
});

abi_consts!(IFSTATS_BITS: u32 {
    IS_HAS_RECV = 1,
    IS_HAS_DROP = 2,
    IS_HAS_OSDROP = 4,
});

abi_layout!(PACKET_FIELDS {
    PKT_TS_SEC: f64 = 8,
    PKT_TS_NSEC: u32 = 16,
    PKT_IFACE: u32 = 20,
    PKT_CAPLEN: u32 = 24,
    PKT_WIRELEN: u32 = 28,
    PKT_LINKTYPE: u16 = 32,
    PKT_ETHERTYPE: u16 = 34,
    PKT_VLAN_OUTER: u16 = 36,
    PKT_VLAN_INNER: u16 = 38,
    PKT_L3: u8 = 40,
    PKT_IP_PROTO: u8 = 41,
    PKT_MALFORMED: u8 = 42,
    PKT_TTL: u8 = 43,
    PKT_FLAGS: u32 = 44,
    PKT_SRC: [u8; 16] = 48,
    PKT_DST: [u8; 16] = 64,
    PKT_SPORT: u16 = 80,
    PKT_DPORT: u16 = 82,
    PKT_TCP_FLAGS: u16 = 84,
    PKT_ICMP_TYPE: u8 = 86,
    PKT_ICMP_CODE: u8 = 87,
    PKT_FLOW_ID: f64 = 88,
    PKT_SRC_MAC: [u8; 6] = 96,
    PKT_DST_MAC: [u8; 6] = 102,
    PKT_PAYLOAD_COPIED: u16 = 108,
    PKT_TCP_WINDOW: u16 = 110,
    PKT_IP_LEN: u32 = 112,
    PKT_PAYLOAD_OFF: u32 = 116,
    PKT_PAYLOAD_LEN: u32 = 120,
    PKT_TCP_SEQ: u32 = 124,
    PKT_TCP_ACK: u32 = 128,
    PKT_ICMP_ID: u16 = 132,
    PKT_APP: u8 = 134,
    PKT_APP_DECIDED: u8 = 135,
    PKT_FRAME: f64 = 136,
    PKT_PAYLOAD: [u8] = 144,
});

abi_consts!(PACKET_FLAGS: u32 {
    PF_FRAGMENT = 1,
    PF_FIRST_FRAGMENT = 2,
    PF_FROM_RESPONDER = 4,
    PF_L4 = 8,
    PF_PORTS = 16,
    PF_TRUNCATED = 32,
    PF_MAC = 64,
    PF_VLAN_OUTER = 128,
    PF_VLAN_INNER = 256,
    PF_LOOPBACK = 512,
});

abi_consts!(L3_KINDS: u8 {
    L3_NONE = 0,
    L3_IPV4 = 4,
    L3_IPV6 = 6,
    L3_ARP = 1,
    L3_OTHER = 2,
    L3_UNSUPPORTED_LINK = 3,
});

abi_consts!(MALFORMED: u8 {
    MAL_NONE = 0,
    MAL_LINK_TRUNCATED = 1,
    MAL_VLAN_TRUNCATED = 2,
    MAL_ARP_TRUNCATED = 3,
    MAL_IP_TRUNCATED = 4,
    MAL_IP_BAD_VERSION = 5,
    MAL_IPV4_BAD_HEADER_LEN = 6,
    MAL_IPV4_BAD_TOTAL_LEN = 7,
    MAL_IP_LEN_EXCEEDS_FRAME = 8,
    MAL_IPV6_EXT_TRUNCATED = 9,
    MAL_TCP_TRUNCATED = 10,
    MAL_TCP_BAD_OFFSET = 11,
    MAL_UDP_TRUNCATED = 12,
    MAL_UDP_BAD_LENGTH = 13,
    MAL_ICMP_TRUNCATED = 14,
    MAL_SNAPLEN_TRUNCATED = 16,
    MAL_RECORD_INVALID = 17,
    MAL_IPV6_BAD_PAYLOAD_LEN = 18,
    MAL_TUNNEL_TOO_DEEP = 19,
    MAL_COUNT = 20,
});

abi_layout!(FLOW_FIELDS {
    FL_ID: f64 = 8,
    FL_FIRST_SEC: f64 = 16,
    FL_FIRST_NSEC: u32 = 24,
    FL_LAST_NSEC: u32 = 28,
    FL_LAST_SEC: f64 = 32,
    FL_IPVER: u8 = 40,
    FL_PROTO: u8 = 41,
    FL_END: u8 = 42,
    FL_TCP_STATE: u8 = 43,
    FL_FLAGS_A: u16 = 44,
    FL_FLAGS_B: u16 = 46,
    FL_ADDR_A: [u8; 16] = 48,
    FL_ADDR_B: [u8; 16] = 64,
    FL_PORT_A: u16 = 80,
    FL_PORT_B: u16 = 82,
    FL_VLAN: u16 = 84,
    FL_RECORD_SEQ: u16 = 86,
    FL_PKTS_A: f64 = 88,
    FL_BYTES_A: f64 = 96,
    FL_PKTS_B: f64 = 104,
    FL_BYTES_B: f64 = 112,
    FL_IFACE: u32 = 120,
    FL_FRAGMENTS: u32 = 124,
    FL_SERVICE_PORT: u16 = 128,
    FL_APP: u8 = 130,
    FL_APP_SOURCE: u8 = 131,
    FL_CONN: u8 = 132,
    FL_ORIG_STATE: u8 = 133,
    FL_RESP_STATE: u8 = 134,
    FL_HISTORY_LEN: u8 = 135,
    FL_ORIG_IPBYTES: f64 = 136,
    FL_RESP_IPBYTES: f64 = 144,
    FL_ORIG_SIZE: f64 = 152,
    FL_RESP_SIZE: f64 = 160,
    FL_CONN_T1_SEC: f64 = 168,
    FL_CONN_T1_NSEC: u32 = 176,
    FL_HISTORY: [u8; 24] = 180,
    FL_ORIG_PKTS: f64 = 208,
    FL_RESP_PKTS: f64 = 216,
    FL_CONN_T0_SEC: f64 = 224,
    FL_CONN_T0_NSEC: u32 = 232,
    FL_PARENT_COUNT: u8 = 236,
    FL_ENCAP: u8 = 237,
    FL_PARENT_0: f64 = 240,
    FL_PARENT_1: f64 = 248,
    FL_PARENT_2: f64 = 256,
    FL_PARENT_3: f64 = 264,
    FL_SIZE = 272,
});

abi_consts!(ENCAPS: u8 {
    ENCAP_NONE = 0,
    ENCAP_IP = 1,
    ENCAP_GRE = 2,
    ENCAP_ERSPAN = 3,
    ENCAP_PPTP = 4,
    ENCAP_VXLAN = 5,
    ENCAP_GENEVE = 6,
    ENCAP_TEREDO = 7,
    ENCAP_AYIYA = 8,
    ENCAP_GTPV1 = 9,
});

abi_consts!(END_REASONS: u8 {
    END_EOF = 0,
    END_IDLE = 1,
    END_ACTIVE = 2,
    END_FIN = 3,
    END_RST = 4,
    END_EVICTED = 5,
    END_ATTEMPT = 6,
});

abi_consts!(TCP_STATES: u8 {
    TCP_NONE = 0,
    TCP_SYN_SENT = 1,
    TCP_SYN_RECEIVED = 2,
    TCP_ESTABLISHED = 3,
    TCP_HALF_CLOSED = 4,
    TCP_CLOSED = 5,
    TCP_RESET = 6,
    TCP_MIDSTREAM = 7,
});

abi_consts!(CONN_BITS: u8 {
    CONN_TRACKED = 1,
    CONN_ORIG_IS_B = 2,
});

abi_consts!(ZEEK_ENDPOINT_STATES: u8 {
    EP_INACTIVE = 0,
    EP_SYN_SENT = 1,
    EP_SYN_ACK_SENT = 2,
    EP_PARTIAL = 3,
    EP_ESTABLISHED = 4,
    EP_CLOSED = 5,
    EP_RESET = 6,
    EP_ACTIVE = 7,
});

abi_layout!(INTERFACE_FIELDS {
    IF_ID: u32 = 8,
    IF_LINKTYPE: u32 = 12,
    IF_SNAPLEN: u32 = 16,
    IF_TS_UNITS: u32 = 20,
    IF_NAME_LEN: u32 = 24,
    IF_FORMAT: u32 = 28,
    IF_NAME: [u8] = 32,
});

abi_consts!(IF_FORMATS: u32 {
    IF_FORMAT_PCAP = 1,
    IF_FORMAT_PCAPNG = 2,
});

abi_layout!(TOP_FIELDS {
    TOP_TABLE: u8 = 8,
    TOP_IPVER: u8 = 9,
    TOP_PROTO: u8 = 10,
    TOP_HAS_PORT: u8 = 11,
    TOP_PORT: u16 = 12,
    TOP_APP: u8 = 14,
    TOP_ADDR_A: [u8; 16] = 16,
    TOP_ADDR_B: [u8; 16] = 32,
    TOP_PKTS_A: f64 = 48,
    TOP_BYTES_A: f64 = 56,
    TOP_PKTS_B: f64 = 64,
    TOP_BYTES_B: f64 = 72,
    TOP_FLOWS: f64 = 80,
    TOP_FIRST_SEC: f64 = 88,
    TOP_FIRST_NSEC: u32 = 96,
    TOP_LAST_NSEC: u32 = 100,
    TOP_LAST_SEC: f64 = 104,
    TOP_SIZE = 112,
});

abi_consts!(TOP_TABLES: u8 {
    TOP_HOSTS = 1,
    TOP_PAIRS = 2,
    TOP_SERVICES = 3,
});

abi_layout!(APP_FIELDS {
    AP_KIND: u8 = 8,
    AP_DIR: u8 = 9,
    AP_APP: u8 = 10,
    AP_IPVER: u8 = 11,
    AP_FIELDS_LEN: u32 = 12,
    AP_FLOW_ID: f64 = 16,
    AP_TS_SEC: f64 = 24,
    AP_TS_NSEC: u32 = 32,
    AP_SPORT: u16 = 36,
    AP_DPORT: u16 = 38,
    AP_FRAME: f64 = 40,
    AP_SRC: [u8; 16] = 48,
    AP_DST: [u8; 16] = 64,
    AP_DATA: [u8] = 80,
});

abi_layout!(APP_FIELD_HEADER {
    AF_ID: u16 = 0,
    AF_LEN: u16 = 2,
    AF_VALUE: [u8] = 4,
});

abi_consts!(APP_LIMITS: usize {
    APP_EVENT_MAX = 16384,
    APP_EVENTS_PER_PACKET = 8,
    APP_STREAM_MAX = 65536,
    APP_BUFFER_BUDGET = 33554432,
});

abi_consts!(APP_PROTOCOLS: u8 {
    APP_UNKNOWN = 0,
    APP_DNS = 1,
    APP_MDNS = 2,
    APP_LLMNR = 3,
    APP_HTTP = 4,
    APP_TLS = 5,
    APP_QUIC = 6,
    APP_SSH = 7,
    APP_DHCP = 8,
    APP_NTP = 9,
    APP_SMTP = 10,
    APP_FTP = 11,
    APP_POP3 = 12,
    APP_IMAP = 13,
    APP_REDIS = 14,
    APP_MQTT = 15,
    APP_SMB = 16,
    APP_RDP = 17,
    APP_MYSQL = 18,
    APP_POSTGRESQL = 19,
    APP_SYSLOG = 20,
    APP_SNMP = 21,
    APP_TELNET = 22,
    APP_FTP_DATA = 30,
    APP_XMPP = 23,
    APP_SRC_NONE = 0,
    APP_SRC_PAYLOAD = 1,
    APP_SRC_LINKED = 2,
});

abi_consts!(APP_KINDS: u8 {
    AK_DNS = 1,
    AK_HTTP_REQUEST = 2,
    AK_HTTP_RESPONSE = 3,
    AK_TLS_CLIENT_HELLO = 4,
    AK_TLS_SERVER_HELLO = 5,
    AK_TLS_CERTIFICATE = 6,
    AK_QUIC_INITIAL = 7,
    AK_SSH_BANNER = 8,
    AK_SSH_KEXINIT = 9,
    AK_DHCP = 10,
    AK_NTP = 11,
    AK_BANNER = 12,
    AK_FTP = 16,
    AK_FTP_DATA = 17,
    AK_TLS_STATE = 18,
});

abi_consts!(APP_FIELD_IDS: u16 {
    F_DNS_ID = 1,
    F_DNS_FLAGS = 2,
    F_DNS_RCODE = 3,
    F_DNS_QNAME = 4,
    F_DNS_QTYPE = 5,
    F_DNS_QCLASS = 6,
    F_DNS_RR_NAME = 7,
    F_DNS_RR_TYPE = 8,
    F_DNS_RR_CLASS = 9,
    F_DNS_RR_TTL = 10,
    F_DNS_RR_DATA = 11,
    F_DNS_RR_SECTION = 12,
    F_DNS_TRANSPORT = 13,
    F_DNS_ERROR = 14,
    F_DNS_RR_TEXT = 24,
    F_DNS_RR_NUM = 25,
    F_DNS_SECTION_CAPPED = 26,
    F_DNS_DOH = 31,
    F_HTTP_METHOD = 32,
    F_HTTP_URI = 33,
    F_HTTP_VERSION = 34,
    F_HTTP_HOST = 35,
    F_HTTP_USER_AGENT = 36,
    F_HTTP_CONTENT_TYPE = 37,
    F_HTTP_CONTENT_LENGTH = 38,
    F_HTTP_STATUS = 39,
    F_HTTP_REASON = 40,
    F_HTTP_SERVER = 41,
    F_HTTP_REFERER = 42,
    F_HTTP_AUTH_SCHEME = 43,
    F_HTTP_TRUNCATED = 44,
    F_HTTP_STREAM_ID = 45,
    F_TLS_RECORD_VERSION = 64,
    F_TLS_VERSION = 65,
    F_TLS_CIPHERS = 66,
    F_TLS_EXTENSIONS = 67,
    F_TLS_SNI = 68,
    F_TLS_ALPN = 69,
    F_TLS_SUPPORTED_VERSIONS = 70,
    F_TLS_GROUPS = 71,
    F_TLS_EC_POINT_FORMATS = 72,
    F_TLS_SIG_ALGS = 73,
    F_TLS_CERT = 74,
    F_TLS_CERT_COUNT = 75,
    F_TLS_QUIC = 76,
    F_TLS_SSLV2 = 77,
    F_QUIC_VERSION = 96,
    F_QUIC_DCID = 97,
    F_QUIC_SCID = 98,
    F_QUIC_PACKET = 99,
    F_SSH_BANNER = 112,
    F_SSH_KEX = 113,
    F_SSH_HOST_KEY = 114,
    F_SSH_ENC_CS = 115,
    F_SSH_ENC_SC = 116,
    F_SSH_MAC_CS = 117,
    F_SSH_MAC_SC = 118,
    F_SSH_CMP_CS = 119,
    F_SSH_CMP_SC = 120,
    F_DHCP_MSG_TYPE = 128,
    F_DHCP_CLIENT_MAC = 129,
    F_DHCP_HOSTNAME = 130,
    F_DHCP_REQUESTED_IP = 131,
    F_DHCP_YOUR_IP = 132,
    F_DHCP_VENDOR_CLASS = 133,
    F_NTP_VERSION = 144,
    F_NTP_MODE = 145,
    F_NTP_STRATUM = 146,
    F_BANNER = 160,
    F_FTP_COMMAND = 176,
    F_FTP_ARG = 177,
    F_FTP_USER = 178,
    F_FTP_PASSWORD_GIVEN = 179,
    F_FTP_REPLY_CODE = 180,
    F_FTP_REPLY_MSG = 181,
    F_FTP_DATA_PASSIVE = 182,
    F_FTP_DATA_ORIG = 183,
    F_FTP_DATA_RESP = 184,
    F_FTP_DATA_PORT = 185,
    F_FTP_FILE_SIZE = 186,
    F_FTP_CONTROL_FLOW = 187,
    F_TLS_HISTORY = 78,
    F_TLS_ESTABLISHED = 79,
    F_TLS_RESUMED = 80,
    F_TLS_CURVE = 81,
    F_TLS_ALERT = 82,
    F_TLS_CLIENT_CERT = 83,
});

abi_consts!(DNS_ERRORS: u8 {
    DNS_ERR_TRUNCATED = 1,
    DNS_ERR_LABEL = 2,
    DNS_ERR_POINTER_LOOP = 3,
});

abi_consts!(PROTO_BITS: u32 {
    PROTO_TCP = 1,
    PROTO_UDP = 2,
    PROTO_ICMP = 4,
    PROTO_ICMPV6 = 8,
    PROTO_ARP = 16,
    PROTO_IPV4 = 32,
    PROTO_IPV6 = 64,
    PROTO_OTHER = 128,
});

abi_consts!(APP_MARKS: u8 {
    APP_MARK_INCLUDED = 1,
    APP_MARK_EXCLUDED = 2,
});

abi_consts!(STATS: usize {
    ST_RECORDS = 0,
    ST_PACKETS = 1,
    ST_BYTES = 2,
    ST_CAPTURED_BYTES = 3,
    ST_FILTERED = 4,
    ST_FIRST_SEC = 5,
    ST_FIRST_NSEC = 6,
    ST_LAST_SEC = 7,
    ST_LAST_NSEC = 8,
    ST_TRUNCATED = 9,
    ST_IPV4_PKTS = 10,
    ST_IPV4_BYTES = 11,
    ST_IPV6_PKTS = 12,
    ST_IPV6_BYTES = 13,
    ST_ARP_PKTS = 14,
    ST_ARP_BYTES = 15,
    ST_OTHER_L3_PKTS = 16,
    ST_OTHER_L3_BYTES = 17,
    ST_UNSUPPORTED_LINK_PKTS = 18,
    ST_UNSUPPORTED_LINK_BYTES = 19,
    ST_VLAN_PKTS = 20,
    ST_IPV4_FRAGMENTS = 21,
    ST_IPV6_FRAGMENTS = 22,
    ST_FRAGMENTS_UNMATCHED = 23,
    ST_FLOWS_CREATED = 24,
    ST_FLOW_RECORDS = 25,
    ST_FLOWS_IDLE = 26,
    ST_FLOWS_EVICTED = 27,
    ST_FLOWS_ACTIVE = 28,
    ST_FLOWS_PEAK = 29,
    ST_INTERFACES = 30,
    ST_MALFORMED_PKTS = 31,
    ST_NON_FIRST_FRAGMENTS = 32,
    ST_HOSTS_FOLDED = 33,
    ST_PAIRS_FOLDED = 34,
    ST_SERVICES_FOLDED = 35,
    ST_APP_EVENTS = 36,
    ST_APP_BUDGET_STOPS = 37,
    ST_APP_STREAM_GAPS = 38,
    ST_APP_DEFERRED = 39,
    ST_HOST_RATE_OVERFLOW = 40,
    ST_HOST_RATE_UNREPORTED = 41,
    ST_PROTO_BASE = 64,
    ST_MALFORMED_BASE = 576,
    ST_LINKTYPE_BASE = 640,
    ST_ETHERTYPE_BASE = 688,
    ST_LINKTYPE_FIRST_BASE = 784,
    ST_ETHERTYPE_FIRST_BASE = 800,
    STATS_LEN = 832,
});

abi_consts!(LINKTYPES: u32 {
    LINKTYPE_NULL = 0,
    LINKTYPE_ETHERNET = 1,
    LINKTYPE_PPP = 9,
    LINKTYPE_RAW_OPENBSD = 12,
    LINKTYPE_RAW_BSDOS = 14,
    LINKTYPE_PPP_HDLC = 50,
    LINKTYPE_RAW = 101,
    LINKTYPE_IEEE802_11 = 105,
    LINKTYPE_LOOP = 108,
    LINKTYPE_LINUX_SLL = 113,
    LINKTYPE_IEEE802_11_RADIOTAP = 127,
    LINKTYPE_IPV4 = 228,
    LINKTYPE_IPV6 = 229,
    LINKTYPE_NFLOG = 239,
    LINKTYPE_LINUX_SLL2 = 276,
    LINKTYPE_PKTAP = 258,
});

abi_consts!(CONN_MODES: u32 {
    CONN_MODE_ON = 1,
    CONN_MODE_CHECKSUMS = 2,
});

/// Slots of the small link-type and ethertype tables in the statistics.
pub const LINKTYPE_SLOTS: usize = 16;
pub const ETHERTYPE_SLOTS: usize = 32;

#[cfg(test)]
mod abi_doc {
    use super::*;
    use std::collections::BTreeMap;

    /// The section of ABI.md about the capture worker's records: TS only (src/source/framing.ts).
    const NOT_THE_DECODER: &str = "## Live capture records";

    fn doc() -> String {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/ABI.md")).unwrap();
        let i = text.find(NOT_THE_DECODER).expect("the live capture records section");
        let rest = &text[i + NOT_THE_DECODER.len()..];
        text[..i].to_string() + rest.find("\n## ").map_or("", |j| &rest[j..])
    }

    /// The entries that differ, one line each (a whole-map assert_eq is unreadable here).
    fn differences<V: PartialEq + std::fmt::Debug>(code: &BTreeMap<String, V>, md: &BTreeMap<String, V>) -> String {
        let names: std::collections::BTreeSet<&String> = code.keys().chain(md.keys()).collect();
        let mut out = String::new();
        for name in names {
            let (c, d) = (code.get(name), md.get(name));
            if c != d {
                out += &format!("\n  {}: code {:?}, ABI.md {:?}", name, c, d);
            }
        }
        out
    }

    fn cells(line: &str) -> Vec<&str> {
        line.split('|').map(|c| c.trim()).collect()
    }

    /// name -> (value, type) of every table row; the type is ABI.md's `type` column in layout
    /// tables (those with an `offset` column), else empty.
    fn documented() -> BTreeMap<String, (i64, String)> {
        let mut map = BTreeMap::new();
        let mut layout = false;
        for line in doc().lines() {
            let cells = cells(line);
            if cells.len() < 4 {
                continue;
            }
            let name = cells[1];
            if name == "NAME" {
                layout = cells[2] == "offset";
                continue;
            }
            let is_const = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if is_const {
                if let Ok(v) = cells[2].parse::<i64>() {
                    let ty = if layout { cells[3] } else { "" };
                    map.insert(name.to_string(), (v, ty.to_string()));
                }
            }
        }
        map
    }

    #[test]
    fn every_constant_and_field_type_matches_the_document() {
        let tables: &[Table] = &[
            VERSION, SIZES, EVENT_HEADER_FIELDS, STATUS, ERRORS, EVENTS, PACKET_FIELDS, PACKET_FLAGS,
            L3_KINDS, MALFORMED, FLOW_FIELDS, ENCAPS, END_REASONS, TCP_STATES, CONN_BITS, ZEEK_ENDPOINT_STATES, INTERFACE_FIELDS, IF_FORMATS,
            TOP_FIELDS, TOP_TABLES, NAME_FIELDS, IFSTATS_FIELDS, IFSTATS_BITS, COMMENT_FIELDS,
            FLOW_START_FIELDS, HOST_RATE_FIELDS, APP_FIELDS, APP_FIELD_HEADER, APP_LIMITS, APP_PROTOCOLS,
            APP_KINDS, APP_FIELD_IDS, DNS_ERRORS, PROTO_BITS, APP_MARKS, STATS, LINKTYPES, CONN_MODES,
        ];
        let mut ours = BTreeMap::new();
        for table in tables {
            for (name, value, ty) in table.iter() {
                ours.insert(name.to_string(), (*value, ty.to_string()));
            }
        }
        let diff = differences(&ours, &documented());
        assert!(diff.is_empty(), "wasm/src/abi.rs and wasm/ABI.md disagree:{}", diff);
    }

    /// A signature as ABI.md writes it: `(h, name u32, ...) -> u32`, the handle as `h`.
    fn signature(params: &[&str], result: &str) -> String {
        let result = if result.is_empty() { String::new() } else { format!(" -> {}", result) };
        format!("({}){}", params.join(", "), result)
    }

    /// ABI.md's name for a Rust type at the boundary (parameter names are not compared).
    fn abi_type(rust: &str) -> &str {
        match rust {
            "*mut Decoder" => "handle",
            "*mut u8" | "*const u8" | "*const f64" => "ptr",
            other => other,
        }
    }

    /// Every `extern "C" fn` of exports.rs with its signature, types only.
    fn exported() -> BTreeMap<String, String> {
        let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/exports.rs")).unwrap();
        let mut map = BTreeMap::new();
        for item in src.split("#[no_mangle]").skip(1) {
            let sig = &item[item.find("extern \"C\" fn ").expect("an extern fn after #[no_mangle]") + 14..];
            let (name, rest) = sig.split_at(sig.find('(').unwrap());
            let close = rest.find(')').unwrap();
            let params: Vec<&str> = rest[1..close]
                .split(',')
                .map(|p| p.trim())
                .filter(|p| !p.is_empty())
                .map(|p| match abi_type(p.split(':').nth(1).unwrap().trim()) {
                    "handle" => "h",
                    t => t,
                })
                .collect();
            let result = rest[close + 1..rest.find('{').unwrap()].trim().trim_start_matches("->").trim();
            map.insert(name.to_string(), signature(&params, abi_type(result)));
        }
        map
    }

    /// The signature column of ABI.md's exported functions, parameter names dropped.
    fn documented_signatures() -> BTreeMap<String, String> {
        let text = doc();
        let section = text.split("## Exported functions").nth(1).unwrap().split("\n## ").next().unwrap();
        let mut map = BTreeMap::new();
        for line in section.lines() {
            let cells = cells(line);
            if cells.len() < 4 || !cells[1].starts_with("ws_") {
                continue;
            }
            let (params, result) = cells[2].split_once(" -> ").unwrap_or((cells[2], ""));
            let params: Vec<&str> = params
                .trim_start_matches('(')
                .trim_end_matches(')')
                .split(',')
                .map(|p| p.split_whitespace().last().unwrap_or(""))
                .filter(|p| !p.is_empty())
                .collect();
            map.insert(cells[1].to_string(), signature(&params, result));
        }
        map
    }

    #[test]
    fn every_export_has_the_documented_signature() {
        let diff = differences(&exported(), &documented_signatures());
        assert!(diff.is_empty(), "wasm/src/exports.rs and wasm/ABI.md disagree:{}", diff);
    }

    #[test]
    fn layout_fits() {
        assert_eq!(PKT_PAYLOAD.at % 8, 0);
        assert_eq!(FL_SIZE % 8, 0);
        assert_eq!(TOP_SIZE % 8, 0);
        assert_eq!(FS_SIZE % 8, 0);
        assert_eq!(HR_SIZE % 8, 0);
        assert!(ST_PROTO_BASE + 512 <= ST_MALFORMED_BASE);
        assert!(ST_MALFORMED_BASE + MAL_COUNT as usize <= ST_LINKTYPE_BASE);
        assert!(ST_LINKTYPE_BASE + 3 * LINKTYPE_SLOTS <= ST_ETHERTYPE_BASE);
        assert_eq!(ST_ETHERTYPE_BASE + 3 * ETHERTYPE_SLOTS, ST_LINKTYPE_FIRST_BASE);
        assert_eq!(ST_LINKTYPE_FIRST_BASE + LINKTYPE_SLOTS, ST_ETHERTYPE_FIRST_BASE);
        assert_eq!(ST_ETHERTYPE_FIRST_BASE + ETHERTYPE_SLOTS, STATS_LEN);
    }
}
