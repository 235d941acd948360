// The fuzz loop: seeded mutants of the corpus, each run by a worker thread of this process under
// a time limit, with the process's memory watched. A failure (an exception out of the pipeline, a
// dead worker, an input over its time limit, memory over the bound or growing from input to
// input) is saved to the failures directory: the input and a note saying why, to replay.
import { corpusRoot } from "../../helpers/corpus.ts";
import type { CorpusEntry, Mutant } from "./mutate.ts";
import { Mutator } from "./mutate.ts";
import type { WorkerReply, WorkerRequest, WorkerSetup } from "./protocol.ts";

export type FailureKind = "exception" | "crash" | "timeout" | "memory" | "growth";

export interface Failure {
  kind: FailureKind;
  /** The input's index in the run (replays: its position in the directory). */
  index: number;
  detail: string;
  /** Where the input was saved (none for a replay). */
  file?: string;
}

export interface RunnerOptions {
  /** Time limit of one input. */
  limitMs: number;
  /** Resident memory of the process allowed after an input. */
  maxRssMb: number;
  /** Heap allowed above the first measure, after a garbage collection. */
  growthMb: number;
  /**
   * Inputs between two heap measures (default HEAP_EVERY): each is a forced full garbage
   * collection, which costs as much as ~100 inputs and leaves the next ones slower.
   */
  heapEvery?: number;
  /** Test-only: a module whose default export makes an extra sink (a planted failure). */
  sinkModule?: string;
}

type Outcome = { ok: true; reply: WorkerReply } | { ok: false; kind: FailureKind; detail: string };

const WORKER = new URL("./worker.ts", import.meta.url).href;

const HEAP_EVERY = 2000;

/** An input posted to the worker, waiting for its outcome. */
interface Pending {
  id: number;
  bytes: Uint8Array;
  measureHeap: boolean;
  resolve(o: Outcome): void;
}

/**
 * One worker and its limits; a worker that hung or died is replaced. Several inputs are posted
 * at once so the worker never waits for the next (it runs them in order): an input's time limit
 * runs from the previous one's result, when the worker starts it.
 */
export class Runner {
  #worker: Worker | undefined;
  #id = 0;
  #runs = 0;
  #heapBase = -1;
  /** Posted and not answered yet, oldest (the one running) first. */
  #queue: Pending[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** False while a replacement worker starts: inputs queue and are posted once it is up. */
  #live = false;
  #spawning: Promise<void> = Promise.resolve();

  private constructor(readonly opts: RunnerOptions) {}

  static async start(opts: RunnerOptions): Promise<Runner> {
    const r = new Runner(opts);
    await r.#spawn();
    return r;
  }

  async #spawn(): Promise<void> {
    const w = new Worker(WORKER, { type: "module" });
    await new Promise<void>((resolve, reject) => {
      w.onmessage = () => resolve();
      w.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`the fuzz worker did not start: ${e.message}`));
      };
      w.postMessage({ sinkModule: this.opts.sinkModule } satisfies WorkerSetup);
    });
    w.onmessage = (e: MessageEvent<WorkerReply>) => this.#answered(e.data);
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#failHead("crash", `the worker died: ${e.message}`);
    };
    this.#worker = w;
    this.#live = true;
    for (const p of this.#queue) this.#post(p);
    if (this.#queue.length) this.#arm();
  }

  /** Runs one input (after those already posted); a failure says what kind and why. */
  run(bytes: Uint8Array): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const measureHeap = ++this.#runs % (this.opts.heapEvery ?? HEAP_EVERY) === 0;
      const p: Pending = { id: ++this.#id, bytes: bytes.slice(), measureHeap, resolve };
      this.#queue.push(p);
      if (!this.#live) return;
      this.#post(p);
      if (this.#queue.length === 1) this.#arm();
    });
  }

  #post(p: Pending): void {
    this.#worker!.postMessage(
      { id: p.id, bytes: p.bytes, measureHeap: p.measureHeap } satisfies WorkerRequest,
    );
  }

  /** The time limit of the input now running. */
  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => this.#failHead("timeout", `no result after ${this.opts.limitMs} ms`),
      this.opts.limitMs,
    );
  }

  #answered(r: WorkerReply): void {
    const head = this.#queue[0];
    if (!head || r.id !== head.id) return;
    this.#queue.shift();
    clearTimeout(this.#timer);
    if (this.#queue.length) this.#arm();
    head.resolve(r.ok ? this.#judge(r) : { ok: false, kind: "exception", detail: r.error ?? "" });
  }

  /** The running input hung or killed its worker: a new worker takes the inputs after it. */
  #failHead(kind: FailureKind, detail: string): void {
    const head = this.#queue.shift();
    clearTimeout(this.#timer);
    this.#live = false;
    this.#worker?.terminate();
    this.#spawning = this.#spawn().catch((e) => {
      // No worker to run them: the inputs waiting fail too, rather than wait for ever.
      for (const p of this.#queue.splice(0)) p.resolve({ ok: false, kind: "crash", detail: String(e) });
    });
    head?.resolve({ ok: false, kind, detail });
  }

  /** Memory after an input that ran through: over the bound, or the heap grown since the first measure. */
  #judge(reply: WorkerReply): Outcome {
    if (reply.rss > this.opts.maxRssMb * 1048576) {
      return { ok: false, kind: "memory", detail: `${mib(reply.rss)} MiB resident after this input` };
    }
    const heap = reply.heap;
    if (heap !== undefined) {
      if (this.#heapBase < 0) this.#heapBase = heap;
      else if (heap > this.#heapBase + this.opts.growthMb * 1048576) {
        const was = this.#heapBase;
        this.#heapBase = heap; // said once per growth step
        return {
          ok: false,
          kind: "growth",
          detail: `the heap kept growing: ${mib(heap)} MiB after a collection (with the decoder's ` +
            `WebAssembly memory), ${mib(was)} MiB ` +
            `at an earlier measure (every ${this.opts.heapEvery ?? HEAP_EVERY} inputs)`,
        };
      }
    }
    return { ok: true, reply };
  }

  async close(): Promise<void> {
    await this.#spawning;
    clearTimeout(this.#timer);
    this.#worker?.terminate();
  }
}

/** Every capture under the corpus root, by its name there (public/x.pcap). */
export function corpusCaptures(): CorpusEntry[] {
  const root = corpusRoot();
  const out: CorpusEntry[] = [];
  const walk = (dir: string) => {
    for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) walk(path);
      else if (/\.(pcap|pcapng|cap)$/.test(e.name)) {
        out.push({ name: path.slice(root.length + 1), bytes: Deno.readFileSync(path) });
      }
    }
  };
  walk(root);
  return out;
}

const mib = (n: number) => (n / (1 << 20)).toFixed(0);

export interface FuzzOptions extends RunnerOptions {
  corpus: CorpusEntry[];
  seed: number;
  /** Stop after this many inputs... */
  inputs: number;
  /** ...or after this long, whichever comes first. */
  minutes?: number;
  /** Where failing inputs and their notes go. */
  out: string;
  /** Called every few seconds with the progress so far. */
  progress?(s: Summary): void;
  /** Ends the run after the input under way (Ctrl-C). */
  stop?: AbortSignal;
}

export interface Summary {
  inputs: number;
  seconds: number;
  failures: Failure[];
  /** Packets decoded over all inputs (a run that decoded nothing tested nothing). */
  packets: number;
}

/** Inputs posted ahead of the one running: the worker goes on while this thread mutates. */
const IN_FLIGHT = 4;

/** Runs the seeded mutants; failures are saved under `out` as they happen. */
export async function fuzz(opts: FuzzOptions): Promise<Summary> {
  const mutator = new Mutator(opts.corpus);
  const runner = await Runner.start(opts);
  const started = performance.now();
  const deadline = opts.minutes === undefined ? Infinity : started + opts.minutes * 60_000;
  const s: Summary = { inputs: 0, seconds: 0, failures: [], packets: 0 };
  let shown = started;
  const inFlight: { index: number; m: Mutant; outcome: Promise<Outcome> }[] = [];
  /** The oldest input's outcome, counted and (a failure) saved. */
  const settle = async () => {
    const { index, m, outcome: pending } = inFlight.shift()!;
    const outcome = await pending;
    s.inputs++;
    if (outcome.ok) s.packets += outcome.reply.counts!.packets;
    else {
      const notes = [
        `kind: ${outcome.kind}`,
        `seed: ${opts.seed}`,
        `index: ${index}`,
        `from: ${m.source}`,
        `mutations: ${m.steps.join(", ") || "none"}`,
        "",
        outcome.detail,
      ];
      const file = await save(opts.out, `${outcome.kind}-s${opts.seed}-i${index}`, m.bytes, notes.join("\n"));
      s.failures.push({ kind: outcome.kind, index, detail: outcome.detail, file });
    }
    if (opts.progress && performance.now() - shown > 10_000) {
      shown = performance.now();
      opts.progress({ ...s, seconds: (shown - started) / 1000 });
    }
  };
  try {
    for (let index = 0; index < opts.inputs && performance.now() < deadline && !opts.stop?.aborted; index++) {
      const m = mutator.mutant(opts.seed, index);
      inFlight.push({ index, m, outcome: runner.run(m.bytes) });
      if (inFlight.length >= IN_FLIGHT) await settle();
    }
    while (inFlight.length) await settle();
  } finally {
    await runner.close();
  }
  s.seconds = (performance.now() - started) / 1000;
  return s;
}

/** Runs every input saved in DIR again (the notes beside them are skipped). */
export async function replay(dir: string, opts: RunnerOptions, each?: (file: string, f?: Failure) => void) {
  const files = [...Deno.readDirSync(dir)].filter((e) => e.isFile && !e.name.endsWith(".txt"))
    .map((e) => `${dir}/${e.name}`).sort();
  const runner = await Runner.start(opts);
  const started = performance.now();
  const s: Summary = { inputs: 0, seconds: 0, failures: [], packets: 0 };
  try {
    for (const [index, file] of files.entries()) {
      const outcome = await runner.run(Deno.readFileSync(file));
      s.inputs++;
      if (outcome.ok) {
        s.packets += outcome.reply.counts!.packets;
        each?.(file);
      } else {
        const f: Failure = { kind: outcome.kind, index, detail: outcome.detail, file };
        s.failures.push(f);
        each?.(file, f);
      }
    }
  } finally {
    await runner.close();
  }
  s.seconds = (performance.now() - started) / 1000;
  return s;
}

async function save(dir: string, name: string, bytes: Uint8Array, notes: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const pcapng = bytes[0] === 0x0a && bytes[1] === 0x0d && bytes[2] === 0x0d && bytes[3] === 0x0a;
  const file = `${dir}/${name}.${pcapng ? "pcapng" : "pcap"}`;
  await Deno.writeFile(file, bytes);
  await Deno.writeTextFile(`${dir}/${name}.txt`, notes + "\n");
  return file;
}
