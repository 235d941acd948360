// A snapshot of which process holds which socket, for systems that list sockets with their owners
// in one go (Windows' OWNER_PID tables and flow events, macOS's libproc): a connection's exact
// endpoints first, then a socket bound to the local port alone (listeners, UDP), on its address or
// on every address.
import type { Endpoint, Transport } from "./process.ts";

export interface OwnedSocket {
  proto: Transport;
  local: Endpoint;
  /** Null (or port 0) for a socket with no peer. */
  remote: Endpoint | null;
  pid: number;
}

/** IPv4-mapped IPv6 written as IPv4, so both spellings meet. */
function plain(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

const key = (proto: Transport, local: Endpoint, remote: Endpoint | null) =>
  `${proto} ${plain(local.address)} ${local.port}` +
  (remote ? ` ${plain(remote.address)} ${remote.port}` : "");

export class SocketTable {
  readonly #owners = new Map<string, number>();

  constructor(readonly limit = 1 << 16) {}

  get size(): number {
    return this.#owners.size;
  }

  add(s: OwnedSocket): void {
    const remote = s.remote && s.remote.port !== 0 ? s.remote : null;
    const k = key(s.proto, s.local, remote);
    // Oldest first out when full (a Map keeps insertion order): a re-added socket moves last.
    this.#owners.delete(k);
    this.#owners.set(k, s.pid);
    if (this.#owners.size > this.limit) this.#owners.delete(this.#owners.keys().next().value!);
  }

  remove(s: OwnedSocket): void {
    this.#owners.delete(key(s.proto, s.local, s.remote && s.remote.port !== 0 ? s.remote : null));
  }

  clear(): void {
    this.#owners.clear();
  }

  /** The owner of `local` <-> `remote`, or of the local port it is bound to; null when unknown. */
  find(proto: Transport, local: Endpoint, remote: Endpoint): number | null {
    const any = local.address.includes(":") && !local.address.startsWith("::ffff:") ? "::" : "0.0.0.0";
    return this.#owners.get(key(proto, local, remote)) ??
      this.#owners.get(key(proto, local, null)) ??
      this.#owners.get(key(proto, { address: any, port: local.port }, null)) ??
      // A dual-stack socket bound to [::] takes IPv4 too.
      this.#owners.get(key(proto, { address: "::", port: local.port }, null)) ?? null;
  }
}
