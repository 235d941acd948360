// What attribution says about a process and a socket endpoint, whatever the OS and method.

export interface ProcessInfo {
  pid: number;
  /** /proc/<pid>/comm: the short name (at most 15 characters). */
  name: string;
  /** The executable's path, when it can be read. */
  exe: string | null;
  cmdline: string;
  uid: number | null;
  user: string | null;
}

export interface Endpoint {
  address: string;
  port: number;
}

/** What a flow record or a pcapng comment notes of a process. */
export type ProcessNote = Pick<ProcessInfo, "pid" | "name" | "exe" | "user">;
