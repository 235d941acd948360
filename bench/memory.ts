// `deno task bench:memory`: peak resident memory and time of `wiresight read --detect` and of the
// plain `read` on a random-source SYN flood (issue 14: 2 million SYNs, every one a new flow and
// a new source), measured by GNU time over several runs: medians and the spread. `--baseline DIR`
// measures another checkout's wiresight in the same rounds (before/after).
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { wiresightCommand } from "./wiresight_command.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DEFAULT_FILE = "/tmp/bench/synflood.pcap";
const GENERATOR = join(ROOT, "bench/make-syn-flood-pcap.py");
const GNU_TIME = "/usr/bin/time";
const TMP = "/tmp/wiresight-bench";

const HELP =
  `Usage: deno task bench:memory [--runs N] [--file PCAP] [--syns N] [--baseline DIR] [-- OPTION...]

  --runs N        runs of each command (default 5), taking turns
  --file PCAP     the capture (default ${DEFAULT_FILE}, generated when missing)
  --syns N        SYNs in a generated capture (default 2000000, about 140 MB)
  --baseline DIR  also measure the wiresight of another checkout (before/after)
  -- OPTION...    more options for every read (e.g. -- --memory 200)
`;

interface Sample {
  wallS: number;
  /** User and system CPU time: what a loaded machine bends least. */
  cpuS: number;
  rssMiB: number;
}

async function generate(file: string, syns: number): Promise<void> {
  mkdirSync(join(file, ".."), { recursive: true });
  console.error(`bench: writing ${file} (${syns} SYNs)`);
  const r = await new Deno.Command("python3", { args: [GENERATOR, file, String(syns)] }).output();
  if (!r.success) throw new Error(`${GENERATOR} failed: ${new TextDecoder().decode(r.stderr)}`);
}

async function measure(cmd: string[]): Promise<Sample> {
  mkdirSync(TMP, { recursive: true });
  const out = join(TMP, "memory-rss.txt");
  const start = performance.now();
  const r = await new Deno.Command(GNU_TIME, {
    args: ["-v", "-o", out, ...cmd],
    stdout: "null",
    stderr: "piped",
  })
    .output();
  const wallS = (performance.now() - start) / 1000;
  if (!r.success) {
    throw new Error(`${cmd.join(" ")} failed: ${new TextDecoder().decode(r.stderr).slice(-800)}`);
  }
  const text = readFileSync(out, "utf8");
  const field = (name: string) => {
    const m = new RegExp(`${name}: ([\\d.]+)`).exec(text);
    if (!m) throw new Error(`no '${name}' in GNU time's output (${out})`);
    return Number(m[1]);
  };
  return {
    wallS,
    cpuS: field("User time \\(seconds\\)") + field("System time \\(seconds\\)"),
    rssMiB: field("Maximum resident set size \\(kbytes\\)") / 1024,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** "median (min-max)" of one figure of the samples. */
function spread(samples: Sample[], pick: (s: Sample) => number, digits: number): string {
  const xs = samples.map(pick);
  const f = (x: number) => x.toFixed(digits);
  return `${f(median(xs))} (${f(Math.min(...xs))}-${f(Math.max(...xs))})`;
}

function line(label: string, samples: Sample[]): string {
  return `${label.padEnd(24)} peak ${spread(samples, (s) => s.rssMiB, 0)} MiB` +
    `  cpu ${spread(samples, (s) => s.cpuS, 1)} s  wall ${spread(samples, (s) => s.wallS, 1)} s`;
}

async function main(): Promise<void> {
  const { values: v, positionals: extra } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string" },
      file: { type: "string" },
      syns: { type: "string" },
      baseline: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (v.help) return console.log(HELP);
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} (GNU time) is needed for the peak memory`);
  const runs = Number(v.runs ?? 5);
  const file = v.file ?? DEFAULT_FILE;
  if (!existsSync(file)) await generate(file, Number(v.syns ?? 2_000_000));
  const roots: [string, string][] = [["", ROOT]];
  if (v.baseline) roots.push(["baseline ", v.baseline]);
  const commands = roots.flatMap(([tag, root]) =>
    [["read --detect", ["--detect"]], ["read", []]].map(([name, opts]) => ({
      label: `${tag}${name}`,
      cmd: [...wiresightCommand(root), "read", file, "--report", "none", "-q", ...opts, ...extra],
      samples: [] as Sample[],
    }))
  );
  console.error(`bench: ${file} (${(statSync(file).size / 1e6).toFixed(0)} MB), ${runs} runs each`);
  for (let i = 0; i < runs; i++) {
    for (const c of commands) {
      c.samples.push(await measure(c.cmd));
      console.error(`  run ${i + 1}: ${c.label}: ${c.samples.at(-1)!.rssMiB.toFixed(0)} MiB`);
    }
  }
  console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}; medians (min-max) of ${runs}:`);
  for (const c of commands) console.log(line(c.label, c.samples));
}

try {
  await main();
} catch (e) {
  console.error(`bench: ${(e as Error).message}`);
  Deno.exit(2);
}
