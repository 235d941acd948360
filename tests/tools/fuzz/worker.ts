// The fuzz worker: runs inputs through the pipeline one at a time, each from memory, and
// answers with the outcome and the heap after a garbage collection (for the growth check). The
// runner stops the worker when an input outlives its time limit: a decoder stuck in a loop blocks
// this thread, which no timer here could interrupt.
import v8 from "node:v8";
import vm from "node:vm";
import { Pipeline } from "./pipeline.ts";
import type { SessionSink } from "../../../src/sinks/sink.ts";
import type { WorkerReply, WorkerRequest, WorkerSetup } from "./protocol.ts";

v8.setFlagsFromString("--expose-gc");
const gc: () => void = vm.runInNewContext("gc");

/** One for the worker's life: its decoder is reset between inputs, not made again. */
let pipeline: Pipeline;
let extra: () => SessionSink[] = () => [];

/** Inputs not run yet: the runner posts several ahead, and they run one at a time, in order. */
const waiting: WorkerRequest[] = [];
let running = false;

self.onmessage = async (e: MessageEvent<WorkerSetup | WorkerRequest>) => {
  if (!("id" in e.data)) {
    const setup = e.data;
    pipeline = await Pipeline.create({ reuse: true });
    // The test's hook: a module whose default export makes a sink that fails on purpose.
    if (setup.sinkModule) {
      const make = (await import(setup.sinkModule)).default as () => SessionSink;
      extra = () => [make()];
    }
    self.postMessage({ ready: true });
    return;
  }
  waiting.push(e.data);
  if (running) return;
  running = true;
  while (waiting.length) self.postMessage(await runOne(waiting.shift()!));
  running = false;
};

async function runOne({ id, bytes, measureHeap }: WorkerRequest): Promise<WorkerReply> {
  let reply: WorkerReply;
  try {
    // In memory, read as a file is: the same chunked reads into the decoder, no file system calls.
    const { counts } = await pipeline.run({ name: "fuzz input", bytes }, extra());
    reply = { id, ok: true, counts, rss: Deno.memoryUsage().rss };
  } catch (err) {
    reply = { id, ok: false, error: String((err as Error)?.stack ?? err), rss: Deno.memoryUsage().rss };
  }
  if (measureHeap) {
    gc();
    // The reused decoder's memory counts too: a leak there would outlive every input.
    reply.heap = Deno.memoryUsage().heapUsed + pipeline.decoderMemory();
  }
  return reply;
}
