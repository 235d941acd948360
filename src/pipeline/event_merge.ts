// The events decoding workers hand on (application messages, packet comments), put back in the
// order one decoder gives them: by file, then by frame. Each worker's own order is kept (a packet
// belongs to one worker, so the events of one frame all come from one). Memory: only the batches
// a slower worker has not caught up with wait here; each worker waits for its batches to be taken
// (`onTaken`) before it sends more than a few.
import * as abi from "../decoder/abi.ts";
import { dispatchEvents, type EventHandlers } from "../decoder/records.ts";
import { getF64, getU16, getU32 } from "../decoder/layout.ts";

/** Frames above this cannot occur (2^40 records in one file); orders file before frame. */
const FILE_WEIGHT = 2 ** 40;

interface Batch {
  u8: Uint8Array;
  dv: DataView;
  /** Start of each event, then the end. */
  at: number[];
  next: number;
  file: number;
}

export class EventMerger {
  readonly #queues: Batch[][];
  readonly #done: boolean[];

  constructor(
    workers: number,
    private readonly handlers: EventHandlers,
    private readonly onTaken: (w: number) => void,
  ) {
    this.#queues = Array.from({ length: workers }, () => []);
    this.#done = Array(workers).fill(false);
  }

  /** A batch of worker `w`'s events, all from file `file` (files.length: after the last file). */
  add(w: number, file: number, bytes: Uint8Array): void {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const at: number[] = [];
    for (let o = 0; o + abi.EVENT_HEADER <= bytes.length; o += getU32(dv, o, abi.EVENT_LEN)) {
      if (getU32(dv, o, abi.EVENT_LEN) < abi.EVENT_HEADER) {
        throw new Error("corrupt event batch from a worker");
      }
      at.push(o);
    }
    if (!at.length) return this.onTaken(w);
    at.push(bytes.length);
    this.#queues[w].push({ u8: bytes, dv, at, next: 0, file });
    this.#flush();
  }

  /** Worker `w` sends nothing more. */
  end(w: number): void {
    this.#done[w] = true;
    this.#flush();
  }

  /** Hands on every event that no worker can still precede. */
  #flush(): void {
    for (;;) {
      let best = -1, bestKey = Infinity;
      for (let w = 0; w < this.#queues.length; w++) {
        const b = this.#queues[w][0];
        if (!b) {
          if (this.#done[w]) continue;
          return; // this worker may still send an earlier event
        }
        const key = keyOf(b);
        if (key < bestKey) [best, bestKey] = [w, key];
      }
      if (best < 0) return;
      const b = this.#queues[best][0];
      dispatchEvents(b.u8, b.dv, b.at[b.next], b.at[b.next + 1], this.handlers);
      if (++b.next === b.at.length - 1) {
        this.#queues[best].shift();
        this.onTaken(best);
      }
    }
  }
}

function keyOf(b: Batch): number {
  const o = b.at[b.next];
  const type = getU16(b.dv, o, abi.EVENT_TYPE);
  const frame = type === abi.EV_APP
    ? getF64(b.dv, o, abi.AP_FRAME)
    : type === abi.EV_COMMENT
    ? getF64(b.dv, o, abi.CM_FRAME)
    : 0;
  return b.file * FILE_WEIGHT + frame;
}
