// The latest application message of each flow, for its packets' lines: the message's summary on
// the packet that carried it ("DNS A? example.com"), the protocol's name on the flow's others.
import { appName } from "../app/names.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import type { PacketRecord } from "../decoder/records.ts";
import { appLabel } from "./terminal.ts";

/** Flows whose latest application message is kept. */
const MAX_LABELS = 100_000;

export class FlowLabels {
  readonly #labels = new Map<number, { frame: number; text: string; app: string }>();

  /** An application message: the decoder hands it out before its packet. */
  app(e: AppEvent): void {
    if (this.#labels.size < MAX_LABELS || this.#labels.has(e.flowId)) {
      this.#labels.set(e.flowId, {
        frame: e.frame,
        text: appLabel(e),
        app: appName(e.app)?.toUpperCase() ?? "",
      });
    }
  }

  end(flowId: number): void {
    this.#labels.delete(flowId);
  }

  /** The Application column of a packet's line (null: none known). */
  line(p: PacketRecord): string | null {
    const label = this.#labels.get(p.flowId);
    return label ? (label.frame === p.frame ? label.text : label.app) : null;
  }

  /** The application protocol of a packet's flow, as named so far (null: none). */
  protocol(flowId: number): string | null {
    return this.#labels.get(flowId)?.app ?? null;
  }
}
