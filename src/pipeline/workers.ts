// Parallel decoding of capture files: N workers, each with its own WASM decoder, read the same
// files (the page cache serves them all) and each decodes the packets of its share of the flows,
// by a symmetric hash of the outermost IP addresses (wasm/ABI.md, "Parallel decoding"). The other
// packets only move a worker's clock, so its flows end when one decoder's would. The main thread
// puts the events the report needs back in one decoder's order (event_merge.ts) and adds up the
// counters and report tables (merge.ts): the report equals one decoder's.
import { DecoderMemoryError } from "../decoder/decoder.ts";
import type { DecoderConfig } from "../decoder/decoder.ts";
import { DEFAULT_MAX_FLOWS } from "../decoder/decoder.ts";
import type { EventHandlers } from "../decoder/records.ts";
import type { DecodeResult } from "../source/decode.ts";
import { CaptureOpenError, type CaptureSource } from "../source/file.ts";
import { BpfCompileError } from "../../ffi/libpcap.ts";
import { EventMerger } from "./event_merge.ts";
import { mergeStats, mergeTop } from "./merge.ts";

export type ToWorker =
  | { type: "job"; files: CaptureSource[]; decoder: DecoderConfig; bpf?: string; progress: boolean }
  | { type: "taken" };

export type WorkerResult = Omit<DecodeResult, "capture">;

export type FromWorker =
  | { type: "events"; file: number; bytes: Uint8Array }
  | { type: "progress"; path: string; index: number; read: number; size: number }
  | { type: "done"; result: WorkerResult }
  | { type: "error"; name: string; message: string };

export interface ParallelOptions {
  files: CaptureSource[];
  workers: number;
  decoder: DecoderConfig;
  bpf?: string;
  top?: number;
  progress?(file: string, index: number, bytesRead: number, size: number): void;
}

/** Errors a worker may stop with, rebuilt by name so that callers can tell them apart. */
const ERRORS: Record<string, new (message: string) => Error> = {
  BpfCompileError,
  CaptureOpenError,
  DecoderMemoryError,
};

/** As `decodeSteps` for files, over `opts.workers` workers; yields as their batches arrive. */
export async function* parallelDecodeSteps(
  opts: ParallelOptions,
  handlers: EventHandlers,
): AsyncGenerator<void, DecodeResult> {
  const n = opts.workers;
  const inbox: [number, FromWorker][] = [];
  let wake: (() => void) | null = null;
  const workers = Array.from({ length: n }, (_, index) => {
    const w = new Worker(new URL("./decode_worker.ts", import.meta.url), { type: "module" });
    w.onmessage = (ev: MessageEvent<FromWorker>) => {
      inbox.push([index, ev.data]);
      wake?.();
    };
    w.onerror = (ev) => {
      ev.preventDefault();
      inbox.push([index, { type: "error", name: "Error", message: `decoding worker failed: ${ev.message}` }]);
      wake?.();
    };
    return w;
  });
  try {
    // The flow table's bound is the process's: each worker holds its share.
    const maxFlows = Math.ceil((opts.decoder.maxFlows ?? DEFAULT_MAX_FLOWS) / n);
    for (const [index, w] of workers.entries()) {
      w.postMessage(
        {
          type: "job",
          files: opts.files,
          decoder: { ...opts.decoder, maxFlows, shard: { index, count: n } },
          bpf: opts.bpf,
          progress: index === 0 && opts.progress !== undefined,
        } satisfies ToWorker,
      );
    }
    const merger = new EventMerger(
      n,
      handlers,
      (w) => workers[w].postMessage({ type: "taken" } satisfies ToWorker),
    );
    const results: WorkerResult[] = [];
    let finished = 0;
    while (finished < n) {
      if (!inbox.length) await new Promise<void>((r) => wake = r);
      wake = null;
      for (const [w, m] of inbox.splice(0)) {
        if (m.type === "events") merger.add(w, m.file, m.bytes);
        else if (m.type === "progress") opts.progress?.(m.path, m.index, m.read, m.size);
        else if (m.type === "error") throw new (ERRORS[m.name] ?? Error)(m.message);
        else {
          results[w] = m.result;
          merger.end(w);
          finished++;
        }
      }
      yield;
    }
    return merged(results, opts.top ?? 10);
  } finally {
    for (const w of workers) w.terminate();
  }
}

function merged(results: WorkerResult[], n: number): DecodeResult {
  const first = results[0];
  const top = (pick: (r: WorkerResult) => WorkerResult["top"]["hosts"]) => mergeTop(results.map(pick), n);
  return {
    ...first,
    stats: mergeStats(results.map((r) => r.stats)),
    top: {
      hosts: top((r) => r.top.hosts),
      pairs: top((r) => r.top.pairs),
      services: top((r) => r.top.services),
    },
  };
}
