// What `capture` shows in the terminal as packets come: a line per packet (with the latest
// application message of its flow), and the live totals behind the stats panel and the socket
// reports. Lines wait here until the command writes them out between batches.
import { dnsMessage } from "../app/dns/message.ts";
import { appName } from "../app/names.ts";
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import type { PacketRecord } from "../decoder/records.ts";
import { LiveTraffic } from "../report/live.ts";
import type { FlowView } from "./rows.ts";
import type { PacketContext, SessionSink } from "./sink.ts";
import { appLabel, type PacketPrinter } from "./terminal.ts";

/** Flows whose latest application message is kept for their packets' lines. */
const MAX_LABELS = 100_000;

export class CaptureTerminal implements SessionSink {
  readonly traffic: LiveTraffic;
  /** The latest application message per flow, shown on the packet that carried it. */
  readonly #labels = new Map<number, { frame: number; text: string; app: string }>();
  #lines: string[] = [];
  /** Capture has ended: flows still open stay in the final socket report. */
  ended = false;

  constructor(private readonly printer: PacketPrinter | null, dnsKept: number) {
    this.traffic = new LiveTraffic(dnsKept);
  }

  packet(p: PacketRecord, who: PacketContext): void {
    const label = this.#labels.get(p.flowId);
    const app = label ? (label.frame === p.frame ? label.text : label.app) : null;
    this.traffic.add(p, who, label?.app ?? null);
    if (this.printer) {
      this.#lines.push(this.printer.format(p, who.direction ?? "fwd", who.owner?.process, app, who.peer));
    }
  }

  flow({ record }: FlowView): void {
    this.#labels.delete(record.id);
    if (!this.ended) this.traffic.endFlow(record.id);
  }

  app(e: AppEvent): void {
    if (e.kind === abi.AK_DNS) this.traffic.dns(dnsMessage(e));
    if (this.#labels.size < MAX_LABELS || this.#labels.has(e.flowId)) {
      this.#labels.set(e.flowId, {
        frame: e.frame,
        text: appLabel(e),
        app: appName(e.app)?.toUpperCase() ?? "",
      });
    }
  }

  /** The lines made since the last call. */
  takeLines(): string[] {
    const lines = this.#lines;
    this.#lines = [];
    return lines;
  }
}
