// Which process owns a connection, on Linux: the kernel's sock_diag gives the socket inode of
// exact endpoints (/proc/net/{tcp,udp}{,6} when netlink is refused), /proc/<pid>/fd links map
// inodes to processes (as ss -p and nethogs do). Lookups are targeted (one flow's endpoints) and
// scan processes newest first, so a short-lived client is found while it still holds its socket;
// full rescans are rate-limited.
import { lookupSocket, sockDiagAvailable } from "../../ffi/sock_diag.ts";
import { formatIPv6, parseCidr } from "../base/address.ts";
import type { Endpoint, ProcessInfo, ProcessLookup, Transport } from "./process.ts";

/** A socket-holding process is rescanned for a new socket at most this often. */
const HOLDER_RESCAN_MS = 20;
/** Processes younger than this are rescanned at every miss: they are the likely new clients. */
const YOUNG_MS = 2000;

const dec = new TextDecoder();

function readText(path: string): string | null {
  try {
    return dec.decode(Deno.readFileSync(path));
  } catch {
    return null;
  }
}

function readLink(path: string): string | null {
  try {
    return Deno.readLinkSync(path);
  } catch {
    return null;
  }
}

/** "0100007F:1F90" (IPv4) or 32 hex digits (IPv6, four host-order words) and a port. */
export function parseProcAddress(hex: string): Endpoint {
  const [addr, port] = hex.split(":");
  const bytes: number[] = [];
  for (let w = 0; w < addr.length / 8; w++) {
    const word = addr.slice(w * 8, w * 8 + 8);
    // Each 32-bit word is printed in host (little-endian) order.
    for (let i = 3; i >= 0; i--) bytes.push(parseInt(word.slice(i * 2, i * 2 + 2), 16));
  }
  return {
    address: bytes.length === 4 ? bytes.join(".") : formatIPv6(Uint8Array.from(bytes)),
    port: parseInt(port, 16),
  };
}

/** A socket of /proc/net: its endpoints, owner uid and inode. */
interface Socket {
  local: Endpoint;
  remote: Endpoint;
  uid: number;
  inode: number;
}

export function readSockets(proto: "tcp" | "udp"): Socket[] {
  const out: Socket[] = [];
  for (const file of [`/proc/net/${proto}`, `/proc/net/${proto}6`]) {
    const text = readText(file);
    if (!text) continue;
    for (const line of text.split("\n").slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c.length < 10) continue;
      const inode = Number(c[9]);
      if (inode > 0) {
        out.push({ local: parseProcAddress(c[1]), remote: parseProcAddress(c[2]), uid: Number(c[7]), inode });
      }
    }
  }
  return out;
}

/** The same address whether written as IPv4 or as an IPv4-mapped IPv6 address. */
function sameAddress(a: string, b: string): boolean {
  return a === b || a === `::ffff:${b}` || b === `::ffff:${a}` ||
    (a === "0.0.0.0" || a === "::" || b === "0.0.0.0" || b === "::");
}

export class ProcessResolver implements ProcessLookup {
  /** sock_diag netlink for the socket, else /proc/net (netlink refused: some containers). */
  readonly method = sockDiagAvailable() ? "netlink" : "procfs";
  readonly warning = null;
  /** socket inode -> pid, from the last scans. */
  readonly #inodes = new Map<number, number>();
  /** pid -> what we know of it, while it lives (flows keep their own copy). */
  readonly #processes = new Map<number, ProcessInfo>();
  /** Processes whose descriptors were scanned, and when. */
  readonly #scanned = new Map<number, number>();
  /** Live processes, and when each was first listed. */
  #firstSeen = new Map<number, number>();
  /** Processes that held sockets at their last scan (servers accept new ones): rescanned first. */
  readonly #holders = new Set<number>();
  #users: Map<number, string> | undefined;
  #lastFullScan = 0;

  constructor(readonly fullScanIntervalMs = 1000) {}

  /**
   * The process owning the socket with this local endpoint (and remote, for connected
   * sockets); null when none is found.
   */
  lookup(proto: Transport, local: Endpoint, remote: Endpoint, responder = false): ProcessInfo | null {
    if (sockDiagAvailable()) {
      const diag = this.#diag(proto, local, remote);
      const pid = diag && diag.inode !== 0 ? this.#pidOf(diag.inode) : undefined;
      if (pid !== undefined) return this.#info(pid, diag!.uid);
      if (proto !== "tcp" || !responder) return null;
      // A connection its server has not accepted yet (no inode until accept()), or whose new
      // descriptor no scan has mapped yet, belongs to the process listening on its local port:
      // the kernel's lookup without a remote end finds the listener.
      const any = { address: local.address.includes(":") ? "::" : "0.0.0.0", port: 0 };
      const listener = this.#diag(proto, local, any);
      const owner = listener && listener.inode !== 0 ? this.#pidOf(listener.inode) : undefined;
      return owner === undefined ? null : this.#info(owner, listener!.uid);
    }
    const sockets = readSockets(proto).filter((s) =>
      s.local.port === local.port && sameAddress(s.local.address, local.address)
    );
    // Prefer the connected socket for this peer over a listening/unconnected one.
    sockets.sort((a, b) => Number(b.remote.port === remote.port) - Number(a.remote.port === remote.port));
    for (const s of sockets) {
      const pid = this.#pidOf(s.inode);
      if (pid !== undefined) return this.#info(pid, s.uid);
    }
    return null;
  }

  /**
   * The socket from sock_diag. One question is enough: for IPv4 endpoints the kernel's lookup
   * also finds dual-stack IPv6 sockets (and answers the same for v4-mapped addresses).
   */
  #diag(proto: "tcp" | "udp", local: Endpoint, remote: Endpoint) {
    const l = parseCidr(local.address), r = parseCidr(remote.address);
    if (!l || !r || l.ipVersion !== r.ipVersion) return null;
    const size = l.ipVersion === 4 ? 4 : 16;
    return lookupSocket(
      proto === "tcp" ? 6 : 17,
      l.bytes.subarray(0, size),
      local.port,
      r.bytes.subarray(0, size),
      remote.port,
    );
  }

  #pidOf(inode: number): number | undefined {
    const known = this.#inodes.get(inode);
    if (known !== undefined) {
      this.#remember(known);
      return known;
    }
    // New processes first (highest pids): a short-lived client is the likely owner.
    const pids = this.#pids().sort((a, b) => b - a);
    const now = performance.now();
    const full = now - this.#lastFullScan > this.fullScanIntervalMs;
    if (full) this.#startFullScan(now);
    const found = (pid: number) => {
      this.#scanFds(pid);
      if (this.#inodes.get(inode) !== pid) return false;
      // Read what the process is now, while it is alive.
      this.#remember(pid);
      return true;
    };
    // A young process may have been scanned before it opened its socket (a client started next
    // to another one), so young ones are scanned again.
    const due = (pid: number) =>
      full || !this.#scanned.has(pid) || now - (this.#firstSeen.get(pid) ?? now) < YOUNG_MS;
    for (const pid of pids) if (due(pid) && found(pid)) return pid;
    // Then processes known to hold sockets (a server's freshly accepted connection), if not just scanned.
    for (const pid of [...this.#holders].sort((a, b) => b - a)) {
      if (now - (this.#scanned.get(pid) ?? 0) > HOLDER_RESCAN_MS && found(pid)) return pid;
    }
    return undefined;
  }

  /** Why processes cannot be read here (Deno guards /proc unless --allow-all), or null. */
  static unavailable(): string | null {
    try {
      Deno.readDirSync(`/proc/${Deno.pid}/fd`);
      return null;
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
        return "reading /proc needs --allow-all (deno task wiresight grants it)";
      }
      return (e as Error).message;
    }
  }

  /** Maps every socket of every process once, so later lookups only scan new processes. */
  warmUp(): void {
    const pids = this.#pids();
    this.#startFullScan(performance.now());
    for (const pid of pids) this.#scanFds(pid);
  }

  /** Forgets sockets that may be closed; the scan that follows maps the open ones again. */
  #startFullScan(now: number): void {
    this.#lastFullScan = now;
    this.#inodes.clear();
  }

  /** The live processes; what was kept about exited ones is dropped, so memory stays bounded. */
  #pids(): number[] {
    const pids: number[] = [];
    try {
      for (const e of Deno.readDirSync("/proc")) if (/^\d+$/.test(e.name)) pids.push(Number(e.name));
    } catch { /* no /proc */ }
    const now = performance.now();
    const firstSeen = new Map<number, number>();
    for (const pid of pids) firstSeen.set(pid, this.#firstSeen.get(pid) ?? now);
    for (const pid of this.#firstSeen.keys()) {
      if (firstSeen.has(pid)) continue;
      this.#scanned.delete(pid);
      this.#holders.delete(pid);
      this.#processes.delete(pid);
    }
    this.#firstSeen = firstSeen;
    return pids;
  }

  #scanFds(pid: number): void {
    this.#scanned.set(pid, performance.now());
    this.#holders.delete(pid);
    try {
      for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
        const link = readLink(`/proc/${pid}/fd/${e.name}`);
        const m = link?.match(/^socket:\[(\d+)\]$/);
        if (m) {
          this.#inodes.set(Number(m[1]), pid);
          this.#holders.add(pid);
        }
      }
    } catch { /* gone, or not ours to read */ }
  }

  #remember(pid: number): void {
    if (this.#processes.has(pid)) return;
    const name = readText(`/proc/${pid}/comm`)?.trim();
    if (name === undefined) return;
    this.#processes.set(pid, {
      pid,
      name,
      exe: readLink(`/proc/${pid}/exe`),
      cmdline: (readText(`/proc/${pid}/cmdline`) ?? "").split("\0").filter((x) => x).join(" "),
      uid: null,
      user: null,
    });
  }

  #info(pid: number, uid: number): ProcessInfo | null {
    const p = this.#processes.get(pid);
    if (!p) return null;
    if (p.uid === null) {
      p.uid = uid;
      p.user = this.#userName(uid);
    }
    return p;
  }

  #userName(uid: number): string | null {
    if (!this.#users) {
      this.#users = new Map();
      for (const line of (readText("/etc/passwd") ?? "").split("\n")) {
        const c = line.split(":");
        if (c.length > 2) this.#users.set(Number(c[2]), c[0]);
      }
    }
    return this.#users.get(uid) ?? null;
  }
}
