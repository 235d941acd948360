// What `capture` shows in the terminal as packets come: a line per packet (with the latest
// application message of its flow), and the live totals behind the stats panel and the socket
// reports. Lines wait here, as bytes, until the command writes them out between batches.
import { dnsMessage } from "../app/dns/message.ts";
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import type { PacketRecord } from "../decoder/records.ts";
import { LiveTraffic } from "../report/live.ts";
import { FlowLabels } from "./flow_labels.ts";
import type { FlowView } from "./rows.ts";
import type { PacketContext, SessionSink } from "./sink.ts";
import type { PacketPrinter } from "./terminal.ts";
import { LineBuffer } from "./line_buffer.ts";

export class CaptureTerminal implements SessionSink {
  readonly traffic: LiveTraffic;
  readonly #labels = new FlowLabels();
  readonly #lines = new LineBuffer();
  /** Capture has ended: flows still open stay in the final socket report. */
  ended = false;

  constructor(private readonly printer: PacketPrinter | null, dnsKept: number) {
    this.traffic = new LiveTraffic(dnsKept);
  }

  packet(p: PacketRecord, who: PacketContext): void {
    this.traffic.add(p, who, this.#labels.protocol(p.flowId));
    if (this.printer) {
      const app = this.#labels.line(p);
      this.printer.write(this.#lines, p, who.direction ?? "fwd", who.owner?.process, app, who.peer);
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

  /**
   * The lines made since the last call, each ending in a newline; valid until the next packet
   * (write them out first).
   */
  takeLines(): Uint8Array {
    return this.#lines.take();
  }
}
