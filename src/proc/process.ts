// What attribution says about a process and a socket endpoint, whatever the OS and method.
import { printable } from "../base/format.ts";

export interface ProcessInfo {
  pid: number;
  /** /proc/<pid>/comm: the short name (at most 15 characters). */
  name: string;
  /** The executable's path, when it can be read. */
  exe: string | null;
  cmdline: string;
  uid: number | null;
  user: string | null;
  /** Its container (docker, podman ... id or LXC name) and systemd unit, when eBPF saw its cgroup. */
  container?: string | null;
  unit?: string | null;
  /** It had exited when it was looked up (what is kept is what it was). */
  exited?: boolean;
}

export interface Endpoint {
  address: string;
  port: number;
}

/** What a flow record or a pcapng comment notes of a process. */
export type ProcessNote = Pick<ProcessInfo, "pid" | "name" | "exe" | "user">;

export type Transport = "tcp" | "udp";

/**
 * The OS seam of process attribution: which process holds the local socket of a connection.
 * Each OS and method implements it; `noAttribution` says why there is none.
 */
export interface ProcessLookup {
  /** How owners are found, as the capture banner and the report name it ("none" when off). */
  readonly method: string;
  /** Why attribution is off or degraded, said once as a warning; null when all is well. */
  readonly warning: string | null;
  /**
   * The process holding the local socket of `local` <-> `remote`; `responder` when the local end
   * is the connection's responder (a server: its connection may not be accepted yet).
   */
  lookup(proto: Transport, local: Endpoint, remote: Endpoint, responder?: boolean): ProcessInfo | null;
  /** Releases what the method holds (eBPF programs, timers). */
  close?(): void;
}

/** No attribution, and why. */
export function noAttribution(reason: string): ProcessLookup {
  return { method: "none", warning: `process attribution is off: ${reason}`, lookup: () => null };
}

/** "name(pid)" (escaped: a process names itself), or "-" for none. */
export function processLabel(p: Pick<ProcessInfo, "name" | "pid"> | null | undefined): string {
  return p ? `${printable(p.name, 32)}(${p.pid})` : "-";
}
