// The IPFIX exporter: a session sink that turns flow records into IPFIX data records and sends
// them to a collector. A flow is exported when its record comes out of the flow table: when it
// ends (idle, FIN/RST, evicted, end of input) and, while it lasts, at each active timeout.
import * as abi from "../../decoder/abi.ts";
import type { AppEvent } from "../../decoder/app_event.ts";
import { BoundedTable } from "../../base/bounded_table.ts";
import { tlsRecord } from "../../app/tls/message.ts";
import type { FlowView } from "../rows.ts";
import type { SessionSink } from "../sink.ts";
import { MessageBuilder } from "./message.ts";
import { type Template, templates } from "./template.ts";
import { type Collector, openTransport, type Transport } from "./transport.ts";

export interface IpfixSettings {
  collector: Collector;
  /** Private enterprise number of wiresight's own elements. */
  pen: number;
  observationDomain: number;
  /** Largest message, in bytes. */
  mtu: number;
  /** Over UDP, templates are sent again this often (seconds)... */
  templateRefresh: number;
}

/** ...and at least every this many messages, so a collector that started late soon learns them. */
const TEMPLATE_EVERY_MESSAGES = 100;
/** A message waiting for more records is sent after this long (a capture's quiet moments). */
const FLUSH_MS = 1000;
/** Flows whose JA4 is kept until their last record, at most. */
const JA4_FLOWS = 65536;

export class IpfixExporter implements SessionSink {
  readonly #builder: MessageBuilder;
  readonly #v4: Template;
  readonly #v6: Template;
  readonly #ja4 = new BoundedTable<string, number>("ipfix_ja4", JA4_FLOWS);
  readonly #timer: ReturnType<typeof setInterval>;
  #lastTemplates = 0;
  #messagesSinceTemplates = 0;
  #lastSend = Date.now();
  #closed = false;

  private constructor(readonly settings: IpfixSettings, readonly transport: Transport) {
    const t = templates(settings.pen);
    this.#v4 = t.v4;
    this.#v6 = t.v6;
    this.#builder = new MessageBuilder(settings.mtu, settings.observationDomain, [t.v4, t.v6]);
    this.#startTemplates(transport.startSession());
    this.#timer = setInterval(() => this.#tick(), FLUSH_MS);
    // The timer never keeps a finished run alive.
    Deno.unrefTimer(this.#timer);
  }

  /** Connects (TCP) or resolves (UDP) the collector; problems are warnings, the run goes on. */
  static async open(settings: IpfixSettings, warn: (message: string) => void): Promise<IpfixExporter> {
    return new IpfixExporter(settings, await openTransport(settings.collector, warn));
  }

  flow(view: FlowView): void {
    const f = view.record;
    // An idle stretch of a long flow (an active timeout without packets) says nothing: collectors
    // drop such records (nfcapd does), so they are not sent.
    if (f.packetsAtoB + f.packetsBtoA === 0) return this.#forget(f.id, f.endReason);
    if (this.transport.startSession()) this.#startTemplates(true);
    const ja4 = this.#ja4.peek(f.id) ?? null;
    this.#forget(f.id, f.endReason);
    const full = this.#builder.add(f.ipVersion === 6 ? this.#v6 : this.#v4, view, { ja4 });
    if (full) {
      this.#send(full);
      if (this.#refreshDue()) this.#startTemplates(false);
    }
  }

  /** A flow's last record takes its JA4 along; continuations after an active timeout keep it. */
  #forget(flowId: number, endReason: string): void {
    if (endReason !== "active_timeout") this.#ja4.delete(flowId);
  }

  /** A TLS or QUIC ClientHello names the flow's client by its JA4. */
  app(e: AppEvent): void {
    if (e.kind !== abi.AK_TLS_CLIENT_HELLO) return;
    const ja4 = tlsRecord(e).ja4;
    if (ja4) this.#ja4.set(e.flowId, ja4);
  }

  /** Sends what is left; `finished` then waits until it is out. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.#builder.pending) this.#send(this.#builder.take());
  }

  /** Resolves once every message left (or could not be sent) and the socket is closed. */
  finished(): Promise<void> {
    this.close();
    return this.transport.close();
  }

  #startTemplates(newSession: boolean): void {
    this.#lastTemplates = Date.now();
    this.#messagesSinceTemplates = 0;
    for (const m of this.#builder.withTemplates(newSession)) this.#send(m);
  }

  #send(message: Uint8Array): void {
    this.transport.send(message);
    this.#messagesSinceTemplates++;
    this.#lastSend = Date.now();
  }

  /** Over UDP templates are not remembered by a collector that restarted: they go again in time. */
  #refreshDue(): boolean {
    if (this.settings.collector.transport !== "udp") return false;
    return this.#messagesSinceTemplates >= TEMPLATE_EVERY_MESSAGES ||
      Date.now() - this.#lastTemplates >= this.settings.templateRefresh * 1000;
  }

  #tick(): void {
    const now = Date.now();
    if (this.#builder.pending && now - this.#lastSend >= FLUSH_MS) this.#send(this.#builder.take());
    else if (this.#refreshDue()) this.#startTemplates(false);
  }
}
