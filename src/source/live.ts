// Live capture as a source: the worker (live_worker.ts) captures with libpcap and posts pcap
// records in batches; here they go into the decoder behind a synthetic pcap file header, so a
// live capture is decoded by exactly the code that reads files.
import * as abi from "../decoder/abi.ts";
import type { Decoder } from "../decoder/decoder.ts";
import type { EventHandlers } from "../decoder/records.ts";
import { formatAddress } from "../base/address.ts";
import {
  CaptureError,
  listInterfaces,
  type LiveOptions,
  type PcapInterface,
  savefileHeader,
} from "../../ffi/libpcap.ts";
import { feedWindow } from "./file.ts";
import type { WorkerMessage, WorkerRequest } from "./live_worker.ts";
import type { OwnerHint } from "../proc/first_packets.ts";
import { BatchRing } from "./batch_ring.ts";
import { Records } from "./framing.ts";

/**
 * The decoder's input buffer for a live capture: one batch (a ring slot, SLOT_BYTES) goes in at a
 * time, so the file reader's default (four parts of 2 MiB, resident once written) is not needed.
 */
export const LIVE_INPUT_BYTES = 4 << 20;

export interface CaptureStats {
  /** Packets the kernel handed to the capture (pcap_stats ps_recv). */
  received: number;
  /** Dropped for lack of buffer space (ps_drop) and by the interface (ps_ifdrop). */
  dropped: number;
  ifDropped: number;
}

/**
 * Decodes pcap records (a batch, or the file header first); they must all be whole. More than the
 * input buffer holds (records a hold lets go at once) goes in several calls, cut between records.
 */
export function feedRecords(
  decoder: Decoder,
  bytes: Uint8Array,
  eof: boolean,
  handlers: EventHandlers,
): void {
  // Past the first quarter of the input buffer: the carry area stays out of the way.
  const start = decoder.input().length / 4;
  const room = decoder.input().length - start;
  let off = 0;
  do {
    const end = bytes.length - off <= room ? bytes.length : off + wholeRecords(bytes.subarray(off), room);
    const part = bytes.subarray(off, end);
    decoder.input().set(part, start);
    const r = feedWindow(decoder, start, part.length, eof && end === bytes.length, handlers);
    if (r.status === abi.STATUS_ERROR || r.consumed !== part.length) {
      throw new Error(`decoder rejected live records (status ${r.status})`);
    }
    off = end;
  } while (off < bytes.length);
}

/** The length of the whole records at the start of `records` that fit in `room` bytes. */
function wholeRecords(records: Uint8Array, room: number): number {
  let fits = 0;
  for (const r = new Records(records); r.next() && r.end <= room;) fits = r.end;
  if (fits === 0) throw new Error(`a live record larger than the decoder's input (${room} bytes)`);
  return fits;
}

/** A capture device, its addresses as text. */
export type CaptureInterface = Omit<PcapInterface, "addresses"> & { addresses: string[] };

/** The devices live capture can use (libpcap's list), addresses formatted. */
export function captureInterfaces(): CaptureInterface[] {
  return listInterfaces().map((i) => ({
    ...i,
    addresses: i.addresses.map((a) => formatAddress(a.length === 16 ? 6 : 4, a)),
  }));
}

/** A stage between the capture and the decoder that may hold records back (order kept per flow). */
export interface RecordHold {
  /** The records to decode now (some of `records`, some held before); they are marked in `decoder`. */
  release(records: Uint8Array, decoder: Decoder): Uint8Array;
  /** Capture ended: every record still held. */
  end(decoder: Decoder): Uint8Array;
}

export class LiveCapture {
  readonly #worker: Worker;
  readonly #stop = new SharedArrayBuffer(4);
  /** The batches the worker fills; a slot is freed once its records are decoded and written. */
  readonly #ring = new BatchRing();
  readonly #queue: WorkerMessage[] = [];
  #wake: (() => void) | null = null;
  stats: CaptureStats = { received: 0, dropped: 0, ifDropped: 0 };
  linktype = 0;
  snaplen = 0;
  nanoseconds = false;
  warnings: string[] = [];

  private constructor(readonly device: string) {
    this.#worker = new Worker(new URL("./live_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (ev: MessageEvent<WorkerMessage>) => {
      if (ev.data.type === "stats") {
        const { received, dropped, ifDropped } = ev.data;
        this.stats = { received, dropped, ifDropped };
      } else this.#queue.push(ev.data);
      this.#wake?.();
    };
    this.#worker.onerror = (ev) => {
      ev.preventDefault();
      this.#queue.push({ type: "error", message: ev.message, usage: false });
      this.#wake?.();
    };
  }

  /** Owners the worker found for connections' first packets: "proto address port" -> process. */
  onOwners?: (hints: OwnerHint[]) => void;

  /**
   * Picks the records of a batch the decoder gets (filters that need more than libpcap and the
   * decoder know); returns them as pcap records. Without it, every record goes on.
   */
  select?: (records: Uint8Array) => Uint8Array;

  /**
   * Holds records back until what the decoder needs to judge them is known (their flow's
   * application): it returns the records to decode now, and marks them in the decoder.
   */
  hold?: RecordHold;

  /** Called once when capture has ended, before the decoder ends the flows still open. */
  onEnd?: () => void;

  /** With no packets, `decode` still yields this often (ms), so live panels keep their rhythm. */
  tickMs = Infinity;

  /**
   * Opens the device; throws CaptureError with an actionable message when it cannot. With
   * `localAddresses`, the worker looks up the process of each new connection's local sender.
   */
  static async open(
    options: LiveOptions,
    maxPackets = Infinity,
    owners?: { localAddresses: string[]; refreshMs: number },
  ): Promise<LiveCapture> {
    const c = new LiveCapture(options.device);
    const req: WorkerRequest = {
      type: "start",
      options,
      stop: c.#stop,
      ring: c.#ring.memory,
      maxPackets,
      ...owners,
    };
    c.#worker.postMessage(req);
    let first: WorkerMessage | null;
    while (!(first = await c.#next()));
    if (first.type === "error") {
      c.#worker.terminate();
      throw new CaptureError(first.message, first.usage);
    }
    if (first.type !== "ready") throw new Error(`capture worker said ${first.type} first`);
    c.linktype = first.linktype;
    c.snaplen = first.snaplen;
    c.nanoseconds = first.nanoseconds;
    c.warnings = first.warnings;
    return c;
  }

  /** Asks the capture to end; what was captured so far still comes out of `decode`. */
  stop(): void {
    Atomics.store(new Int32Array(this.#stop), 0, 1);
  }

  /** The next message from the worker, or null when `timeoutMs` passed without one. */
  async #next(timeoutMs = Infinity): Promise<WorkerMessage | null> {
    if (this.#queue.length === 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((r) => {
        this.#wake = r;
        if (timeoutMs !== Infinity) timer = setTimeout(r, timeoutMs);
      });
      clearTimeout(timer);
    }
    this.#wake = null;
    return this.#queue.shift() ?? null;
  }

  /** The pcap file header the records follow (nanosecond magic when libpcap gives ns). */
  fileHeader(): Uint8Array {
    return savefileHeader(this.linktype, this.snaplen, this.nanoseconds);
  }

  /**
   * Decodes the capture until it ends (stop, packet count, error), yielding after each batch so
   * the caller can render and report as it goes. `onBatch` sees each batch's pcap records once
   * the decoder has handed out their events.
   */
  async *decode(
    decoder: Decoder,
    handlers: EventHandlers,
    onBatch?: (records: Uint8Array) => void,
  ): AsyncGenerator<void, { error?: string }> {
    const feed = (bytes: Uint8Array, eof: boolean) => feedRecords(decoder, bytes, eof, handlers);
    const releaseHeld = () => {
      if (!this.hold) return;
      const rest = this.hold.end(decoder);
      feed(rest, false);
      onBatch?.(rest);
    };
    decoder.beginFile();
    feed(this.fileHeader(), false);
    try {
      for (;;) {
        const m = await this.#next(this.tickMs);
        if (m === null) yield;
        else if (m.type === "batch") {
          if (m.owners.length) this.onOwners?.(m.owners);
          const all = this.#ring.slot(m.slot, m.length);
          const selected = this.select ? this.select(all) : all;
          const records = this.hold ? this.hold.release(selected, decoder) : selected;
          feed(records, false);
          // After the decoder's events went out, so the batch's packets are known by then.
          onBatch?.(records);
          this.#ring.free(m.slot);
          yield;
        } else if (m.type === "error") {
          releaseHeld();
          this.onEnd?.();
          return { error: m.message };
        } else if (m.type === "done") break;
      }
      releaseHeld();
      this.onEnd?.();
      feed(new Uint8Array(0), true);
      return {};
    } finally {
      this.stop();
      this.#worker.terminate();
    }
  }
}
