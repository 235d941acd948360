// What a protocol room provides: its report section (AppSummary routes events to them), its
// export and its events in the EVE stream.
import type { AppEvent } from "../decoder/app_event.ts";
import type { Style } from "../base/format.ts";
import { type Column, describe, type RowSchema } from "../base/columns.ts";
import { isoTime } from "../decoder/records.ts";

export interface Section<R> {
  /** The report key ("dns", "http" ...). */
  readonly key: string;
  /** The AK_* event kinds this section takes. */
  readonly kinds: readonly number[];
  add(e: AppEvent): void;
  /** null when nothing of this protocol was seen. */
  report(top: number): R | null;
  /** The section of the human report: a heading and its lines. */
  text(r: R, st: Style): string[];
}

/** An `--export-type` made of application-layer records (also the records a session keeps). */
export interface AppExport extends RowSchema<AppEvent> {
  type: string;
  /** The AK_* event kinds it takes, one row each. */
  kinds: readonly number[];
}

/** The columns every application-layer export starts with. */
const APP_BASE_COLUMNS: readonly Column<AppEvent>[] = [
  { name: "time", type: "text", get: (e) => isoTime(e.tsSec, e.tsNsec) },
  { name: "flow_id", type: "integer", get: (e) => e.flowId },
  { name: "frame", type: "integer", get: (e) => e.frame },
  { name: "src", type: "text", get: (e) => e.src },
  { name: "src_port", type: "integer", get: (e) => e.srcPort },
  { name: "dst", type: "text", get: (e) => e.dst },
  { name: "dst_port", type: "integer", get: (e) => e.dstPort },
];

/** An export of the events of KINDS: the common columns, then its own. */
export function appExport(
  type: string,
  kinds: readonly number[],
  columns: readonly Column<AppEvent>[],
): AppExport {
  return { type, kinds, ...describe([...APP_BASE_COLUMNS, ...columns]) };
}

/** One event of the EVE stream (Suricata 7's field names and shapes). */
export type EveRecord = Record<string, unknown>;

/**
 * A protocol's events in the EVE stream. Suricata logs some per transaction or session (an HTTP
 * request with its response, a TLS handshake with its certificate): what waits is bounded.
 */
export interface EveLog {
  /** The AK_* event kinds it takes. */
  readonly kinds: readonly number[];
  /** Takes an event; writes the EVE records it completes. */
  add(e: AppEvent, write: (r: EveRecord) => void): void;
  /** A flow ended: writes what waited for it. */
  flowEnd(flowId: number, write: (r: EveRecord) => void): void;
  /** The stream ends: writes everything still waiting. */
  close(write: (r: EveRecord) => void): void;
}

/**
 * Names for flows, learned from their own payload (TLS/QUIC SNI, HTTP Host): kept until the
 * flow's record goes out, bounded.
 */
export class FlowNames {
  readonly #names = new Map<number, string>();
  /** Off unless flow records are taken (nothing would take the names back out). */
  enabled = false;
  constructor(private readonly capacity = 65536) {}

  set(flowId: number, name: string): void {
    if (!this.enabled) return;
    if (this.#names.has(flowId) || this.#names.size < this.capacity) this.#names.set(flowId, name);
  }

  /** The name, forgotten once taken (the flow ended). */
  take(flowId: number): string | undefined {
    const n = this.#names.get(flowId);
    this.#names.delete(flowId);
    return n;
  }
}
