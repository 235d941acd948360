// What a protocol room provides: its report section (AppSummary routes events to them), its
// export and its events in the EVE stream.
import type { AppEvent } from "../decoder/app_event.ts";
import type { Style } from "../base/format.ts";
import type { Row } from "../base/columns.ts";
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

/** An `--export-type` made of application-layer records. */
export interface AppExport {
  type: string;
  kinds: readonly number[];
  columns: readonly string[];
  row(e: AppEvent): Row;
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

/** The columns every application-layer export starts with (filled by appRowBase). */
export const APP_BASE_COLUMNS = ["time", "flow_id", "frame", "src", "src_port", "dst", "dst_port"] as const;

export function appRowBase(e: AppEvent): Row {
  return {
    time: isoTime(e.tsSec, e.tsNsec),
    flow_id: e.flowId,
    frame: e.frame,
    src: e.src,
    src_port: e.srcPort,
    dst: e.dst,
    dst_port: e.dstPort,
  };
}
