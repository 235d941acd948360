// `deno task fuzz`: mutates every capture of the shared corpus and runs each mutant through the
// whole pipeline (see runner.ts, pipeline.ts). stdout gets the one line the user asked for:
// "N inputs, R inputs/s, F failures"; progress and each failure go to stderr.
import { parseArgs } from "node:util";
import { corpusCaptures, fuzz, replay, type RunnerOptions, type Summary } from "./runner.ts";

const HELP = `deno task fuzz [options]

Mutates every capture under the shared corpus (../shared/corpus or $WIRESIGHT_CORPUS), mostly windows
of 1-16 packets, and runs each mutant through the decoder, application layer, detectors, EVE stream
and every export. A thrown exception, a dead worker, an input over its time limit or memory over its
bound or growing is a failure: the input is saved with a note for --replay.

  --inputs N        inputs to run (default 10000; with --minutes alone, no bound)
  --seed S          the run's seed: the same seed gives the same inputs (default 1)
  --minutes M       stop after M minutes
  --out DIR         where failing inputs go (default bench/out/fuzz-failures)
  --limit-ms MS     time limit of one input (default 10000)
  --max-rss-mb MB   resident memory allowed after an input (default 2048)
  --growth-mb MB    heap growth allowed over the run, after garbage collections (every 2000
                    inputs; default 256)
  --replay DIR      run the inputs saved in DIR again instead
`;

const ROOT = new URL("../../../", import.meta.url).pathname;

function positive(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: not a positive number: ${v}`);
  return n;
}

const line = (s: Summary) =>
  `${s.inputs} inputs, ${
    (s.inputs / Math.max(s.seconds, 1e-9)).toFixed(1)
  } inputs/s, ${s.failures.length} failures`;

async function main(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      inputs: { type: "string" },
      seed: { type: "string" },
      minutes: { type: "string" },
      out: { type: "string" },
      "limit-ms": { type: "string" },
      "max-rss-mb": { type: "string" },
      "growth-mb": { type: "string" },
      replay: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  const limits: RunnerOptions = {
    limitMs: positive(v["limit-ms"], "limit-ms", 10_000),
    maxRssMb: positive(v["max-rss-mb"], "max-rss-mb", 2048),
    growthMb: positive(v["growth-mb"], "growth-mb", 256),
  };
  if (v.replay) {
    const s = await replay(v.replay, limits, (file, f) => {
      console.error(f ? `FAIL ${file}: ${f.kind}: ${f.detail.split("\n")[0]}` : `ok   ${file}`);
    });
    console.log(line(s));
    return s.failures.length ? 1 : 0;
  }
  const minutes = v.minutes === undefined ? undefined : positive(v.minutes, "minutes", 1);
  const seed = Math.floor(positive(v.seed, "seed", 1));
  const out = v.out ?? `${ROOT}bench/out/fuzz-failures`;
  const corpus = corpusCaptures();
  // Ctrl-C or a kill ends the run after the input under way, with its summary.
  const stop = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => stop.abort());
  console.error(`fuzz: ${corpus.length} corpus captures, seed ${seed}, failures to ${out}`);
  const s = await fuzz({
    ...limits,
    corpus,
    seed,
    inputs: positive(v.inputs, "inputs", v.minutes !== undefined ? Infinity : 10_000),
    minutes,
    out,
    stop: stop.signal,
    progress: (p) => console.error(`fuzz: ${line(p)}, ${p.packets} packets`),
  });
  for (const f of s.failures) console.error(`fuzz: ${f.kind} at input ${f.index}: ${f.file}`);
  console.log(line(s));
  return s.failures.length ? 1 : 0;
}

try {
  Deno.exit(await main(Deno.args));
} catch (e) {
  console.error(`fuzz: ${e instanceof Error ? e.message : e}`);
  Deno.exit(2);
}
