// What `capture` shows in the terminal as packets come: a line per packet (with the latest
// application message of its flow), and the live totals behind the stats panel and the socket
// reports. Lines wait here until the command writes them out between batches.
import { dnsMessage } from "../app/dns/message.ts";
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import type { PacketRecord } from "../decoder/records.ts";
import { LiveTraffic } from "../report/live.ts";
import { FlowLabels } from "./flow_labels.ts";
import type { FlowView } from "./rows.ts";
import type { PacketContext, SessionSink } from "./sink.ts";
import type { PacketPrinter } from "./terminal.ts";

export class CaptureTerminal implements SessionSink {
  readonly traffic: LiveTraffic;
  readonly #labels = new FlowLabels();
  #lines: string[] = [];
  /** Capture has ended: flows still open stay in the final socket report. */
  ended = false;

  constructor(private readonly printer: PacketPrinter | null, dnsKept: number) {
    this.traffic = new LiveTraffic(dnsKept);
  }

  packet(p: PacketRecord, who: PacketContext): void {
    this.traffic.add(p, who, this.#labels.protocol(p.flowId));
    if (this.printer) {
      this.#lines.push(
        this.printer.format(p, who.direction ?? "fwd", who.owner?.process, this.#labels.line(p), who.peer),
      );
    }
  }

  flow({ record }: FlowView): void {
    this.#labels.end(record.id);
    if (!this.ended) this.traffic.endFlow(record.id);
  }

  app(e: AppEvent): void {
    if (e.kind === abi.AK_DNS) this.traffic.dns(dnsMessage(e));
    this.#labels.app(e);
  }

  /** The lines made since the last call. */
  takeLines(): string[] {
    const lines = this.#lines;
    this.#lines = [];
    return lines;
  }
}
