// The shape every application-layer report section has; AppSummary routes events to them.
import type { AppEvent } from "../decoder/app_event.ts";
import type { Style } from "../report/format.ts";
import type { Row } from "../sinks/rows.ts";

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
