// The process noted in a packet comment of a wiresight pcapng: written by capture --write, read
// back by `read`, the report and the web view.
import { BoundedTable } from "../base/bounded_table.ts";
import type { CommentRecord } from "../decoder/records.ts";
import type { ProcessNote } from "./process.ts";

/**
 * The comment noting a packet's process, and on loopback the receiver's too:
 * "wiresight process role=sent|received pid=… name=… exe=… user=… [peer_pid=… peer_name=… …]".
 */
export const PROCESS_COMMENT = "wiresight process";

const KEYS = ["role", "pid", "name", "exe", "user", "peer_pid", "peer_name", "peer_exe", "peer_user"];

function noteFields(p: ProcessNote, prefix = ""): string[] {
  const parts = [`${prefix}pid=${p.pid}`, `${prefix}name=${p.name}`];
  if (p.exe) parts.push(`${prefix}exe=${p.exe}`);
  if (p.user) parts.push(`${prefix}user=${p.user}`);
  return parts;
}

export function processComment(p: ProcessNote, sent: boolean, peer: ProcessNote | null = null): string {
  const parts = [`role=${sent ? "sent" : "received"}`, ...noteFields(p)];
  if (peer) parts.push(...noteFields(peer, "peer_"));
  return `${PROCESS_COMMENT} ${parts.join(" ")}`;
}

export interface NotedProcess extends ProcessNote {
  /** The process sent the packet (else it received it). */
  sent: boolean;
  /** The process that received it, when both ends were on the capturing machine. */
  peer: ProcessNote | null;
}

/** The processes a comment notes, or null (values may hold spaces: the keys mark the fields). */
export function parseProcessComment(comment: string): NotedProcess | null {
  if (!comment.startsWith(PROCESS_COMMENT + " ")) return null;
  const fields: Record<string, string> = {};
  const re = new RegExp(`(${KEYS.join("|")})=(.*?)(?= (?:${KEYS.join("|")})=|$)`, "g");
  for (const m of comment.slice(PROCESS_COMMENT.length + 1).matchAll(re)) fields[m[1]] = m[2];
  const note = (prefix: string): ProcessNote | null =>
    fields[`${prefix}pid`] && fields[`${prefix}name`]
      ? {
        pid: Number(fields[`${prefix}pid`]),
        name: fields[`${prefix}name`],
        exe: fields[`${prefix}exe`] ?? null,
        user: fields[`${prefix}user`] ?? null,
      }
      : null;
  const p = note("");
  return p && { ...p, sent: fields.role !== "received", peer: note("peer_") };
}

/** Flows whose noted owner waits for the flow's record. */
const MAX_FLOWS = 65536;

/** The owner a wiresight pcapng noted for each flow (its first commented packet), until the flow's record. */
export class CommentOwners {
  readonly #byFlow = new BoundedTable<ProcessNote>("comment_owners", MAX_FLOWS);

  note(c: CommentRecord): void {
    if (!c.flowId || this.#byFlow.peek(String(c.flowId))) return;
    const p = parseProcessComment(c.text);
    if (p) this.#byFlow.set(String(c.flowId), { pid: p.pid, name: p.name, exe: p.exe, user: p.user });
  }

  /** The owner noted for an open flow, kept for its record. */
  peek(flowId: number): ProcessNote | null {
    return this.#byFlow.peek(String(flowId)) ?? null;
  }

  take(flowId: number): ProcessNote | null {
    const p = this.#byFlow.peek(String(flowId)) ?? null;
    this.#byFlow.delete(String(flowId));
    return p;
  }
}
