// The fuzz loop: seeded mutants of the corpus, each run by a worker thread of this process under
// a time limit, with the process's memory watched. A failure (an exception out of the pipeline, a
// dead worker, an input over its time limit, memory over the bound or growing from input to
// input) is saved to the failures directory: the input and a note saying why, to replay.
import { corpusRoot } from "../../helpers/corpus.ts";
import type { CorpusEntry } from "./mutate.ts";
import { Mutator } from "./mutate.ts";
import type { WorkerReply, WorkerSetup } from "./protocol.ts";

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
  /** Inputs between two heap measures (each costs a full garbage collection; default 200). */
  heapEvery?: number;
  /** Test-only: a module whose default export makes an extra sink (a planted failure). */
  sinkModule?: string;
}

type Outcome = { ok: true; reply: WorkerReply } | { ok: false; kind: FailureKind; detail: string };

const WORKER = new URL("./worker.ts", import.meta.url).href;

/** One worker and its limits; a worker that hung or died is replaced. */
export class Runner {
  #worker: Worker | undefined;
  #dir = "";
  #id = 0;
  #runs = 0;
  #heapBase = -1;

  private constructor(readonly opts: RunnerOptions) {}

  static async start(opts: RunnerOptions): Promise<Runner> {
    const r = new Runner(opts);
    r.#dir = await Deno.makeTempDir({ prefix: "wiresight_fuzz_" });
    await r.#spawn();
    return r;
  }

  async #spawn(): Promise<void> {
    const w = new Worker(WORKER, { type: "module" });
    const ready = new Promise<void>((resolve, reject) => {
      w.onmessage = () => resolve();
      w.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`the fuzz worker did not start: ${e.message}`));
      };
    });
    w.postMessage({ dir: this.#dir, sinkModule: this.opts.sinkModule } satisfies WorkerSetup);
    await ready;
    this.#worker = w;
  }

  /** Runs one input; a failure says what kind and why. */
  async run(bytes: Uint8Array): Promise<Outcome> {
    const id = ++this.#id;
    const measureHeap = ++this.#runs % (this.opts.heapEvery ?? 200) === 0;
    const w = this.#worker!;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await new Promise<Outcome>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, kind: "timeout", detail: `no result after ${this.opts.limitMs} ms` }),
        this.opts.limitMs,
      );
      w.onmessage = (e: MessageEvent<WorkerReply>) => {
        if (e.data.id !== id) return;
        const r = e.data;
        resolve(r.ok ? { ok: true, reply: r } : { ok: false, kind: "exception", detail: r.error ?? "" });
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        resolve({ ok: false, kind: "crash", detail: `the worker died: ${e.message}` });
      };
      w.postMessage({ id, bytes: bytes.slice().buffer, measureHeap });
    });
    clearTimeout(timer);
    if (!outcome.ok && outcome.kind !== "exception") {
      w.terminate();
      await this.#spawn();
      return outcome;
    }
    const rss = outcome.ok ? outcome.reply.rss : 0;
    if (rss > this.opts.maxRssMb * 1048576) {
      return { ok: false, kind: "memory", detail: `${mib(rss)} MiB resident after this input` };
    }
    const heap = outcome.ok ? outcome.reply.heap : undefined;
    if (heap !== undefined) {
      if (this.#heapBase < 0) this.#heapBase = heap;
      else if (heap > this.#heapBase + this.opts.growthMb * 1048576) {
        const was = this.#heapBase;
        this.#heapBase = heap; // said once per growth step
        return {
          ok: false,
          kind: "growth",
          detail: `the heap kept growing: ${mib(heap)} MiB after a collection, ${mib(was)} MiB ` +
            `at an earlier measure (every ${this.opts.heapEvery ?? 200} inputs)`,
        };
      }
    }
    return outcome;
  }

  async close(): Promise<void> {
    this.#worker?.terminate();
    await Deno.remove(this.#dir, { recursive: true });
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

/** Runs the seeded mutants; failures are saved under `out` as they happen. */
export async function fuzz(opts: FuzzOptions): Promise<Summary> {
  const mutator = new Mutator(opts.corpus);
  const runner = await Runner.start(opts);
  const started = performance.now();
  const deadline = opts.minutes === undefined ? Infinity : started + opts.minutes * 60_000;
  const s: Summary = { inputs: 0, seconds: 0, failures: [], packets: 0 };
  let shown = started;
  try {
    for (let index = 0; index < opts.inputs && performance.now() < deadline && !opts.stop?.aborted; index++) {
      const m = mutator.mutant(opts.seed, index);
      const outcome = await runner.run(m.bytes);
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
        const file = await save(
          opts.out,
          `${outcome.kind}-s${opts.seed}-i${index}`,
          m.bytes,
          notes.join("\n"),
        );
        s.failures.push({ kind: outcome.kind, index, detail: outcome.detail, file });
      }
      if (opts.progress && performance.now() - shown > 10_000) {
        shown = performance.now();
        opts.progress({ ...s, seconds: (shown - started) / 1000 });
      }
    }
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
