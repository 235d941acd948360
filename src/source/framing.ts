// The capture worker's batches (wasm/ABI.md, "Live capture records"): pcap savefile records, each
// a header then the captured bytes, back to back. The worker writes them with `writeRecord`; who
// walks a batch (the decoder feed's selector, the pcapng writer) reads them with `Records`.
import { field, getU32, setU32 } from "../decoder/layout.ts";

export const REC_TS_SEC = field(0, "u32");
export const REC_TS_FRAC = field(4, "u32");
export const REC_CAPLEN = field(8, "u32");
export const REC_WIRELEN = field(12, "u32");
export const REC_DATA = field(16, "u8[]");
export const REC_HEADER = 16;

/** Bytes a record of `caplen` captured bytes takes. */
export function recordSize(caplen: number): number {
  return REC_HEADER + caplen;
}

/**
 * Writes a record at `at` of `batch` (`view` is a DataView over the same bytes) and returns where
 * the next one goes. The caller has checked that `recordSize(data.length)` bytes fit.
 */
export function writeRecord(
  batch: Uint8Array,
  view: DataView,
  at: number,
  tsSec: number,
  tsFrac: number,
  wirelen: number,
  data: Uint8Array,
): number {
  setU32(view, at, REC_TS_SEC, tsSec);
  setU32(view, at, REC_TS_FRAC, tsFrac);
  setU32(view, at, REC_CAPLEN, data.length);
  setU32(view, at, REC_WIRELEN, wirelen);
  batch.set(data, at + REC_DATA.at);
  return at + recordSize(data.length);
}

/**
 * Walks the records of a batch without allocating per record:
 * `for (const r = new Records(batch); r.next();) use(r.tsSec, r.data())`.
 */
export class Records {
  readonly #view: DataView;
  /** Where the current record starts and ends (header included). */
  start = 0;
  end = 0;

  constructor(readonly batch: Uint8Array) {
    this.#view = new DataView(batch.buffer, batch.byteOffset, batch.length);
  }

  /** Moves to the next record; false at the end of the batch. */
  next(): boolean {
    if (this.end + REC_HEADER > this.batch.length) return false;
    this.start = this.end;
    this.end = this.start + recordSize(this.caplen);
    return true;
  }

  get tsSec(): number {
    return getU32(this.#view, this.start, REC_TS_SEC);
  }

  /** Microseconds, or nanoseconds when the capture gives them. */
  get tsFrac(): number {
    return getU32(this.#view, this.start, REC_TS_FRAC);
  }

  get caplen(): number {
    return getU32(this.#view, this.start, REC_CAPLEN);
  }

  get wirelen(): number {
    return getU32(this.#view, this.start, REC_WIRELEN);
  }

  /** The captured bytes (a view into the batch). */
  data(): Uint8Array {
    return this.batch.subarray(this.start + REC_DATA.at, this.end);
  }
}
