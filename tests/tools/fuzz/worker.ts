// The fuzz worker: runs inputs through the pipeline one at a time, each from a temporary file, and
// answers with the outcome and the heap after a garbage collection (for the growth check). The
// runner stops the worker when an input outlives its time limit: a decoder stuck in a loop blocks
// this thread, which no timer here could interrupt.
import v8 from "node:v8";
import vm from "node:vm";
import { runPipeline } from "./pipeline.ts";
import type { SessionSink } from "../../../src/sinks/sink.ts";
import type { WorkerReply, WorkerRequest, WorkerSetup } from "./protocol.ts";

v8.setFlagsFromString("--expose-gc");
const gc: () => void = vm.runInNewContext("gc");

let setup: WorkerSetup;
let extra: () => SessionSink[] = () => [];

self.onmessage = async (e: MessageEvent<WorkerSetup | WorkerRequest>) => {
  if ("dir" in e.data) {
    setup = e.data;
    // The test's hook: a module whose default export makes a sink that fails on purpose.
    if (setup.sinkModule) {
      const make = (await import(setup.sinkModule)).default as () => SessionSink;
      extra = () => [make()];
    }
    self.postMessage({ ready: true });
    return;
  }
  const { id, bytes, measureHeap } = e.data;
  const path = `${setup.dir}/input`;
  let reply: WorkerReply;
  try {
    Deno.writeFileSync(path, new Uint8Array(bytes));
    const counts = await runPipeline(path, extra());
    reply = { id, ok: true, counts, rss: Deno.memoryUsage().rss };
  } catch (err) {
    reply = { id, ok: false, error: String((err as Error)?.stack ?? err), rss: Deno.memoryUsage().rss };
  }
  if (measureHeap) {
    gc();
    reply.heap = Deno.memoryUsage().heapUsed;
  }
  self.postMessage(reply);
};
