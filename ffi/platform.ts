// What the FFI bindings and the capture worker need to know about the operating system, in one
// place: the libraries to load, the C layouts that differ between systems, socket address
// families, and how to wait for packets. `platformFor` gives them for any OS value (tests run it
// for linux, windows and darwin); the exports below are this machine's. Linux is the tested
// system; the other values follow the systems' headers (libpcap's pcap.h, Npcap's, <sys/socket.h>).

export type OsName = typeof Deno.build.os;

/** Apple's PKTAP link type in files (libpcap pcap/dlt.h:1408). */
export const LINKTYPE_PKTAP = 258;

/** struct pcap_pkthdr's size and field offsets. */
export interface PkthdrLayout {
  size: number;
  tsSec: number;
  tsFrac: number;
  caplen: number;
  len: number;
}

export interface Platform {
  /** Where libpcap may be, in the order tried (WIRESIGHT_LIBPCAP overrides it). */
  libpcapNames: readonly string[];
  /**
   * The folder to add to the DLL search path before loading libpcap (Windows: Npcap's wpcap.dll
   * loads Packet.dll from its own folder, which is not on the default path), or null.
   */
  libpcapDllDirectory: string | null;
  /** The C library (poll, and on Linux the netlink socket calls); null on Windows. */
  libcName: string | null;
  pkthdr: PkthdrLayout;
  /** struct pcap_stat: ps_recv, ps_drop, ps_ifdrop (u32), and on Windows three more counters. */
  pcapStatBytes: number;
  /**
   * How a capture handle says packets are waiting: a descriptor to poll() (pcap_get_selectable_fd)
   * or, with Npcap, which has no descriptor, an event handle to wait on (pcap_getevent).
   */
  waitSymbol: "pcap_get_selectable_fd" | "pcap_getevent";
  /**
   * The DLT libpcap gives a PKTAP capture (`-i pktap,en0`): DLT_USER2 on macOS, LINKTYPE_PKTAP
   * elsewhere (libpcap pcap/dlt.h:1406-1408); files and the decoder know it as LINKTYPE_PKTAP.
   */
  pktapDlt: number;
  /** Whether the kernel answers sock_diag netlink requests (socket owners without /proc/net). */
  hasSockDiag: boolean;
  afInet6: number;
  /**
   * Whether a struct sockaddr starts with a u8 length and then a u8 family (BSD-derived systems),
   * rather than with a u16 family (Linux, Windows, Solaris).
   */
  sockaddrHasLen: boolean;
}

/** Where Npcap installs wpcap.dll (npcap.com/guide/npcap-devguide.html, "Npcap API"). */
function npcapFolder(systemRoot: string | undefined): string {
  return `${systemRoot ?? "C:\\Windows"}\\System32\\Npcap`;
}

/**
 * The platform facts for `os`. `systemRoot` is Windows' %SystemRoot% (where Npcap lives).
 *
 * struct pcap_pkthdr (pcap/pcap.h:245) is a struct timeval of two C longs, then caplen and len
 * (u32): 8-byte longs on 64-bit Linux and macOS (macOS's tv_usec is 4 bytes, padded to 8), 4-byte
 * on Windows (LLP64), so 16 bytes there. The seconds are read as their low 32 bits, which is what
 * a pcap record keeps. struct pcap_stat (pcap/pcap.h:254) has three more u32 under _WIN32.
 */
export function platformFor(os: OsName, systemRoot?: string): Platform {
  const windows = os === "windows";
  return {
    libpcapNames: os === "darwin"
      ? ["libpcap.A.dylib", "libpcap.dylib"]
      // Npcap's own folder first; then a wpcap.dll on the search path (Npcap's "WinPcap API-
      // compatible mode" puts one in System32).
      : windows
      ? [`${npcapFolder(systemRoot)}\\wpcap.dll`, "wpcap.dll"]
      : ["libpcap.so.1", "libpcap.so.0.8", "libpcap.so"],
    libpcapDllDirectory: windows ? npcapFolder(systemRoot) : null,
    libcName: os === "darwin" ? "libSystem.B.dylib" : windows ? null : "libc.so.6",
    pkthdr: windows
      ? { size: 16, tsSec: 0, tsFrac: 4, caplen: 8, len: 12 }
      : { size: 24, tsSec: 0, tsFrac: 8, caplen: 16, len: 20 },
    pcapStatBytes: windows ? 24 : 12,
    waitSymbol: windows ? "pcap_getevent" : "pcap_get_selectable_fd",
    pktapDlt: os === "darwin" ? 149 : LINKTYPE_PKTAP,
    hasSockDiag: os === "linux",
    // AF_INET6 is the one address family number that differs between systems.
    afInet6: os === "linux" || os === "android"
      ? 10
      : os === "darwin"
      ? 30
      : os === "freebsd"
      ? 28
      : os === "solaris" || os === "illumos"
      ? 26
      : os === "netbsd" || os === "aix"
      ? 24
      : 23,
    sockaddrHasLen: os === "darwin" || os === "freebsd" || os === "netbsd" || os === "aix",
  };
}

/** This machine's facts. */
export const HERE: Platform = platformFor(
  Deno.build.os,
  Deno.build.os === "windows" ? Deno.env.get("SystemRoot") : undefined,
);

export const LIBPCAP_NAMES = HERE.libpcapNames;
export const LIBC_NAME = HERE.libcName ?? "libc.so.6";
export const PKTHDR = HERE.pkthdr;
export const PCAP_STAT_BYTES = HERE.pcapStatBytes;
/** Whether a capture handle gives a descriptor to poll() for packets (else an event handle). */
export const WAIT_BY_FD = HERE.waitSymbol === "pcap_get_selectable_fd";
export const HAS_SOCK_DIAG = HERE.hasSockDiag;
export const AF_INET = 2;
export const AF_INET6 = HERE.afInet6;
export const SOCKADDR_HAS_LEN = HERE.sockaddrHasLen;
