// One decoding worker of a parallel run (workers.ts): reads the captures with its own decoder,
// which decodes its share of the flows, and hands on the events the main thread reports on
// (application messages, packet comments) in batches, then its counters and whole report tables.
import * as abi from "../decoder/abi.ts";
import { decodeSteps } from "../source/decode.ts";
import type { FromWorker, ToWorker } from "./workers.ts";

/** A report table's every entry (the decoder's tables hold at most 65536). */
const WHOLE_TABLE = 65536;
/** Batches handed on and not yet taken by the main thread, before this worker waits. */
const MAX_IN_FLIGHT = 4;

const scope = self as unknown as {
  postMessage(m: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
};

/** Events to hand on, copied out of the decoder's buffer as it is drained. */
class Outbox {
  #buf = new Uint8Array(1 << 16);
  #len = 0;
  #inFlight = 0;
  #taken: (() => void) | null = null;

  add(u8: Uint8Array, start: number, end: number): void {
    const need = this.#len + end - start;
    if (need > this.#buf.length) {
      const grown = new Uint8Array(Math.max(need, 2 * this.#buf.length));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(u8.subarray(start, end), this.#len);
    this.#len = need;
  }

  /** Sends what was collected (as events of file `file`), waiting while too many are untaken. */
  async send(file: number): Promise<void> {
    if (!this.#len) return;
    const bytes = this.#buf.slice(0, this.#len);
    this.#len = 0;
    this.#inFlight++;
    scope.postMessage({ type: "events", file, bytes }, [bytes.buffer]);
    while (this.#inFlight >= MAX_IN_FLIGHT) await new Promise<void>((r) => this.#taken = r);
  }

  taken(): void {
    this.#inFlight--;
    this.#taken?.();
    this.#taken = null;
  }
}

const outbox = new Outbox();

async function run(job: Extract<ToWorker, { type: "job" }>): Promise<void> {
  let file = 0;
  const steps = decodeSteps({
    files: job.files,
    decoder: job.decoder,
    bpf: job.bpf,
    top: WHOLE_TABLE,
    progress: (path, index, read, size) => {
      file = index;
      if (job.progress) scope.postMessage({ type: "progress", path, index, read, size });
    },
  }, {
    // The QUIC decryptor runs on app events (decode.ts); the main thread reports on them.
    app: () => {},
    comment: () => {},
    raw: (type, u8, start, end) => {
      if (type === abi.EV_APP || type === abi.EV_COMMENT) outbox.add(u8, start, end);
    },
  });
  for (;;) {
    const step = await steps.next();
    if (step.done) {
      await outbox.send(job.files.length);
      const { stats, files, interfaces, top, names, interfaceStats } = step.value;
      const result = { stats, files, interfaces, top, names, interfaceStats };
      scope.postMessage({ type: "done", result });
      return;
    }
    await outbox.send(file);
  }
}

scope.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === "taken") return outbox.taken();
  run(m).catch((e: Error) =>
    scope.postMessage({ type: "error", name: e.constructor.name, message: e.message })
  );
};
