// What the FFI bindings and the capture worker need to know about the operating system, in one
// place: the libraries to load, the C layouts that differ between systems, socket address
// families, and how to wait for packets. Linux is the tested system; the other values follow the
// systems' headers (libpcap's pcap.h, Npcap's, <sys/socket.h>).

const OS = Deno.build.os;

/** Where libpcap may be, in the order tried (WIRESIGHT_LIBPCAP overrides it). */
export const LIBPCAP_NAMES: readonly string[] = OS === "darwin"
  ? ["libpcap.A.dylib", "libpcap.dylib"]
  : OS === "windows"
  ? ["C:\\Windows\\System32\\Npcap\\wpcap.dll", "wpcap.dll"]
  : ["libpcap.so.1", "libpcap.so.0.8", "libpcap.so"];

/** The C library (poll, and on Linux the netlink socket calls). */
export const LIBC_NAME = OS === "darwin" ? "libSystem.B.dylib" : "libc.so.6";

/**
 * struct pcap_pkthdr: a struct timeval of two C longs (8 bytes each on 64-bit Linux and macOS,
 * 4 on Windows), then caplen and len (u32). The seconds are read as their low 32 bits, which is
 * what a pcap record keeps.
 */
export const PKTHDR = OS === "windows"
  ? { size: 16, tsSec: 0, tsFrac: 4, caplen: 8, len: 12 } as const
  : { size: 24, tsSec: 0, tsFrac: 8, caplen: 16, len: 20 } as const;

/** struct pcap_stat: ps_recv, ps_drop, ps_ifdrop (u32), and on Windows three more counters. */
export const PCAP_STAT_BYTES = OS === "windows" ? 24 : 12;

/**
 * Whether a capture handle gives a descriptor to poll() for packets (pcap_get_selectable_fd).
 * Npcap has none: there the capture loop sleeps between non-blocking reads instead.
 */
export const WAIT_BY_FD = OS !== "windows";

/** Whether the kernel answers sock_diag netlink requests (socket owners without /proc/net). */
export const HAS_SOCK_DIAG = OS === "linux";

export const AF_INET = 2;
/** AF_INET6 is the one address family number that differs between systems. */
export const AF_INET6 = OS === "linux" || OS === "android"
  ? 10
  : OS === "darwin"
  ? 30
  : OS === "freebsd"
  ? 28
  : OS === "solaris" || OS === "illumos"
  ? 26
  : OS === "netbsd" || OS === "aix"
  ? 24
  : 23;

/**
 * Whether a struct sockaddr starts with a u8 length and then a u8 family (BSD-derived systems),
 * rather than with a u16 family (Linux, Windows, Solaris).
 */
export const SOCKADDR_HAS_LEN = OS === "darwin" || OS === "freebsd" || OS === "netbsd" || OS === "aix";
