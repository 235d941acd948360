// `read --lines`: a line per packet of a capture file, as `capture` prints them. A wiresight
// pcapng notes each packet's process in its comment, which the decoder hands out after the
// packet: a line waits for the next event to know whether it has one.
import type { AppEvent } from "../decoder/app_event.ts";
import type { CommentRecord, PacketRecord } from "../decoder/records.ts";
import { type NotedProcess, parseProcessComment } from "../proc/comment.ts";
import { FlowLabels } from "./flow_labels.ts";
import type { FlowView } from "./rows.ts";
import type { SessionSink } from "./sink.ts";
import type { PacketPrinter } from "./terminal.ts";

export class FileLines implements SessionSink {
  readonly #labels = new FlowLabels();
  #lines: string[] = [];
  /** The last packet, until its comment (or the next packet) comes. */
  #pending: { p: PacketRecord; app: string | null } | null = null;
  #count = 0;
  /** The column names go above the first line (none for a file that is no capture). */
  #headerDue: boolean;

  /** `limit`: lines made at most (later packets are ignored). */
  constructor(private readonly printer: PacketPrinter, header: boolean, private readonly limit = Infinity) {
    this.#headerDue = header;
  }

  /** All `limit` lines are made: reading may stop. */
  get done(): boolean {
    return this.#count >= this.limit;
  }

  packet(p: PacketRecord): void {
    this.#settle(null);
    if (this.done) return;
    this.#count++;
    this.#pending = { p, app: this.#labels.line(p) };
  }

  comment(c: CommentRecord): void {
    if (this.#pending?.p.frame === c.frame) this.#settle(parseProcessComment(c.text));
  }

  app(e: AppEvent): void {
    this.#labels.app(e);
  }

  flow({ record }: FlowView): void {
    this.#labels.end(record.id);
  }

  close(): void {
    this.#settle(null);
  }

  /** The lines made since the last call (the last packet's once input ended). */
  takeLines(): string[] {
    const lines = this.#lines;
    this.#lines = [];
    return lines;
  }

  #settle(noted: NotedProcess | null): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = null;
    // As capture saw it: sent by a local process (out), received by one (in), or both (local).
    const dir = noted ? (noted.peer ? "local" : noted.sent ? "out" : "in") : "-";
    if (this.#headerDue) this.#lines.push(this.printer.header());
    this.#headerDue = false;
    this.#lines.push(this.printer.format(pending.p, dir, noted, pending.app, noted?.peer ?? null));
  }
}
