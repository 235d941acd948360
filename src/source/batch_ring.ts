// The queue between the capture worker and the decoder: a fixed set of shared slots. The worker
// fills a free slot with pcap records and posts its index; the main thread frees it once the
// decoder and the sinks are done with it, in the order posted. The worker always takes the
// lowest free slot: a page of shared memory is resident once written, so while the decoder keeps
// up only the first slots (and only as much of them as the batches fill) ever take memory. When every slot is still waiting, the worker stops
// reading and the kernel's capture buffer takes the excess, dropping (and counting, in
// pcap_stats) what does not fit: memory stays bounded whatever the traffic, and a slow terminal
// shows up as drops rather than as a growing heap.

/** One batch at most (the worker posts one sooner when the decoder is waiting for it). */
export const SLOT_BYTES = 1 << 20;
/**
 * Batches in flight at most: the queue's bound is SLOTS x SLOT_BYTES (32 MiB), resident only
 * while the decoder is that far behind. A bound of 8 MiB (16 x 512 KiB) dropped in each of 4
 * tries of a replay on a loaded machine (the main thread starved for a while) where 32 MiB took 3
 * of 4 without a drop.
 */
export const SLOTS = 32;

const FREE = 0;
const QUEUED = 1;

/** What both sides share: the slots' bytes and each slot's state. */
export interface RingMemory {
  bytes: SharedArrayBuffer;
  state: SharedArrayBuffer;
}

export class BatchRing {
  readonly #bytes: Uint8Array;
  readonly #state: Int32Array;

  constructor(readonly memory: RingMemory = newRingMemory()) {
    this.#bytes = new Uint8Array(memory.bytes);
    this.#state = new Int32Array(memory.state);
  }

  get slots(): number {
    return this.#state.length;
  }

  /** A slot's bytes (SLOT_BYTES long), or its first `length` bytes. */
  slot(index: number, length = SLOT_BYTES): Uint8Array {
    return this.#bytes.subarray(index * SLOT_BYTES, index * SLOT_BYTES + length);
  }

  /** Worker: the slot was posted; it is not written again until the main thread frees it. */
  queue(index: number): void {
    Atomics.store(this.#state, index, QUEUED);
  }

  /** Worker: whether the main thread is done with the slot. */
  isFree(index: number): boolean {
    return Atomics.load(this.#state, index) === FREE;
  }

  /** Worker: the lowest free slot, or -1 when every slot waits for the main thread. */
  lowestFree(): number {
    for (let i = 0; i < this.#state.length; i++) if (this.isFree(i)) return i;
    return -1;
  }

  /** Worker: waits up to `ms` for a queued slot to be freed; true when it is free. */
  waitFree(index: number, ms: number): boolean {
    if (this.isFree(index)) return true;
    Atomics.wait(this.#state, index, QUEUED, ms);
    return this.isFree(index);
  }

  /** Main thread: the slot's records are decoded and written; the worker may fill it again. */
  free(index: number): void {
    Atomics.store(this.#state, index, FREE);
    Atomics.notify(this.#state, index);
  }
}

function newRingMemory(): RingMemory {
  return { bytes: new SharedArrayBuffer(SLOTS * SLOT_BYTES), state: new SharedArrayBuffer(SLOTS * 4) };
}
