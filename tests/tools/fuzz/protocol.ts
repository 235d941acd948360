// Messages between the fuzz runner and its worker.
import type { PipelineCounts } from "./pipeline.ts";

export interface WorkerSetup {
  /** Test-only: a module whose default export makes an extra session sink. */
  sinkModule?: string;
}

export interface WorkerRequest {
  id: number;
  bytes: Uint8Array;
  /** Collect garbage after the input and say how much heap is left. */
  measureHeap: boolean;
}

export interface WorkerReply {
  id: number;
  ok: boolean;
  counts?: PipelineCounts;
  error?: string;
  /** The process's resident memory after the input. */
  rss: number;
  /** Heap in use after a garbage collection, plus the reused decoder's memory (when asked). */
  heap?: number;
}
