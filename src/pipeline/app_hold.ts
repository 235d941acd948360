// Application protocols in the protocol filter, for a live capture. A packet belongs to its flow's
// application, which shows only at the flow's first payload. A classifier decoder (application
// detection, no filters) sees each batch first. Records of flows whose application is decided go
// on at once; those of a flow still undecided wait in a bounded hold, and go on, in their order,
// when it is decided, when the flow ends, when its first held record is HOLD_SECONDS older than
// the newest one captured, when the flow holds HOLD_PACKETS or all flows HOLD_BYTES (then as of
// no application), or when capture ends. Each record that goes on carries its mark into the main
// decoder, which keeps or drops it with the rest of the protocol filter. A flow let go late comes
// after the packets of other flows captured meanwhile (also in a written capture).
import type { AppMarks, DecoderConfig } from "../decoder/decoder.ts";
import { Decoder } from "../decoder/decoder.ts";
import * as abi from "../decoder/abi.ts";
import type { FlowRecord, PacketRecord } from "../decoder/records.ts";
import { Records } from "../source/framing.ts";
import { feedRecords, type RecordHold } from "../source/live.ts";
import { appMarker, emptyMarks, setMark } from "./app_marks.ts";

/** Records one undecided flow may hold (detection gives up after a few payloads anyway). */
export const HOLD_PACKETS = 64;
/** Bytes all held records may take together. */
export const HOLD_BYTES = 16 << 20;
/** Capture time a flow's first held record waits at most. */
export const HOLD_SECONDS = 5;

interface Held {
  records: Uint8Array[];
  /** Capture time of the first one, in seconds. */
  since: number;
}

export class AppHold implements RecordHold {
  readonly #markOf: (app: number) => number;
  readonly #held = new Map<number, Held>();
  #heldBytes = 0;
  /** Records handed to the main decoder so far (the index of the next one there). */
  #fed = 0;
  /** What goes on from the current call: records and their marks. */
  #out: Uint8Array[] = [];
  #outMarks: number[] = [];
  #batch: Uint8Array = new Uint8Array(0);
  #bounds: number[] = [];
  #firstFrame = 1;
  #newest = 0;

  private constructor(private readonly classifier: Decoder, private readonly apps: DecoderConfig["apps"]) {
    this.#markOf = appMarker(apps);
  }

  /** A hold for a capture whose records follow `fileHeader`. */
  static async create(config: DecoderConfig, fileHeader: Uint8Array): Promise<AppHold> {
    const classifier = await Decoder.create({
      maxFlows: config.maxFlows,
      timeouts: config.timeouts,
      packets: { payloadMax: 0 },
    });
    classifier.beginFile();
    feedRecords(classifier, fileHeader, false, {});
    return new AppHold(classifier, config.apps);
  }

  release(batch: Uint8Array, decoder: Decoder): Uint8Array {
    this.#batch = batch;
    this.#bounds = [];
    for (const r = new Records(batch); r.next();) this.#bounds.push(r.start, r.end);
    feedRecords(this.classifier, batch, false, {
      packet: (p) => this.#classify(p),
      flow: (f) => this.#ended(f),
    });
    this.#firstFrame += this.#bounds.length / 2;
    for (const [id, h] of this.#held) {
      if (this.#newest - h.since >= HOLD_SECONDS) this.#letGo(id, abi.APP_UNKNOWN);
    }
    return this.#emit(decoder);
  }

  end(decoder: Decoder): Uint8Array {
    for (const id of [...this.#held.keys()]) this.#letGo(id, abi.APP_UNKNOWN);
    this.classifier.free();
    return this.#emit(decoder);
  }

  #classify(p: PacketRecord): void {
    const i = 2 * (p.frame - this.#firstFrame);
    const record = this.#batch.subarray(this.#bounds[i], this.#bounds[i + 1]);
    this.#newest = Math.max(this.#newest, p.tsSec + p.tsNsec / 1e9);
    if (!p.flowId || p.appDecided) {
      if (p.flowId) this.#letGo(p.flowId, p.app);
      this.#pass(record, this.#markOf(p.app));
      return;
    }
    let h = this.#held.get(p.flowId);
    if (!h) this.#held.set(p.flowId, h = { records: [], since: p.tsSec + p.tsNsec / 1e9 });
    // A copy: the batch's memory goes back to the capture ring.
    h.records.push(record.slice());
    this.#heldBytes += record.length;
    if (h.records.length >= HOLD_PACKETS) this.#letGo(p.flowId, abi.APP_UNKNOWN);
    while (this.#heldBytes > HOLD_BYTES) this.#letGo(this.#held.keys().next().value!, abi.APP_UNKNOWN);
  }

  /** A flow ended in the classifier: its application is as final as it gets. */
  #ended(f: FlowRecord): void {
    this.#letGo(f.id, f.app);
  }

  #letGo(flowId: number, app: number): void {
    const h = this.#held.get(flowId);
    if (!h) return;
    this.#held.delete(flowId);
    const mark = this.#markOf(app);
    for (const r of h.records) {
      this.#heldBytes -= r.length;
      this.#pass(r, mark);
    }
  }

  #pass(record: Uint8Array, mark: number): void {
    this.#out.push(record);
    this.#outMarks.push(mark);
  }

  /** Joins what goes on and marks it in the main decoder. */
  #emit(decoder: Decoder): Uint8Array {
    const n = this.#out.length;
    const marks: AppMarks = emptyMarks(n, this.apps);
    this.#outMarks.forEach((m, i) => setMark(marks, i, m));
    decoder.setAppMarks(this.#fed, marks);
    this.#fed += n;
    const bytes = new Uint8Array(this.#out.reduce((a, r) => a + r.length, 0));
    let at = 0;
    for (const r of this.#out) {
      bytes.set(r, at);
      at += r.length;
    }
    this.#out = [];
    this.#outMarks = [];
    return bytes;
  }
}
