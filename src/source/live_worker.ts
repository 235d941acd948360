// The capture loop, in a worker so it never stalls the main thread: reads packets with libpcap,
// frames them as pcap records (the decoder's input format) and posts them in batches. A batch
// goes out when it is large or when no packet is waiting, so packets reach the decoder within
// milliseconds (process attribution needs them while the process is alive).
import { CaptureError, LiveHandle, type LiveOptions } from "../../ffi/libpcap.ts";
import { addressOf, libc, waitReadable } from "../../ffi/libc.ts";
import { FirstPackets, type OwnerHint } from "../proc/first_packets.ts";
import { ProcessResolver } from "../proc/linux.ts";

export type WorkerRequest = {
  type: "start";
  options: LiveOptions;
  stop: SharedArrayBuffer;
  maxPackets: number;
  /** The machine's addresses: when set, connections' local processes are looked up here. */
  localAddresses?: string[];
  refreshMs?: number;
};

export type WorkerMessage =
  | { type: "ready"; linktype: number; snaplen: number; nanoseconds: boolean; warnings: string[] }
  | { type: "batch"; bytes: ArrayBuffer; length: number; packets: number; owners: OwnerHint[] }
  | { type: "stats"; received: number; dropped: number; ifDropped: number }
  | { type: "error"; message: string; usage: boolean }
  | { type: "done" };

const BATCH_BYTES = 1 << 20;
const POLL_MS = 50;
/** struct pcap_pkthdr on 64-bit Linux/macOS: timeval (2 x 8 bytes), caplen, len. */
const PKTHDR = 24;

/** This file runs as a worker: its global scope is the worker's. */
const scope = self as unknown as {
  postMessage(m: WorkerMessage, transfer?: Transferable[]): void;
  onmessage: ((ev: MessageEvent<WorkerRequest>) => void) | null;
  close(): void;
};
const post = (m: WorkerMessage, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

scope.onmessage = (ev) => {
  const req = ev.data;
  let handle: LiveHandle | undefined;
  try {
    handle = new LiveHandle(req.options);
    post({
      type: "ready",
      linktype: handle.linktype,
      snaplen: handle.snaplen,
      nanoseconds: handle.nanoseconds,
      warnings: [...handle.warnings, ...processWarnings(req)],
    });
    const first = req.localAddresses
      ? new FirstPackets(warmResolver(req.refreshMs ?? 1000), new Set(req.localAddresses))
      : null;
    loop(handle, new Int32Array(req.stop), req.maxPackets, first);
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

function processWarnings(req: WorkerRequest): string[] {
  const why = req.localAddresses ? ProcessResolver.unavailable() : null;
  return why ? [why] : [];
}

function warmResolver(refreshMs: number): ProcessResolver {
  const r = new ProcessResolver(refreshMs);
  r.warmUp();
  return r;
}

function loop(h: LiveHandle, stop: Int32Array, maxPackets: number, first: FirstPackets | null): void {
  const { memcpy } = libc();
  const hdr = new Uint8Array(PKTHDR);
  const hdrView = new DataView(hdr.buffer);
  const hdrAt = addressOf(hdr);
  let batch = new Uint8Array(BATCH_BYTES);
  let view = new DataView(batch.buffer);
  let base = addressOf(batch);
  let used = 0, packets = 0, total = 0;
  let owners: OwnerHint[] = [];
  const flush = () => {
    if (used === 0) return;
    post({ type: "batch", bytes: batch.buffer, length: used, packets, owners }, [batch.buffer]);
    owners = [];
    batch = new Uint8Array(BATCH_BYTES);
    view = new DataView(batch.buffer);
    base = addressOf(batch);
    used = packets = 0;
  };
  let lastStats = performance.now();
  while (Atomics.load(stop, 0) === 0 && total < maxPackets) {
    if (!h.next()) {
      flush();
      if (performance.now() - lastStats > 1000) {
        post({ type: "stats", ...h.stats() });
        lastStats = performance.now();
      }
      waitReadable(h.fd, POLL_MS);
      continue;
    }
    memcpy(hdrAt, h.header, BigInt(PKTHDR));
    const caplen = hdrView.getUint32(16, true);
    const len = hdrView.getUint32(20, true);
    if (used + 16 + caplen > BATCH_BYTES) flush();
    // A pcap record: seconds, fraction (us or ns as libpcap gives them), caplen, len.
    view.setUint32(used, Number(hdrView.getBigInt64(0, true)) >>> 0, true);
    view.setUint32(used + 4, Number(hdrView.getBigInt64(8, true)), true);
    view.setUint32(used + 8, caplen, true);
    view.setUint32(used + 12, len, true);
    memcpy(base + BigInt(used + 16), h.data, BigInt(caplen));
    if (first) {
      const hint = first.see(h.linktype, batch.subarray(used + 16, used + 16 + caplen));
      if (hint) owners.push(hint);
    }
    used += 16 + caplen;
    packets++;
    total++;
  }
  flush();
}
