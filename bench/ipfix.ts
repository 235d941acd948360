// `deno task bench:ipfix`: what `read --ipfix` costs. Times `wiresight read -q` with and without
// `--ipfix` to a local nfcapd (taking turns, page cache warm) with GNU time: medians and spread of
// wall time and of CPU time (user + system, which a loaded machine bends least), and what nfcapd
// stored.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { wiresightCommand } from "./wiresight_command.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    file: { type: "string", default: "/tmp/bench/bench.pcap" },
  },
});
const runs = Number(values.runs);
const file = values.file!;
if (!existsSync(file)) throw new Error(`${file} is missing: 'deno task bench' makes it`);

const dir = mkdtempSync("/tmp/wiresight-bench-ipfix-");
const port = 20000 + Math.floor(Math.random() * 20000);
const nfcapd = new Deno.Command("nfcapd", {
  args: ["-b", "127.0.0.1", "-p", String(port), "-w", dir],
  stdout: "piped",
  stderr: "piped",
}).spawn();
await new Promise((r) => setTimeout(r, 1000));

interface Sample {
  wallS: number;
  cpuS: number;
}

async function timed(extra: string[]): Promise<Sample> {
  const [cmd, ...args] = wiresightCommand(ROOT);
  const r = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "TIME %e %U %S", cmd, ...args, "read", file, "-q", ...extra],
    stdout: "null",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  const m = err.match(/TIME ([\d.]+) ([\d.]+) ([\d.]+)/);
  if (!r.success || !m) throw new Error(err);
  return { wallS: Number(m[1]), cpuS: Number(m[2]) + Number(m[3]) };
}

const plain: Sample[] = [], ipfix: Sample[] = [];
for (let i = 0; i < runs; i++) {
  plain.push(await timed([]));
  // A domain per run: each run is a new exporter to nfcapd (its sequence numbers start at 0).
  ipfix.push(await timed(["--ipfix", `127.0.0.1:${port}`, "--ipfix-domain", String(i + 1)]));
}
nfcapd.kill("SIGTERM");
const log = new TextDecoder().decode((await nfcapd.output()).stderr);
rmSync(dir, { recursive: true });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const show = (xs: number[]) =>
  `${median(xs).toFixed(2)} s (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`;
const row = (name: string, xs: Sample[]) =>
  console.log(`${name}  wall ${show(xs.map((x) => x.wallS))}  cpu ${show(xs.map((x) => x.cpuS))}`);
console.log(`${file}, ${runs} runs each, taking turns`);
row("read -q:        ", plain);
row("read -q --ipfix:", ipfix);
const ratio = (k: keyof Sample) =>
  (median(ipfix.map((x) => x[k])) / median(plain.map((x) => x[k]))).toFixed(2);
console.log(`--ipfix / plain: wall ${ratio("wallS")}x, cpu ${ratio("cpuS")}x`);
console.log(`nfcapd: ${log.match(/Flows: .*/)?.[0] ?? log}`);
