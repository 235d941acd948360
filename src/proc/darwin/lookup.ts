// Which process owns a connection, on macOS: libproc lists every process's descriptors and each
// socket's endpoints (proc_pidfdinfo with PROC_PIDFDSOCKETINFO), as bandwhich and rustnet do. The
// table is built at start and rebuilt, rate-limited, on a miss. Untested on a real macOS system.
import { formatAddress } from "../../base/address.ts";
import { allPids, processDetails, processSockets } from "../../../ffi/libproc.ts";
import type { Endpoint, ProcessInfo, ProcessLookup, Transport } from "../process.ts";
import { SocketTable } from "../socket_table.ts";

const endpoint = (bytes: Uint8Array, port: number): Endpoint => ({
  address: formatAddress(bytes.length === 4 ? 4 : 6, bytes),
  port,
});

export class DarwinLookup implements ProcessLookup {
  readonly method = "libproc";
  readonly warning: string | null = null;
  readonly #sockets = new SocketTable();
  readonly #names = new Map<number, ProcessInfo | null>();
  #scannedAt = 0;

  constructor(private readonly refreshMs: number) {
    this.#scan();
  }

  #scan(): void {
    this.#scannedAt = performance.now();
    this.#sockets.clear();
    this.#names.clear();
    for (const pid of allPids()) {
      for (const s of processSockets(pid)) {
        this.#sockets.add({
          proto: s.proto,
          local: endpoint(s.local, s.localPort),
          remote: endpoint(s.remote, s.remotePort),
          pid,
        });
      }
    }
  }

  lookup(proto: Transport, local: Endpoint, remote: Endpoint): ProcessInfo | null {
    let pid = this.#sockets.find(proto, local, remote);
    if (pid === null && performance.now() - this.#scannedAt >= this.refreshMs) {
      this.#scan();
      pid = this.#sockets.find(proto, local, remote);
    }
    return pid === null ? null : this.#process(pid);
  }

  #process(pid: number): ProcessInfo | null {
    if (!this.#names.has(pid)) {
      const d = processDetails(pid);
      this.#names.set(
        pid,
        d && { pid, name: d.comm, exe: d.exe, cmdline: d.exe ?? d.comm, uid: d.uid, user: d.user },
      );
    }
    return this.#names.get(pid) ?? null;
  }
}
