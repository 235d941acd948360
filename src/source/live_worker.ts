// The capture loop, in a worker so it never stalls the main thread: reads packets with libpcap,
// frames them as pcap records (the decoder's input format) in the shared slots of a BatchRing
// and posts each slot's index. A batch goes out when its slot is full or when no packet is
// waiting, so packets reach an idle decoder within milliseconds; while the decoder is still on
// earlier batches, a batch keeps filling for up to HOLD_MS (fewer, fuller slots absorb more).
import { CaptureError, LiveHandle, type LiveOptions, type PacketHandle } from "../../ffi/libpcap.ts";
import { foreignBytes } from "../../ffi/libc.ts";
import { PKTHDR } from "../../ffi/platform.ts";
import { FirstPackets, type OwnerHint } from "../proc/first_packets.ts";
import { openProcessLookup } from "../proc/attribution.ts";
import { BatchRing, type RingMemory, SLOT_BYTES } from "./batch_ring.ts";
import { REC_DATA, recordSize, writeRecord } from "./framing.ts";
import { WinDivertCapture } from "./windivert_capture.ts";

export type WorkerRequest = {
  type: "start";
  options: LiveOptions;
  stop: SharedArrayBuffer;
  ring: RingMemory;
  maxPackets: number;
  /** The machine's addresses: when set, connections' local processes are looked up here. */
  localAddresses?: string[];
  refreshMs?: number;
};

export type WorkerMessage =
  | {
    type: "ready";
    linktype: number;
    snaplen: number;
    nanoseconds: boolean;
    warnings: string[];
  }
  | { type: "batch"; slot: number; length: number; packets: number; owners: OwnerHint[] }
  | { type: "stats"; received: number; dropped: number; ifDropped: number }
  | { type: "error"; message: string; usage: boolean }
  | { type: "done" };

const POLL_MS = 50;
const STATS_MS = 1000;
const HOLD_MS = 50;
const HELD_POLL_MS = 5;
/**
 * Packets come in blocks that the kernel hands over when full or after this long. Immediate
 * mode would deliver each at once, but Linux then gives every packet a fixed frame sized for
 * 64 KiB (with segmentation offloads on, as on most interfaces), so an 8 MiB buffer holds only
 * ~128 packets and drops at once under load; blocks pack packets by their size. 1 ms is the
 * kernel's least: the sooner a connection's first packet is seen, the likelier its short-lived
 * process still holds the socket.
 */
const BLOCK_TIMEOUT_MS = 1;

/** This file runs as a worker: its global scope is the worker's. */
const scope = self as unknown as {
  postMessage(m: WorkerMessage, transfer?: Transferable[]): void;
  onmessage: ((ev: MessageEvent<WorkerRequest>) => void) | null;
  close(): void;
};
const post = (m: WorkerMessage) => scope.postMessage(m);

scope.onmessage = (ev) => {
  const req = ev.data;
  let handle: PacketHandle | undefined;
  try {
    handle = req.options.backend === "windivert"
      ? new WinDivertCapture(req.options)
      : new LiveHandle({ immediate: false, timeoutMs: BLOCK_TIMEOUT_MS, ...req.options });
    // Sockets are mapped before "ready" (capture has begun: packets wait in the kernel buffer),
    // so connections opened as soon as capture is announced are attributed too.
    const lookup = req.localAddresses ? openProcessLookup("netlink", req.refreshMs ?? 1000) : null;
    const first = lookup && req.localAddresses ? new FirstPackets(lookup, req.localAddresses) : null;
    post({
      type: "ready",
      linktype: handle.linktype,
      snaplen: handle.snaplen,
      nanoseconds: handle.nanoseconds,
      warnings: lookup?.warning ? [...handle.warnings, lookup.warning] : handle.warnings,
    });
    new CaptureLoop(handle, new BatchRing(req.ring), new Int32Array(req.stop), first).run(req.maxPackets);
    post({ type: "stats", ...handle.stats() });
    post({ type: "done" });
  } catch (e) {
    const usage = e instanceof CaptureError && e.usage;
    post({ type: "error", message: (e as Error).message, usage });
  } finally {
    handle?.close();
    scope.close();
  }
};

class CaptureLoop {
  #slot = 0;
  /** Whether the current slot is ours to write (it was free when we took it). */
  #held = false;
  /** Slots posted and maybe not yet freed, oldest first (the main thread frees them in order). */
  readonly #posted: number[] = [];
  #bytes: Uint8Array;
  #view: DataView;
  #used = 0;
  #packets = 0;
  #owners: OwnerHint[] = [];
  #lastStats = performance.now();
  /** When the current batch got its first packet. */
  #openedAt = 0;
  /** libpcap's packet header and buffer, viewed in place (their addresses rarely change). */
  #hdrAt = 0n;
  #hdr = new DataView(new ArrayBuffer(PKTHDR.size));
  #dataAt = 0n;
  #data = new Uint8Array(0);

  constructor(
    private readonly h: PacketHandle,
    private readonly ring: BatchRing,
    private readonly stop: Int32Array,
    private readonly first: FirstPackets | null,
  ) {
    this.#bytes = ring.slot(0);
    this.#view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset, SLOT_BYTES);
  }

  run(maxPackets: number): void {
    const h = this.h;
    for (let total = 0; total < maxPackets && !this.#stopped();) {
      if (!h.next()) {
        if (this.#decoderIdle() || performance.now() - this.#openedAt >= HOLD_MS) this.#flush();
        this.#maybeStats();
        // A batch held back is looked at again soon: the decoder may be free by then.
        this.#wait(this.#used ? HELD_POLL_MS : POLL_MS);
        continue;
      }
      const hdr = this.#header();
      const caplen = hdr.getUint32(PKTHDR.caplen, true);
      if (this.#used + recordSize(caplen) > SLOT_BYTES) this.#flush();
      // Only once a slot is free: while the decoder is behind, the kernel buffers (and drops).
      if (!this.#held && !this.#take()) break;
      const at = this.#used;
      if (at === 0) this.#openedAt = performance.now();
      // The fraction is in us or ns as libpcap gives them (the file header says which).
      this.#used = writeRecord(
        this.#bytes,
        this.#view,
        at,
        hdr.getUint32(PKTHDR.tsSec, true),
        hdr.getUint32(PKTHDR.tsFrac, true),
        hdr.getUint32(PKTHDR.len, true),
        this.#packet(caplen),
      );
      if (this.first) {
        const hint = this.first.see(h.linktype, this.#bytes, this.#view, at + REC_DATA.at, caplen);
        if (hint) this.#owners.push(hint);
      }
      this.#packets++;
      total++;
    }
    this.#flush();
  }

  /** Waits up to `ms` for packets (poll(), or Npcap's event); a sleep that a stop ends early. */
  #wait(ms: number): void {
    this.h.waitForPackets(ms, (t) => Atomics.wait(this.stop, 0, 0, t));
  }

  /** Whether the decoder is done with the last batch posted (so it waits for this one). */
  #decoderIdle(): boolean {
    const last = this.#posted.at(-1);
    return last === undefined || this.ring.isFree(last);
  }

  #stopped(): boolean {
    return Atomics.load(this.stop, 0) !== 0;
  }

  /** The last packet's pcap_pkthdr. */
  #header(): DataView {
    const at = this.h.header;
    if (at !== this.#hdrAt) {
      this.#hdrAt = at;
      this.#hdr = new DataView(foreignBytes(at, PKTHDR.size).buffer);
    }
    return this.#hdr;
  }

  /** The last packet's bytes. */
  #packet(caplen: number): Uint8Array {
    const at = this.h.data;
    if (at !== this.#dataAt || caplen > this.#data.length) {
      this.#dataAt = at;
      this.#data = foreignBytes(at, Math.max(caplen, this.h.snaplen));
    }
    return this.#data.subarray(0, caplen);
  }

  /** Posts the current slot if it holds records; the next slot is taken when a packet needs one. */
  #flush(): void {
    if (this.#used === 0) return;
    this.ring.queue(this.#slot);
    this.#posted.push(this.#slot);
    post({
      type: "batch",
      slot: this.#slot,
      length: this.#used,
      packets: this.#packets,
      owners: this.#owners,
    });
    this.#owners = [];
    this.#used = this.#packets = 0;
    this.#held = false;
  }

  /** Takes the lowest free slot, waiting while there is none (false: asked to stop first). */
  #take(): boolean {
    const posted = this.#posted;
    for (;;) {
      while (posted.length && this.ring.isFree(posted[0])) posted.shift();
      const slot = this.ring.lowestFree();
      if (slot >= 0) {
        this.#slot = slot;
        this.#bytes = this.ring.slot(slot);
        this.#view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset, SLOT_BYTES);
        this.#held = true;
        return true;
      }
      // Every slot waits: the oldest posted is the next one freed.
      this.ring.waitFree(posted[0], POLL_MS);
      if (this.#stopped()) return false;
      this.#maybeStats();
    }
  }

  #maybeStats(): void {
    if (performance.now() - this.#lastStats < STATS_MS) return;
    post({ type: "stats", ...this.h.stats() });
    this.#lastStats = performance.now();
  }
}
