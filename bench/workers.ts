// `deno run --allow-all bench/workers.ts [--runs N] [--file PCAP] [--ndpi]`: parallel decoding's
// gain. Times `read FILE --report json` and `read FILE --no-app --report json` with --workers 1
// and 2 (and ndpiReader with --ndpi), alternating in every round so that the load of a shared
// machine falls on all alike; prints the median and range of wall time, CPU time (user + system)
// and peak RSS of each, and the ratios of the medians.
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { wiresightCommand } from "./wiresight_command.ts";

const { values } = parseArgs({
  options: { runs: { type: "string" }, file: { type: "string" }, ndpi: { type: "boolean" } },
});
const runs = Number(values.runs ?? 7);
const file = values.file ?? "/tmp/bench/bench.pcap";
const ws = wiresightCommand(fileURLToPath(new URL("..", import.meta.url)));

const configs: [string, string[]][] = [
  ["report, 1 worker", [...ws, "read", file, "--report", "json", "--workers", "1"]],
  ["report, 2 workers", [...ws, "read", file, "--report", "json", "--workers", "2"]],
  ["--no-app, 1 worker", [...ws, "read", file, "--no-app", "--report", "json", "--workers", "1"]],
  ["--no-app, 2 workers", [...ws, "read", file, "--no-app", "--report", "json", "--workers", "2"]],
  ...(values.ndpi ? [["ndpiReader", ["ndpiReader", "-i", file, "-q"]] as [string, string[]]] : []),
];

interface Sample {
  wall: number;
  cpu: number;
  rssMiB: number;
}

async function timed(cmd: string[]): Promise<Sample> {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "TIME %e %U %S %M", ...cmd],
    stdout: "null",
    stderr: "piped",
  }).output();
  const line = new TextDecoder().decode(out.stderr).split("\n").find((l) => l.startsWith("TIME "));
  if (!out.success || !line) {
    throw new Error(`${cmd.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  const [wall, user, sys, rss] = line.split(" ").slice(1).map(Number);
  return { wall, cpu: user + sys, rssMiB: rss / 1024 };
}

const samples = new Map<string, Sample[]>(configs.map(([name]) => [name, []]));
for (const [, cmd] of configs) await timed(cmd); // warm-up: page cache, compile cache
for (let round = 0; round < runs; round++) {
  for (const [name, cmd] of configs) samples.get(name)!.push(await timed(cmd));
  console.error(`round ${round + 1}/${runs} done`);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const stat = (xs: number[], digits = 2) =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;
console.log(`${file}, ${runs} alternating rounds; median (min-max)`);
for (const [name, s] of samples) {
  console.log(
    `${name.padEnd(22)} wall ${stat(s.map((x) => x.wall))} s  cpu ${stat(s.map((x) => x.cpu))} s  ` +
      `rss ${stat(s.map((x) => x.rssMiB), 0)} MiB`,
  );
}
const wall = (name: string) => median(samples.get(name)!.map((x) => x.wall));
console.log(
  `report: 2 workers ${(wall("report, 1 worker") / wall("report, 2 workers")).toFixed(2)}x faster than 1`,
);
console.log(
  `--no-app: 2 workers ${
    (wall("--no-app, 1 worker") / wall("--no-app, 2 workers")).toFixed(2)
  }x faster than 1`,
);
if (values.ndpi) {
  for (const n of ["1 worker", "2 workers"]) {
    console.log(
      `report, ${n}: ${(wall("ndpiReader") / wall(`report, ${n}`)).toFixed(2)}x faster than ndpiReader`,
    );
  }
}
