// Which process owns a socket, as the kernel reported it (Linux, eBPF; see the hooks in
// ffi/bpf/attribution.bpf.c): every TCP/UDP/ICMP socket's connect, accept, listen and first
// send or receive, with the process that did it, and every process's exec, fork and exit. Unlike
// a /proc scan it sees sockets that live a millisecond, and it keeps what a process was after it
// exited. The caller polls (cheap, no system call) and looks flows up by their endpoints; every
// table is bounded whatever the traffic.
//
// Works on the main thread and in a Worker alike: the ring buffer's callback runs synchronously
// inside poll(), on the thread that opened the tracker.
import {
  ATTRIBUTION_OBJECT,
  BpfError,
  BpfObject,
  type BpfProgram,
  type RingBuffer,
} from "../../../ffi/libbpf.ts";
import { BoundedTable } from "../../base/bounded_table.ts";
import type { ProcessInfo } from "../process.ts";
import { CgroupNames } from "./cgroups.ts";
import {
  addressKey,
  addressKeyOf,
  argsText,
  cString,
  cStringUtf8,
  EV_EXEC,
  EV_EXIT,
  EV_FORK,
  EV_LISTEN,
  EV_RECV,
  EXEC,
  LITTLE_ENDIAN as LE,
  SOCK,
  SOCKET_KINDS,
  type SocketEventKind,
  TASK,
} from "./events.ts";

/** What is known of a process: ProcessInfo's fields (pid is the tgid, in the initial pid namespace;
 * name the group leader's comm; exe the interpreter for a script; cmdline its first 1024 bytes), and more. */
export interface TrackedProcess extends ProcessInfo {
  ppid: number | null;
  /** cgroup v2 id (the inode of its directory), 0 when unknown. */
  cgroupId: number;
  /** The cgroup's path under the cgroup2 mount, e.g. "/system.slice/ssh.service". */
  cgroup: string | null;
  /** A container id (docker, podman, containerd, CRI-O) or an LXC name. */
  container: string | null;
  /** The innermost systemd unit (.service or .scope). */
  unit: string | null;
  exited: boolean;
}

export interface TrackedSocket {
  process: TrackedProcess;
  /** The thread that did it, and its name ("isc-net-0000"); for "accept", the thread that
   * called listen() (0 and "" when the listener predates the tracker). */
  tid: number;
  thread: string;
  /** The socket's network namespace (inode of /proc/<pid>/ns/net). */
  netns: number;
  /** The event that named it. */
  event: SocketEventKind;
  /** "exact": this very tuple; "local": a listener or unconnected socket on the local endpoint. */
  match: "exact" | "local";
}

export interface Endpoint {
  address: string;
  port: number;
}

export type Protocol = "tcp" | "udp" | "icmp" | "icmpv6" | number;
const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };

export type EbpfUnavailableCode =
  | "not-linux"
  | "no-permission"
  | "no-libbpf"
  | "no-btf"
  | "no-object"
  | "open-failed"
  | "load-failed"
  | "attach-failed";

/** The tracker cannot run here; the message says why and what to do. */
export class EbpfUnavailableError extends Error {
  constructor(readonly code: EbpfUnavailableCode, reason: string, readonly detail = "") {
    super(`eBPF process tracking is not available: ${reason}`);
  }
}

export interface EbpfTrackerOptions {
  /** Sockets kept (the oldest are forgotten first). Default 65536. */
  maxSockets?: number;
  /** Processes kept, including exited ones. Default 32768. */
  maxProcesses?: number;
}

export interface EbpfTrackerStats {
  /** Records read from the kernel since open. */
  events: number;
  /** Records the kernel dropped because the ring buffer was full (poll more often). */
  lost: number;
  sockets: number;
  processes: number;
  /** Each BPF program, and whether it is attached (a kernel before 6.3 lacks sock_*_length). */
  programs: BpfProgram[];
}

/** Hooks the tracker can do without on older kernels (less coverage, still useful). */
const OPTIONAL_TRACEPOINTS = ["sock_send_length", "sock_recv_length", "tcp_retransmit_skb"];
/** Entries kept per local endpoint (listeners, unconnected sockets on one port). */
const LOCAL_PER_PORT = 8;
/** Chained entries for one tuple, in different network namespaces. */
const NETNS_PER_TUPLE = 4;
const PASSWD_REREAD_MS = 5000;

interface SocketRecord {
  process: TrackedProcess | null;
  tid: number;
  thread: string;
  netns: number;
  event: SocketEventKind;
  /** The local endpoint's address key ("*" for any), for local records. */
  address: string;
  /** The same tuple in another network namespace. */
  next: SocketRecord | null;
}

export class EbpfTracker {
  readonly #bpf: BpfObject;
  readonly #ring: RingBuffer;
  readonly #bss: DataView;
  #closed = false;
  #events = 0;
  readonly #processes: BoundedTable<TrackedProcess>;
  readonly #exact: BoundedTable<SocketRecord>;
  readonly #local: BoundedTable<SocketRecord[]>;
  readonly #cgroups = new CgroupNames();
  readonly #finished = new WeakSet<TrackedProcess>();
  readonly #realpaths = new Map<string, string>();
  #users = new Map<number, string>();
  #usersRead = -Infinity;
  #buf: Uint8Array | null = null;
  #view: DataView = new DataView(new ArrayBuffer(0));

  private constructor(bpf: BpfObject, options: EbpfTrackerOptions) {
    this.#bpf = bpf;
    this.#processes = new BoundedTable("ebpf_processes", options.maxProcesses ?? 32768);
    this.#exact = new BoundedTable("ebpf_sockets", options.maxSockets ?? 65536);
    this.#local = new BoundedTable("ebpf_local_endpoints", 4096);
    this.#bss = bpf.globals(".bss");
    this.#ring = bpf.ringBuffer("events", (b, size) => this.#record(b, size), EXEC.size);
  }

  /**
   * Loads and attaches the BPF programs. Throws EbpfUnavailableError, with the reason and what to
   * do, when it cannot: not Linux, not root (CAP_BPF and CAP_PERFMON), no BTF, no libbpf, Deno
   * without --allow-ffi, or the kernel refused the programs.
   */
  static open(options: EbpfTrackerOptions = {}): EbpfTracker {
    if (Deno.build.os !== "linux") throw new EbpfUnavailableError("not-linux", "it needs Linux");
    const caps = capabilityProblem();
    if (caps) throw new EbpfUnavailableError("no-permission", caps);
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = Deno.readFileSync(ATTRIBUTION_OBJECT);
    } catch (e) {
      if (isDenoPermission(e)) throw denoPermission(e as Error);
      throw new EbpfUnavailableError(
        "no-object",
        `the BPF object ${ATTRIBUTION_OBJECT.pathname} is missing (${(e as Error).message}); ` +
          `build it with 'deno task build:bpf'`,
      );
    }
    let bpf: BpfObject;
    try {
      bpf = BpfObject.open(bytes, OPTIONAL_TRACEPOINTS);
    } catch (e) {
      if (isDenoPermission(e)) throw denoPermission(e as Error);
      if (!(e instanceof BpfError)) throw e;
      throw new EbpfUnavailableError(e.code, advice(e), e.log.join("\n"));
    }
    try {
      return new EbpfTracker(bpf, options);
    } catch (e) {
      bpf.close();
      throw e;
    }
  }

  /** The network namespace of a process (the inode of /proc/<pid>/ns/net), null if unreadable. */
  static netns(pid: number | "self" = "self"): number | null {
    try {
      return Deno.statSync(`/proc/${pid}/ns/net`).ino;
    } catch {
      return null;
    }
  }

  /** Reads every event the kernel has written since the last call, without blocking. */
  poll(): number {
    return this.#closed ? 0 : this.#ring.consume();
  }

  /**
   * The process owning the socket with these endpoints (`local` is the socket's own end): the
   * exact tuple first, else a listener or unconnected socket (UDP sendto) on the local endpoint.
   * ICMP: the port is the echo id (a ping socket's own port); a raw socket is found by address.
   * IPv4-mapped IPv6 addresses equal IPv4 ones. With `netns`, only that network namespace.
   * Pending events are read first.
   */
  lookup(proto: Protocol, local: Endpoint, remote: Endpoint, netns?: number): TrackedProcess | null {
    return this.socket(proto, local, remote, netns)?.process ?? null;
  }

  /** As lookup(), with the thread, namespace and event that named the socket. */
  socket(proto: Protocol, local: Endpoint, remote: Endpoint, netns?: number): TrackedSocket | null {
    this.poll();
    const p = typeof proto === "number" ? proto : PROTOCOLS[proto];
    const la = addressKeyOf(local.address), ra = addressKeyOf(remote.address);
    if (p === undefined || la === null || ra === null) return null;
    for (let r = this.#exact.get(`${p} ${la} ${local.port} ${ra} ${remote.port}`) ?? null; r; r = r.next) {
      if (r.process && (netns === undefined || r.netns === netns)) return this.#answer(r, "exact");
    }
    // A raw socket's "port" is its protocol: ping over a raw socket, whatever the echo id.
    const l = this.#findLocal(p, la, local.port, netns) ??
      (p === 1 || p === 58 ? this.#findLocal(p, la, p, netns) : null);
    return l?.process ? this.#answer(l, "local") : null;
  }

  /** What is known of process `pid` (also after it exited), or null. */
  process(pid: number): TrackedProcess | null {
    this.poll();
    const p = this.#processes.get(String(pid));
    return p ? this.#finish(p) : null;
  }

  stats(): EbpfTrackerStats {
    return {
      events: this.#events,
      lost: this.#closed ? 0 : Number(this.#bss.getBigUint64(0, LE)),
      sockets: this.#exact.size + this.#local.size,
      processes: this.#processes.size,
      programs: this.#bpf.programs,
    };
  }

  /** Detaches the programs and frees the kernel's side (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#bpf.close();
  }

  #answer(r: SocketRecord, match: "exact" | "local"): TrackedSocket {
    return {
      process: this.#finish(r.process!),
      tid: r.tid,
      thread: r.thread,
      netns: r.netns,
      event: r.event,
      match,
    };
  }

  // ---- decoding: runs inside poll(), once per record; keep it cheap ----

  #record(b: Uint8Array, size: number): void {
    if (b !== this.#buf) {
      this.#buf = b;
      this.#view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
    this.#events++;
    const kind = b[0];
    if (kind <= EV_RECV) {
      if (size >= SOCK.size) this.#socketEvent(b, this.#view);
    } else if (kind === EV_EXEC) {
      if (size >= EXEC.size) this.#exec(b, this.#view);
    } else if (kind === EV_FORK) {
      if (size >= TASK.size) this.#fork(b, this.#view);
    } else if (kind === EV_EXIT && size >= TASK.size) {
      const p = this.#processes.get(String(this.#view.getUint32(TASK.tgid, LE)));
      if (p) p.exited = true;
    }
  }

  #socketEvent(b: Uint8Array, v: DataView): void {
    const kind = b[SOCK.kind], family = b[SOCK.family], proto = b[SOCK.protocol];
    const lport = v.getUint16(SOCK.lport, LE), rport = v.getUint16(SOCK.rport, LE);
    const netns = v.getUint32(SOCK.netns, LE);
    const la = addressKey(b, SOCK.laddr, family), ra = addressKey(b, SOCK.raddr, family);
    const tgid = v.getUint32(SOCK.tgid, LE);
    const r: SocketRecord = {
      // No process: a server's new connection whose listener predates the tracker; its owner
      // may be known from a read or write since.
      process: tgid ? this.#processOf(tgid, b, v) : this.#findLocal(proto, la, lport, netns)?.process ?? null,
      tid: v.getUint32(SOCK.tid, LE),
      thread: tgid ? cString(b, SOCK.comm, 16) : "",
      netns,
      event: SOCKET_KINDS[kind],
      address: la,
      next: null,
    };
    if (kind === EV_LISTEN || rport === 0 || ra === "*") {
      this.#putLocal(`${proto} ${lport}`, r);
    } else {
      const key = `${proto} ${la} ${lport} ${ra} ${rport}`;
      // The same tuple in other network namespaces stays (a few); this namespace's is replaced.
      let tail = r, kept = 1;
      for (let at = this.#exact.get(key) ?? null; at && kept < NETNS_PER_TUPLE; at = at.next) {
        if (at.netns === netns) continue;
        tail = tail.next = { ...at, next: null };
        kept++;
      }
      this.#exact.set(key, r);
    }
  }

  #putLocal(key: string, r: SocketRecord): void {
    const list = this.#local.get(key) ?? [];
    const kept = list.filter((x) => x.netns !== r.netns || x.address !== r.address);
    kept.unshift(r);
    if (kept.length > LOCAL_PER_PORT) kept.length = LOCAL_PER_PORT;
    this.#local.set(key, kept);
  }

  #findLocal(proto: number, address: string, port: number, netns?: number): SocketRecord | null {
    const list = this.#local.get(`${proto} ${port}`);
    if (!list) return null;
    let any: SocketRecord | null = null;
    for (const r of list) {
      if (netns !== undefined && r.netns !== netns) continue;
      if (r.address === address) return r;
      if (r.address === "*" && !any) any = r;
    }
    return any;
  }

  /** The process `tgid` is now; one seen for the first time is read from /proc while it lives. */
  #processOf(tgid: number, b: Uint8Array, v: DataView): TrackedProcess {
    const known = this.#processes.get(String(tgid));
    if (known && !known.exited) return known;
    const p = this.#fromProc(tgid, cString(b, SOCK.groupComm, 16));
    p.uid = v.getUint32(SOCK.uid, LE);
    p.cgroupId = u64(v, SOCK.cgroup);
    this.#processes.set(String(tgid), p);
    return p;
  }

  #exec(b: Uint8Array, v: DataView): void {
    const tgid = v.getUint32(TASK.tgid, LE);
    const exe = cStringUtf8(b, EXEC.filename, EXEC.filenameLen);
    this.#processes.set(String(tgid), {
      pid: tgid,
      name: cString(b, TASK.comm, 16),
      exe: exe || null,
      cmdline: argsText(b, EXEC.args, Math.min(v.getUint16(TASK.argsLen, LE), EXEC.argsMax)),
      uid: v.getUint32(TASK.uid, LE),
      user: null,
      ppid: v.getUint32(TASK.ppid, LE),
      cgroupId: u64(v, TASK.cgroup),
      cgroup: null,
      container: null,
      unit: null,
      exited: false,
    });
  }

  /** A new process is its parent until it execs (a parent started before the tracker is read from /proc). */
  #fork(b: Uint8Array, v: DataView): void {
    const tgid = v.getUint32(TASK.tgid, LE), ppid = v.getUint32(TASK.ppid, LE);
    const name = cString(b, TASK.comm, 16);
    let parent = this.#processes.get(String(ppid));
    if (!parent) {
      parent = this.#fromProc(ppid, name);
      parent.uid = v.getUint32(TASK.uid, LE);
      parent.cgroupId = u64(v, TASK.cgroup);
      this.#processes.set(String(ppid), parent);
    }
    this.#processes.set(String(tgid), {
      ...parent,
      pid: tgid,
      name,
      ppid,
      uid: v.getUint32(TASK.uid, LE),
      cgroupId: u64(v, TASK.cgroup),
      exited: false,
    });
  }

  #fromProc(pid: number, name: string): TrackedProcess {
    let exe: string | null = null, cmdline = "";
    try {
      exe = Deno.readLinkSync(`/proc/${pid}/exe`);
      cmdline = new TextDecoder().decode(Deno.readFileSync(`/proc/${pid}/cmdline`)).split("\0")
        .filter((a) => a).join(" ");
    } catch { /* gone already, or a kernel thread */ }
    return {
      pid,
      name,
      exe,
      cmdline,
      uid: null,
      user: null,
      ppid: null,
      cgroupId: 0,
      cgroup: null,
      container: null,
      unit: null,
      exited: false,
    };
  }

  // ---- at lookup: what costs more than decoding, done once per process ----

  #finish(p: TrackedProcess): TrackedProcess {
    if (!this.#finished.has(p)) {
      this.#finished.add(p);
      if (p.uid !== null) p.user = this.#userName(p.uid);
      if (p.exe?.startsWith("/")) p.exe = this.#realpath(p.exe);
    }
    if (p.cgroup === null && p.cgroupId) {
      const c = this.#cgroups.resolve(p.cgroupId);
      if (c) [p.cgroup, p.container, p.unit] = [c.path, c.container, c.unit];
    }
    return p;
  }

  #realpath(path: string): string {
    let real = this.#realpaths.get(path);
    if (real === undefined) {
      try {
        real = Deno.realPathSync(path);
      } catch {
        real = path;
      }
      if (this.#realpaths.size > 4096) this.#realpaths.clear();
      this.#realpaths.set(path, real);
    }
    return real;
  }

  #userName(uid: number): string | null {
    if (!this.#users.has(uid) && performance.now() - this.#usersRead > PASSWD_REREAD_MS) {
      this.#usersRead = performance.now();
      this.#users = new Map();
      try {
        for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
          const c = line.split(":");
          if (c.length > 2) this.#users.set(Number(c[2]), c[0]);
        }
      } catch { /* no passwd */ }
    }
    return this.#users.get(uid) ?? null;
  }
}

function u64(v: DataView, off: number): number {
  return LE
    ? v.getUint32(off, true) + v.getUint32(off + 4, true) * 2 ** 32
    : v.getUint32(off + 4, false) + v.getUint32(off, false) * 2 ** 32;
}

const CAP_SYS_ADMIN = 21n, CAP_PERFMON = 38n, CAP_BPF = 39n;

/** Why this process may not load BPF programs, or null (when unsure, loading will tell). */
function capabilityProblem(): string | null {
  let status: string;
  try {
    status = Deno.readTextFileSync("/proc/self/status");
  } catch {
    return null;
  }
  const eff = status.match(/^CapEff:\s*([0-9a-f]+)$/m)?.[1];
  if (!eff) return null;
  const caps = BigInt(`0x${eff}`);
  const has = (c: bigint) => ((caps >> c) & 1n) === 1n;
  if (has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))) return null;
  const uid = status.match(/^Uid:\s*(\d+)/m)?.[1];
  const grant = "CAP_BPF and CAP_PERFMON (e.g. setcap cap_bpf,cap_perfmon+ep on the executable)";
  return uid === "0"
    ? `this process runs as root but without CAP_BPF and CAP_PERFMON (a container or a service that ` +
      `dropped them): grant it ${grant}`
    : `it needs root: this process runs as uid ${uid}, without CAP_BPF and CAP_PERFMON. Run it as root, ` +
      `or grant it ${grant}`;
}

function isDenoPermission(e: unknown): boolean {
  return e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied;
}

function denoPermission(e: Error): EbpfUnavailableError {
  return new EbpfUnavailableError(
    "no-permission",
    `Deno was not allowed to (${e.message}); run with --allow-ffi --allow-read (or --allow-all)`,
  );
}

function advice(e: BpfError): string {
  switch (e.code) {
    case "no-libbpf":
      return `${e.message}. Install it: Debian/Ubuntu 'apt-get install libbpf1', Fedora 'dnf install libbpf'`;
    case "no-btf":
      return `${e.message}: the kernel must be built with BTF (most distribution kernels since 2021 are)`;
    case "load-failed":
      return `${e.message}. EPERM means root is still missing a privilege (lockdown, seccomp, a container); ` +
        `the kernel needs BTF tracepoints (5.11 or later)`;
    default:
      return e.message;
  }
}
