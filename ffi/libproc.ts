// macOS's libproc (part of libSystem) through Deno FFI: every process, its open descriptors and
// what each socket is bound and connected to, as lsof, bandwhich and rustnet read them. Layouts
// from apple-oss-distributions/xnu@e3723e1 bsd/sys/proc_info.h and prototypes from
// libsyscall/wrappers/libproc/libproc.h (file:line at each), for 64-bit macOS. Untested on a
// real macOS system.

export const LIBPROC_SYMBOLS = {
  // libproc.h:92 int proc_listpids(uint32_t type, uint32_t typeinfo, void *buffer, int buffersize)
  proc_listpids: { parameters: ["u32", "u32", "buffer", "i32"], result: "i32" },
  // libproc.h:96 int proc_pidinfo(int pid, int flavor, uint64_t arg, void *buffer, int buffersize)
  proc_pidinfo: { parameters: ["i32", "i32", "u64", "buffer", "i32"], result: "i32" },
  // libproc.h:97 int proc_pidfdinfo(int pid, int fd, int flavor, void *buffer, int buffersize)
  proc_pidfdinfo: { parameters: ["i32", "i32", "i32", "buffer", "i32"], result: "i32" },
  // libproc.h:102 int proc_pidpath(int pid, void *buffer, uint32_t buffersize)
  proc_pidpath: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // <pwd.h> struct passwd *getpwuid(uid_t uid): pw_name is its first member.
  getpwuid: { parameters: ["u32"], result: "pointer" },
} as const;

/** proc_info.h:51 PROC_ALL_PIDS; :718 PROC_PIDLISTFDS; :755 PROC_PIDT_SHORTBSDINFO; :778 PROC_PIDFDSOCKETINFO. */
export const PROC_ALL_PIDS = 1;
export const PROC_PIDLISTFDS = 1;
export const PROC_PIDT_SHORTBSDINFO = 13;
export const PROC_PIDFDSOCKETINFO = 3;
/** proc_info.h:663 PROX_FDTYPE_SOCKET. */
export const PROX_FDTYPE_SOCKET = 2;
/** proc_info.h:673-676 struct proc_fdinfo { int32_t proc_fd; uint32_t proc_fdtype; }. */
export const PROC_FDINFO_BYTES = 8;
/** proc_info.h:85-99 struct proc_bsdshortinfo: 4 u32, pbsi_comm[16], flags, uid, ... (64 bytes). */
export const PROC_BSDSHORTINFO_BYTES = 64;
/**
 * proc_info.h:567 struct socket_fdinfo { proc_fileinfo pfi (24 bytes, :251); socket_info psi }.
 * socket_info (:536): vinfo_stat (136 bytes, :288), soi_so, soi_pcb (u64), type, protocol, family
 * (int), 7 shorts and soi_error, soi_oobmark, two sockbuf_info (24 bytes each, :515), soi_kind,
 * rfu_1, then the soi_proto union at 240, sized by un_sockinfo (16 + 2 x 255, padded to 528).
 */
export const SOCKET_FDINFO_BYTES = 792;
const PSI = 24;
const SOI_PROTOCOL = PSI + 156;
const SOI_KIND = PSI + 232;
const SOI_PROTO = PSI + 240;
/**
 * in_sockinfo (:372-400) at soi_proto, also first in tcp_sockinfo (:425): insi_fport, insi_lport
 * (int, the port in network order in its first two bytes), insi_gencnt (u64), flags, flow,
 * insi_vflag (u8 at 24), ttl, rfu_1, insi_faddr at 32 and insi_laddr at 48 (16 bytes each;
 * IPv4 in the last four, in4in6_addr :367). tcpsi_state follows the 80-byte in_sockinfo.
 */
const INSI_FPORT = SOI_PROTO, INSI_LPORT = SOI_PROTO + 4, INSI_VFLAG = SOI_PROTO + 24;
const INSI_FADDR = SOI_PROTO + 32, INSI_LADDR = SOI_PROTO + 48, TCPSI_STATE = SOI_PROTO + 80;
/** proc_info.h:364-365 insi_vflag; :527-528 soi_kind. */
const INI_IPV4 = 0x1, INI_IPV6 = 0x2;
const SOCKINFO_IN = 1, SOCKINFO_TCP = 2;
const IPPROTO_TCP = 6, IPPROTO_UDP = 17;

/** A TCP or UDP socket of a socket_fdinfo. */
export interface InetSocket {
  proto: "tcp" | "udp";
  /** Network-order address bytes: 4 or 16. */
  local: Uint8Array;
  localPort: number;
  remote: Uint8Array;
  remotePort: number;
  /** tcpsi_state (TSI_S_*, proc_info.h:412) for TCP, null for UDP. */
  tcpState: number | null;
}

/** The TCP or UDP endpoints of a socket_fdinfo; null for any other socket (Unix, raw ...). */
export function decodeSocketFdinfo(bytes: Uint8Array): InetSocket | null {
  if (bytes.length < SOCKET_FDINFO_BYTES) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = v.getInt32(SOI_KIND, true);
  if (kind !== SOCKINFO_IN && kind !== SOCKINFO_TCP) return null;
  const protocol = v.getInt32(SOI_PROTOCOL, true);
  if (protocol !== IPPROTO_TCP && protocol !== IPPROTO_UDP) return null;
  const vflag = v.getUint8(INSI_VFLAG);
  const v4 = (vflag & INI_IPV4) !== 0;
  if (!v4 && (vflag & INI_IPV6) === 0) return null;
  const address = (at: number) => v4 ? bytes.slice(at + 12, at + 16) : bytes.slice(at, at + 16);
  return {
    proto: protocol === IPPROTO_TCP ? "tcp" : "udp",
    local: address(INSI_LADDR),
    localPort: v.getUint16(INSI_LPORT, false),
    remote: address(INSI_FADDR),
    remotePort: v.getUint16(INSI_FPORT, false),
    tcpState: kind === SOCKINFO_TCP ? v.getInt32(TCPSI_STATE, true) : null,
  };
}

/** The socket descriptors of a PROC_PIDLISTFDS answer (`length` bytes of proc_fdinfo). */
export function socketDescriptors(bytes: Uint8Array, length: number): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let at = 0; at + PROC_FDINFO_BYTES <= Math.min(length, bytes.length); at += PROC_FDINFO_BYTES) {
    if (v.getUint32(at + 4, true) === PROX_FDTYPE_SOCKET) out.push(v.getInt32(at, true));
  }
  return out;
}

/** proc_bsdshortinfo's pbsi_comm (at 16, 16 bytes) and pbsi_uid (at 36). */
export function decodeBsdShortInfo(bytes: Uint8Array): { comm: string; uid: number } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const comm = bytes.subarray(16, 32);
  const end = comm.indexOf(0);
  return { comm: new TextDecoder().decode(comm.subarray(0, end < 0 ? 16 : end)), uid: v.getUint32(36, true) };
}

type Libproc = Deno.DynamicLibrary<typeof LIBPROC_SYMBOLS>["symbols"];
let loaded: Libproc | undefined;

function libproc(): Libproc {
  loaded ??= Deno.dlopen("libSystem.B.dylib", LIBPROC_SYMBOLS).symbols;
  return loaded;
}

/** Every process id (proc_listpids); the buffer grows while the list fills it. */
export function allPids(): number[] {
  const lib = libproc();
  for (let room = 4096;; room *= 2) {
    const pids = new Int32Array(room);
    const bytes = lib.proc_listpids(PROC_ALL_PIDS, 0, new Uint8Array(pids.buffer), pids.byteLength);
    if (bytes <= 0) return [];
    if (bytes < pids.byteLength) return [...pids.subarray(0, bytes / 4)].filter((p) => p > 0);
  }
}

/** The TCP and UDP sockets a process holds (nothing when it is gone or not ours to read). */
export function processSockets(pid: number): InetSocket[] {
  const lib = libproc();
  const fds = new Uint8Array(PROC_FDINFO_BYTES * 1024);
  const length = lib.proc_pidinfo(pid, PROC_PIDLISTFDS, 0n, fds, fds.length);
  const out: InetSocket[] = [];
  const info = new Uint8Array(SOCKET_FDINFO_BYTES);
  for (const fd of socketDescriptors(fds, length)) {
    if (lib.proc_pidfdinfo(pid, fd, PROC_PIDFDSOCKETINFO, info, info.length) !== SOCKET_FDINFO_BYTES) {
      continue;
    }
    const s = decodeSocketFdinfo(info);
    if (s) out.push(s);
  }
  return out;
}

/** PROC_PIDPATHINFO_MAXSIZE (proc_info.h:750): 4 x MAXPATHLEN. */
const PATH_MAX_BYTES = 4 * 1024;

/** A process's short name, uid and user, and executable path. */
export function processDetails(
  pid: number,
): { comm: string; uid: number; user: string | null; exe: string | null } | null {
  const lib = libproc();
  const info = new Uint8Array(PROC_BSDSHORTINFO_BYTES);
  if (lib.proc_pidinfo(pid, PROC_PIDT_SHORTBSDINFO, 0n, info, info.length) !== info.length) return null;
  const { comm, uid } = decodeBsdShortInfo(info);
  const path = new Uint8Array(PATH_MAX_BYTES);
  const n = lib.proc_pidpath(pid, path, path.length);
  const pw = lib.getpwuid(uid);
  const name = pw ? new Deno.UnsafePointerView(pw).getPointer(0) : null;
  return {
    comm,
    uid,
    user: name ? Deno.UnsafePointerView.getCString(name) : null,
    exe: n > 0 ? new TextDecoder().decode(path.subarray(0, n)) : null,
  };
}
