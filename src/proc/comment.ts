// The process noted in a packet comment of a wiresight pcapng: written by capture --write, read
// back by `read`, the report and the web view.
import { BoundedTable } from "../base/bounded_table.ts";
import type { CommentRecord } from "../decoder/records.ts";
import type { ProcessInfo, ProcessNote } from "./process.ts";

/**
 * The comment noting a packet's process:
 * "wiresight process role=sent|received pid=… name=… exe=… user=…".
 */
export const PROCESS_COMMENT = "wiresight process";

export function processComment(p: ProcessInfo, sent: boolean): string {
  const parts = [`role=${sent ? "sent" : "received"}`, `pid=${p.pid}`, `name=${p.name}`];
  if (p.exe) parts.push(`exe=${p.exe}`);
  if (p.user) parts.push(`user=${p.user}`);
  return `${PROCESS_COMMENT} ${parts.join(" ")}`;
}

export interface NotedProcess extends ProcessNote {
  /** The process sent the packet (else it received it). */
  sent: boolean;
}

/** The process a comment notes, or null (values may hold spaces: the keys mark the fields). */
export function parseProcessComment(comment: string): NotedProcess | null {
  if (!comment.startsWith(PROCESS_COMMENT + " ")) return null;
  const fields: Record<string, string> = {};
  const re = /(role|pid|name|exe|user)=(.*?)(?= (?:role|pid|name|exe|user)=|$)/g;
  for (const m of comment.slice(PROCESS_COMMENT.length + 1).matchAll(re)) fields[m[1]] = m[2];
  if (!fields.pid || !fields.name) return null;
  return {
    pid: Number(fields.pid),
    name: fields.name,
    exe: fields.exe ?? null,
    user: fields.user ?? null,
    sent: fields.role !== "received",
  };
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

  take(flowId: number): ProcessNote | null {
    const p = this.#byFlow.peek(String(flowId)) ?? null;
    this.#byFlow.delete(String(flowId));
    return p;
  }
}
