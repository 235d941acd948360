// Traffic per process for the report: packets, bytes each way and flows, from live owners
// (capture) or from the process notes in a wiresight pcapng's packet comments (read). A packet
// counts for the process that sent it, or else for the local one that received it.
import type { CommentRecord } from "../decoder/records.ts";
import { parseProcessComment } from "../proc/comment.ts";
import { bytesText, count, type Style, table } from "../base/format.ts";

export interface ProcessTotals {
  pid: number;
  name: string;
  exe: string | null;
  user: string | null;
  packets: number;
  /** Bytes the process sent and received. */
  bytes_sent: number;
  bytes_received: number;
  flows: number;
}

type Owner = Pick<ProcessTotals, "pid" | "name" | "exe" | "user">;

const MAX_PROCESSES = 10_000;

export class ProcessTable {
  readonly #byPid = new Map<number, ProcessTotals & { flowIds: Set<number> }>();

  /** A packet of `owner`'s; `sent` when the process sent it. */
  add(owner: Owner, flowId: number, bytes: number, sent: boolean): void {
    let t = this.#byPid.get(owner.pid);
    if (!t) {
      if (this.#byPid.size >= MAX_PROCESSES) return;
      const { pid, name, exe, user } = owner;
      t = {
        pid,
        name,
        exe,
        user,
        packets: 0,
        bytes_sent: 0,
        bytes_received: 0,
        flows: 0,
        flowIds: new Set(),
      };
      this.#byPid.set(owner.pid, t);
    }
    t.packets++;
    if (sent) t.bytes_sent += bytes;
    else t.bytes_received += bytes;
    if (flowId && !t.flowIds.has(flowId)) {
      t.flows++;
      // Only new-flow detection needs the ids; keep the set small.
      if (t.flowIds.size < 4096) t.flowIds.add(flowId);
    }
  }

  /** A packet comment of a wiresight capture noting the process that sent or received it. */
  addComment(c: CommentRecord): void {
    const noted = parseProcessComment(c.text);
    if (noted) this.add(noted, c.flowId, c.wirelen, noted.sent);
    if (noted?.peer) this.add(noted.peer, c.flowId, c.wirelen, false);
  }

  get size(): number {
    return this.#byPid.size;
  }

  top(n: number): ProcessTotals[] {
    return [...this.#byPid.values()]
      .sort((a, b) => b.bytes_sent + b.bytes_received - a.bytes_sent - a.bytes_received)
      .slice(0, n)
      .map(({ flowIds: _, ...t }) => t);
  }
}

export function processesText(ps: ProcessTotals[], st: Style): string[] {
  return [
    st.heading("Processes"),
    table(
      ["Process", "User", "Packets", "Sent", "Received", "Flows", "Executable"],
      ps.map((p) => [
        `${p.name}(${p.pid})`,
        p.user ?? "-",
        count(p.packets),
        bytesText(p.bytes_sent),
        bytesText(p.bytes_received),
        count(p.flows),
        p.exe ?? "-",
      ]),
    ),
  ];
}
