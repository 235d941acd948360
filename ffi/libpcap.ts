// libpcap through Deno FFI. Loaded lazily: wiresight reads files without libpcap unless a BPF
// filter or live capture needs it.
import {
  AF_INET,
  AF_INET6,
  HERE,
  LINKTYPE_PKTAP,
  type OsName,
  PCAP_STAT_BYTES,
  SOCKADDR_HAS_LEN,
  WAIT_BY_FD,
} from "./platform.ts";
import { waitReadable } from "./libc.ts";
import { addDllDirectory, waitForEvent } from "./win32.ts";

/** What to install where libpcap is missing, per OS. */
export function libpcapInstallHint(os: OsName): string {
  if (os === "windows") {
    return "Install Npcap from https://npcap.com/#download (run wiresight as Administrator, or " +
      "install Npcap without 'Restrict Npcap driver's access to Administrators only'; programs " +
      "looking for wpcap.dll on the path need its 'WinPcap API-compatible mode')";
  }
  if (os === "darwin") return "macOS ships libpcap (/usr/lib/libpcap.A.dylib); capture needs sudo";
  return "Install it: Debian/Ubuntu 'apt-get install libpcap0.8', Fedora/RHEL 'dnf install libpcap', " +
    "Alpine 'apk add libpcap'";
}

/** libpcap is not installed or could not be loaded. */
export class LibpcapMissingError extends Error {
  constructor(detail: string, override?: string, os: OsName = Deno.build.os) {
    super(
      override
        ? `libpcap is not available (WIRESIGHT_LIBPCAP=${detail}). ${libpcapInstallHint(os)}, and ` +
          `unset WIRESIGHT_LIBPCAP or point it at the library.`
        : `libpcap is not available (${detail}). ${libpcapInstallHint(os)}. Or set WIRESIGHT_LIBPCAP ` +
          `to the library's path.`,
    );
  }
}

/** The BPF expression did not compile. */
export class BpfCompileError extends Error {}

/**
 * The functions wiresight calls, with pcap/pcap.h's prototypes (tests/ffi_platform_test.ts checks
 * them against the installed header). How to wait for packets differs by OS (HERE.waitSymbol):
 * both are optional here and the loader insists on this OS's one.
 */
export const LIBPCAP_SYMBOLS = {
  pcap_lib_version: { parameters: [], result: "pointer" },
  pcap_open_offline: { parameters: ["buffer", "buffer"], result: "pointer" },
  pcap_compile: { parameters: ["pointer", "buffer", "buffer", "i32", "u32"], result: "i32" },
  pcap_freecode: { parameters: ["buffer"], result: "void" },
  pcap_geterr: { parameters: ["pointer"], result: "pointer" },
  pcap_close: { parameters: ["pointer"], result: "void" },
  pcap_findalldevs: { parameters: ["buffer", "buffer"], result: "i32" },
  pcap_freealldevs: { parameters: ["pointer"], result: "void" },
  pcap_create: { parameters: ["buffer", "buffer"], result: "pointer" },
  pcap_set_snaplen: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_promisc: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_immediate_mode: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_buffer_size: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_timeout: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_tstamp_precision: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_activate: { parameters: ["pointer"], result: "i32" },
  pcap_statustostr: { parameters: ["i32"], result: "pointer" },
  pcap_setfilter: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_datalink: { parameters: ["pointer"], result: "i32" },
  pcap_snapshot: { parameters: ["pointer"], result: "i32" },
  pcap_get_tstamp_precision: { parameters: ["pointer"], result: "i32" },
  pcap_next_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  pcap_stats: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_setnonblock: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  // Not on Windows: Npcap has no selectable descriptor, but an event handle (pcap/pcap.h:800).
  pcap_get_selectable_fd: { parameters: ["pointer"], result: "i32", optional: true },
  pcap_getevent: { parameters: ["pointer"], result: "pointer", optional: true },
} as const;

type Libpcap = Deno.DynamicLibrary<typeof LIBPCAP_SYMBOLS>["symbols"];

let loaded: Libpcap | undefined;

export function libpcap(): Libpcap {
  if (loaded) return loaded;
  const override = Deno.env.get("WIRESIGHT_LIBPCAP");
  const names = override ? [override] : HERE.libpcapNames;
  // Npcap's wpcap.dll loads Packet.dll from its own folder, which Windows does not search.
  if (HERE.libpcapDllDirectory) addDllDirectory(HERE.libpcapDllDirectory);
  const failures: string[] = [];
  for (const name of names) {
    try {
      const lib = Deno.dlopen(name, LIBPCAP_SYMBOLS).symbols;
      if (lib[HERE.waitSymbol] === null) {
        failures.push(`${name}: it has no ${HERE.waitSymbol}`);
        continue;
      }
      loaded = lib;
      return loaded;
    } catch (e) {
      failures.push(loadFailure(name, (e as Error).message));
    }
  }
  throw new LibpcapMissingError(failures.join("; "), override);
}

/** Deno's dlopen message, shortened: "NAME: cannot open ..." or "NAME: no symbol pcap_x". */
function loadFailure(name: string, message: string): string {
  const symbol = message.match(/symbol (\w+)/)?.[1];
  if (symbol) return `${name}: it has no ${symbol}`;
  const why = message.split("\n")[0].replace(/^(Could not open library: )+/, "");
  return why.startsWith(`${name}: `) ? why : `${name}: ${why}`;
}

export function libpcapVersion(): string {
  const p = libpcap().pcap_lib_version();
  return p ? Deno.UnsafePointerView.getCString(p) : "unknown";
}

const PCAP_NETMASK_UNKNOWN = 0xffffffff;
const PCAP_ERRBUF_SIZE = 256;
/** struct bpf_program on 64-bit: u32 bf_len, 4 bytes padding, bf_insns pointer. */
const PROGRAM_SIZE = 16;

const cstring = (s: string) => new TextEncoder().encode(s + "\0");

const PCAP_MAGIC = 0xa1b2c3d4;
/** The magic of savefiles whose timestamps have nanoseconds. */
const PCAP_MAGIC_NANO = 0xa1b23c4d;

/** A pcap savefile's header (version 2.4): what comes before its records. */
export function savefileHeader(linktype: number, snaplen: number, nanoseconds = false): Uint8Array {
  const h = new DataView(new ArrayBuffer(24));
  h.setUint32(0, nanoseconds ? PCAP_MAGIC_NANO : PCAP_MAGIC, true);
  h.setUint16(4, 2, true);
  h.setUint16(6, 4, true);
  h.setUint32(16, snaplen, true);
  h.setUint32(20, linktype, true);
  return new Uint8Array(h.buffer);
}

/**
 * A libpcap handle reading an empty savefile of this link type. Compiling on a savefile handle,
 * not on pcap_open_dead's, gives tcpdump's code for files: libpcap maps the LINKTYPE to its DLT
 * (LINKTYPE_RAW 101 is DLT_RAW 12 on Linux) and matches every BSD AF_INET6 value on NULL links.
 */
function savefileHandle(lib: Libpcap, linktype: number, snaplen: number): Deno.PointerValue {
  const path = Deno.makeTempFileSync({ prefix: "wiresight-bpf-", suffix: ".pcap" });
  try {
    Deno.writeFileSync(path, savefileHeader(linktype, snaplen));
    const errbuf = new Uint8Array(PCAP_ERRBUF_SIZE);
    const handle = lib.pcap_open_offline(cstring(path), errbuf);
    if (!handle) {
      const why = new TextDecoder().decode(errbuf.subarray(0, errbuf.indexOf(0)));
      throw new BpfCompileError(`libpcap cannot compile filters for link type ${linktype}: ${why}`);
    }
    return handle;
  } finally {
    Deno.removeSync(path);
  }
}

/**
 * Compiles a filter expression for a link type as tcpdump would for a file (optimised, unknown
 * netmask) and returns the program as 8-byte `struct bpf_insn` records.
 */
export function compileBpf(expression: string, linktype: number, snaplen = 262144): Uint8Array {
  const lib = libpcap();
  const handle = savefileHandle(lib, linktype, snaplen);
  try {
    const program = new Uint8Array(PROGRAM_SIZE);
    if (lib.pcap_compile(handle, program, cstring(expression), 1, PCAP_NETMASK_UNKNOWN) !== 0) {
      const err = lib.pcap_geterr(handle);
      const why = err ? Deno.UnsafePointerView.getCString(err) : "syntax error";
      throw new BpfCompileError(`invalid BPF filter '${expression}' for link type ${linktype}: ${why}`);
    }
    try {
      const view = new DataView(program.buffer);
      const count = view.getUint32(0, true);
      const insns = Deno.UnsafePointer.create(view.getBigUint64(8, true));
      if (!insns || count === 0) return new Uint8Array(0);
      return new Uint8Array(new Deno.UnsafePointerView(insns).getArrayBuffer(count * 8)).slice();
    } finally {
      lib.pcap_freecode(program);
    }
  } finally {
    lib.pcap_close(handle);
  }
}

// ---- devices ---------------------------------------------------------------------------------

export interface PcapInterface {
  name: string;
  description: string;
  /** IPv4 (4 bytes) and IPv6 (16 bytes) addresses. */
  addresses: Uint8Array[];
  up: boolean;
  running: boolean;
  loopback: boolean;
  wireless: boolean;
}

const PCAP_IF_LOOPBACK = 0x1;
const PCAP_IF_UP = 0x2;
const PCAP_IF_RUNNING = 0x4;
const PCAP_IF_WIRELESS = 0x8;

/** The capture devices libpcap offers, with their addresses and state (pcap_findalldevs). */
export function listInterfaces(): PcapInterface[] {
  const lib = libpcap();
  const head = new BigUint64Array(1);
  const errbuf = new Uint8Array(PCAP_ERRBUF_SIZE);
  if (lib.pcap_findalldevs(new Uint8Array(head.buffer), errbuf) !== 0) {
    throw new CaptureError(`cannot list interfaces: ${cstr(errbuf)}`);
  }
  const out: PcapInterface[] = [];
  try {
    // struct pcap_if { next, name, description, addresses, flags } (pointers, then bpf_u_int32).
    for (let p = Deno.UnsafePointer.create(head[0]); p;) {
      const v = new Deno.UnsafePointerView(p);
      const name = v.getPointer(8), desc = v.getPointer(16), flags = v.getUint32(32);
      out.push({
        name: name ? Deno.UnsafePointerView.getCString(name) : "",
        description: desc ? Deno.UnsafePointerView.getCString(desc) : "",
        addresses: addresses(v.getPointer(24)),
        up: (flags & PCAP_IF_UP) !== 0,
        running: (flags & PCAP_IF_RUNNING) !== 0,
        loopback: (flags & PCAP_IF_LOOPBACK) !== 0,
        wireless: (flags & PCAP_IF_WIRELESS) !== 0,
      });
      p = v.getPointer(0);
    }
  } finally {
    const first = Deno.UnsafePointer.create(head[0]);
    if (first) lib.pcap_freealldevs(first);
  }
  return out;
}

/** The IPv4/IPv6 addresses of a struct pcap_addr list (next, addr, netmask, broadaddr, dstaddr). */
function addresses(p: Deno.PointerValue): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (; p;) {
    const v = new Deno.UnsafePointerView(p);
    const sa = v.getPointer(8);
    if (sa) {
      const s = new Deno.UnsafePointerView(sa);
      const family = SOCKADDR_HAS_LEN ? s.getUint8(1) : s.getUint16(0);
      const copy = (length: number, offset: number) => {
        const b = new Uint8Array(length);
        s.copyInto(b, offset);
        return b;
      };
      // The address is at 4 in a sockaddr_in, at 8 in a sockaddr_in6.
      if (family === AF_INET) out.push(copy(4, 4));
      if (family === AF_INET6) out.push(copy(16, 8));
    }
    p = v.getPointer(0);
  }
  return out;
}

function cstr(b: Uint8Array): string {
  const end = b.indexOf(0);
  return new TextDecoder().decode(b.subarray(0, end < 0 ? b.length : end));
}

// ---- live capture ----------------------------------------------------------------------------

/** Capture could not start: the message says why and what to do; `usage` for bad user input. */
export class CaptureError extends Error {
  constructor(message: string, readonly usage = false) {
    super(message);
  }
}

/** What the capture loop reads packets from: libpcap's handle, or another backend's like it. */
export interface PacketHandle {
  readonly warnings: string[];
  readonly linktype: number;
  readonly snaplen: number;
  readonly nanoseconds: boolean;
  /** Reads one packet if one is waiting; `header` (a pcap_pkthdr) and `data` then address it. */
  next(): boolean;
  readonly header: bigint;
  readonly data: bigint;
  stats(): { received: number; dropped: number; ifDropped: number };
  waitForPackets(ms: number, sleep: (ms: number) => void): boolean;
  close(): void;
}

export interface LiveOptions {
  device: string;
  /** What captures: libpcap (default), or on Windows a WinDivert NETWORK-layer sniffing handle. */
  backend?: "libpcap" | "windivert";
  snaplen?: number;
  promiscuous?: boolean;
  /** Deliver packets as they arrive (low latency, for process attribution) rather than in blocks. */
  immediate?: boolean;
  /** Without immediate delivery: the longest a packet waits for its block to fill (default 100 ms). */
  timeoutMs?: number;
  bufferBytes?: number;
  filter?: string;
}

const PCAP_WARNING = 1;
const PCAP_ERROR_NO_SUCH_DEVICE = -5;
const PCAP_ERROR_PERM_DENIED = -8;
const PCAP_ERROR_IFACE_NOT_UP = -9;
const PCAP_ERROR_PROMISC_PERM_DENIED = -11;
const PCAP_TSTAMP_PRECISION_NANO = 1;

/** An activated capture handle. */
export class LiveHandle implements PacketHandle {
  readonly warnings: string[] = [];
  readonly linktype: number;
  readonly snaplen: number;
  readonly nanoseconds: boolean;
  readonly #lib: Libpcap;
  readonly #p: Deno.PointerObject;
  readonly #hdr = new BigUint64Array(1);
  readonly #data = new BigUint64Array(1);

  constructor(o: LiveOptions) {
    const lib = this.#lib = libpcap();
    const errbuf = new Uint8Array(PCAP_ERRBUF_SIZE);
    const p = lib.pcap_create(cstring(o.device), errbuf);
    if (!p) throw new CaptureError(`cannot open ${o.device}: ${cstr(errbuf)}`);
    this.#p = p;
    lib.pcap_set_snaplen(p, o.snaplen ?? 262144);
    lib.pcap_set_promisc(p, o.promiscuous ? 1 : 0);
    lib.pcap_set_immediate_mode(p, o.immediate === false ? 0 : 1);
    lib.pcap_set_buffer_size(p, o.bufferBytes ?? 8 << 20);
    lib.pcap_set_timeout(p, o.timeoutMs ?? 100);
    lib.pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
    const rc = lib.pcap_activate(p);
    if (rc < 0) {
      const why = activationError(rc, o.device, this.#error());
      lib.pcap_close(p);
      throw why;
    }
    if (rc > 0) this.warnings.push(`${o.device}: ${this.#error() || statusText(lib, rc)}`);
    // Records carry the file link type: macOS's PKTAP DLT is written as LINKTYPE_PKTAP, as
    // libpcap's savefiles do.
    const dlt = lib.pcap_datalink(p);
    this.linktype = dlt === HERE.pktapDlt ? LINKTYPE_PKTAP : dlt;
    this.snaplen = lib.pcap_snapshot(p);
    this.nanoseconds = lib.pcap_get_tstamp_precision(p) === PCAP_TSTAMP_PRECISION_NANO;
    if (o.filter !== undefined) this.#setFilter(o.filter);
    // Reads return at once when nothing is there: the loop waits in poll() or on the event,
    // with a timeout.
    lib.pcap_setnonblock(p, 1, errbuf);
    this.#ready = readiness(lib, p);
  }

  /** What says packets are waiting: a descriptor to poll(), or (Npcap) an event handle. */
  readonly #ready: { fd: number } | { event: Deno.PointerObject } | null = null;

  /**
   * Waits up to `ms` for packets; false when none came. Where the handle offers neither a
   * descriptor nor an event, it sleeps `ms` (the read timeout bounds the latency).
   */
  waitForPackets(ms: number, sleep: (ms: number) => void): boolean {
    const r = this.#ready;
    if (r === null) {
      sleep(ms);
      return false;
    }
    return "fd" in r ? waitReadable(r.fd, ms) : waitForEvent(r.event, ms);
  }

  #error(): string {
    const e = this.#lib.pcap_geterr(this.#p);
    return e ? Deno.UnsafePointerView.getCString(e) : "";
  }

  #setFilter(expression: string): void {
    const program = new Uint8Array(PROGRAM_SIZE);
    if (this.#lib.pcap_compile(this.#p, program, cstring(expression), 1, PCAP_NETMASK_UNKNOWN) !== 0) {
      const why = this.#error();
      this.close();
      throw new CaptureError(`invalid BPF filter '${expression}': ${why}`, true);
    }
    try {
      if (this.#lib.pcap_setfilter(this.#p, program) !== 0) {
        const why = this.#error();
        this.close();
        throw new CaptureError(`cannot apply the filter: ${why}`);
      }
    } finally {
      this.#lib.pcap_freecode(program);
    }
  }

  readonly #hdrBytes = new Uint8Array(this.#hdr.buffer);
  readonly #dataBytes = new Uint8Array(this.#data.buffer);

  /**
   * Reads one packet if one is waiting: true, with `header`/`data` holding the addresses of
   * libpcap's pcap_pkthdr and packet bytes (valid until the next call); false when none is.
   */
  next(): boolean {
    const rc = this.#lib.pcap_next_ex(this.#p, this.#hdrBytes, this.#dataBytes);
    if (rc === 1) return true;
    if (rc === 0) return false;
    throw new CaptureError(`capture stopped: ${this.#error() || statusText(this.#lib, rc)}`);
  }

  /** Address of the last packet's pcap_pkthdr (BigInt: the fast path for u64 FFI arguments). */
  get header(): bigint {
    return this.#hdr[0];
  }

  /** Address of the last packet's bytes. */
  get data(): bigint {
    return this.#data[0];
  }

  /** Packets received and dropped so far (pcap_stats). */
  stats(): { received: number; dropped: number; ifDropped: number } {
    const st = new Uint32Array(PCAP_STAT_BYTES / 4);
    this.#lib.pcap_stats(this.#p, new Uint8Array(st.buffer));
    return { received: st[0], dropped: st[1], ifDropped: st[2] };
  }

  close(): void {
    this.#lib.pcap_close(this.#p);
  }
}

function readiness(
  lib: Libpcap,
  p: Deno.PointerObject,
): { fd: number } | { event: Deno.PointerObject } | null {
  if (WAIT_BY_FD) {
    const fd = lib.pcap_get_selectable_fd?.(p) ?? -1;
    return fd >= 0 ? { fd } : null;
  }
  const event = lib.pcap_getevent?.(p) ?? null;
  return event ? { event } : null;
}

function statusText(lib: Libpcap, rc: number): string {
  const p = lib.pcap_statustostr(rc);
  return p ? Deno.UnsafePointerView.getCString(p) : `status ${rc}`;
}

function activationError(rc: number, device: string, detail: string): CaptureError {
  switch (rc) {
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return new CaptureError(
        `no permission to capture on ${device} (${detail}): run wiresight as root (sudo), or give it the ` +
          `capabilities CAP_NET_RAW and CAP_NET_ADMIN ('sudo setcap cap_net_raw,cap_net_admin=eip ` +
          `dist/wiresight' for the compiled binary)`,
      );
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return new CaptureError(`no such interface: ${device} ('wiresight interfaces' lists them)`, true);
    case PCAP_ERROR_IFACE_NOT_UP:
      return new CaptureError(
        `interface ${device} is down: bring it up ('ip link set ${device} up') or pick another`,
      );
    default:
      return new CaptureError(`cannot capture on ${device}: ${detail || `error ${rc}`}`);
  }
}

export { PCAP_WARNING };
