// Which process owns a connection, on Windows: the IP Helper's OWNER_PID tables seed the socket
// table at start (and again, rate-limited, on a miss); WinDivert's FLOW layer, sniffing and
// receive-only, then reports each connection as it is established with its process id, so a
// short-lived client is known even after its socket is gone. Names and paths come from
// QueryFullProcessImageNameW, the user from the process token. Untested on a real Windows system.
import { formatAddress } from "../../base/address.ts";
import { ownerTable, type OwnerTableKind } from "../../../ffi/iphlpapi.ts";
import { processImageAndUser } from "../../../ffi/win32.ts";
import {
  decodeWinDivertAddress,
  WINDIVERT_EVENT_FLOW_ESTABLISHED,
  WINDIVERT_LAYER_FLOW,
  WinDivertHandle,
  WinDivertUnavailableError,
} from "../../../ffi/windivert.ts";
import type { Endpoint, ProcessInfo, ProcessLookup, Transport } from "../process.ts";
import { SocketTable } from "../socket_table.ts";

const TABLES: OwnerTableKind[] = ["tcp4", "tcp6", "udp4", "udp6"];
const IPPROTO_TCP = 6, IPPROTO_UDP = 17;

const endpoint = (bytes: Uint8Array, port: number): Endpoint => ({
  address: formatAddress(bytes.length === 4 ? 4 : 6, bytes),
  port,
});

/** Windows' pseudo-processes, which OpenProcess refuses. */
const SYSTEM_PROCESSES: Record<number, string> = { 0: "System Idle Process", 4: "System" };

/** The executable's file name of a Windows path. */
export function imageName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf("\\"), path.lastIndexOf("/")) + 1);
}

export class WindowsLookup implements ProcessLookup {
  readonly method: string;
  readonly warning: string | null;
  readonly #sockets = new SocketTable();
  readonly #flows: WinDivertHandle | null;
  readonly #names = new Map<number, ProcessInfo>();
  #seededAt = 0;

  constructor(private readonly refreshMs: number) {
    let flows: WinDivertHandle | null = null;
    let warning: string | null = null;
    try {
      flows = new WinDivertHandle("true", WINDIVERT_LAYER_FLOW, 0);
    } catch (e) {
      if (!(e instanceof WinDivertUnavailableError)) throw e;
      warning = `${e.message}; falling back to the IP Helper socket tables, which miss sockets ` +
        `that live only a few milliseconds`;
    }
    this.#flows = flows;
    this.method = flows ? "windivert" : "iphlpapi";
    this.warning = warning;
    this.#seed();
  }

  #seed(): void {
    this.#seededAt = performance.now();
    this.#names.clear();
    for (const kind of TABLES) {
      for (const row of ownerTable(kind)) {
        this.#sockets.add({
          proto: row.proto,
          local: endpoint(row.local, row.localPort),
          remote: row.remote ? endpoint(row.remote, row.remotePort) : null,
          pid: row.pid,
        });
      }
    }
  }

  /** Takes in the flow events WinDivert has reported since the last call. */
  #drainFlows(): void {
    if (!this.#flows) return;
    for (let got = this.#flows.poll(); got; got = this.#flows.poll()) {
      for (let i = 0; i < got.count; i++) {
        const a = decodeWinDivertAddress(got.addresses, i * 80);
        const f = a.flow;
        if (!f || a.event !== WINDIVERT_EVENT_FLOW_ESTABLISHED) continue;
        if (f.protocol !== IPPROTO_TCP && f.protocol !== IPPROTO_UDP) continue;
        // Deleted flows are kept: their packets may be looked up after the socket closed.
        this.#sockets.add({
          proto: f.protocol === IPPROTO_TCP ? "tcp" : "udp",
          local: endpoint(f.local, f.localPort),
          remote: endpoint(f.remote, f.remotePort),
          pid: f.processId,
        });
      }
    }
  }

  lookup(proto: Transport, local: Endpoint, remote: Endpoint): ProcessInfo | null {
    this.#drainFlows();
    let pid = this.#sockets.find(proto, local, remote);
    if (pid === null && performance.now() - this.#seededAt >= this.refreshMs) {
      this.#seed();
      pid = this.#sockets.find(proto, local, remote);
    }
    return pid === null ? null : this.#process(pid);
  }

  #process(pid: number): ProcessInfo {
    let info = this.#names.get(pid);
    if (!info) {
      const { exe, user } = pid in SYSTEM_PROCESSES ? { exe: null, user: null } : processImageAndUser(pid);
      const name = SYSTEM_PROCESSES[pid] ?? (exe ? imageName(exe) : `pid ${pid}`);
      info = { pid, name, exe, cmdline: exe ?? name, uid: null, user };
      this.#names.set(pid, info);
    }
    return info;
  }

  close(): void {
    this.#flows?.close();
  }
}
