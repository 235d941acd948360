// `deno task bench`: times wiresight's full report (application layer included) on a ~1 GiB
// capture against ndpiReader (flows + DPI), tshark extracting the same application fields,
// tshark's conversations, tcpdump, and, for layers 2-4 (`--no-app`), a minimal native C walk
// (bench/native_walk.c). Prints median wall time, peak RSS and wiresight's ratio to each peer,
// and saves the figures as JSON in bench/out/.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { wiresightCommand } from "./wiresight_command.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DEFAULT_FILE = "/tmp/bench/bench.pcap";
/** The flow-heavy stress capture (`--flow-heavy`): a million two-packet UDP flows. */
const FLOW_HEAVY_FILE = "/tmp/bench/flowheavy.pcap";
const FLOW_HEAVY_SCRIPT = join(ROOT, "bench/make-flow-heavy-pcap.py");
/** Both capture scripts write DEFAULT_FILE; the shared one is the reference capture. */
const CAPTURE_SCRIPTS = [
  join(ROOT, "../shared/bench/make-bench-pcap.sh"),
  join(ROOT, "bench/make-bench-pcap.sh"),
];
const BUILD_DIR = "/tmp/wiresight-bench";
const NATIVE_WALK = join(BUILD_DIR, "native_walk");
const GNU_TIME = "/usr/bin/time";
/** The project's goals for the full report on this capture (layers 2-4 against the native walk). */
const GOAL_NATIVE_RATIO = 2.5;
const GOAL_RSS_MIB = 300;
/** With application decoding on (the default): this much faster than each peer. */
const GOAL_FASTER_THAN: Record<string, number> = { ndpi: 3, "tshark-fields": 50 };
/** The application fields wiresight's report and exports carry, as tshark names them. */
const TSHARK_APP_FIELDS = [
  "dns.qry.name",
  "dns.qry.type",
  "dns.flags.rcode",
  "dns.a",
  "dns.aaaa",
  "http.request.method",
  "http.request.uri",
  "http.host",
  "http.user_agent",
  "http.response.code",
  "tls.handshake.extensions_server_name",
  "tls.handshake.ja3",
  "tls.handshake.extensions_alpn_str",
];

const HELP = `Usage: deno task bench [--runs N] [--file PCAP | --flow-heavy] [--only LIST]

  --runs N      timed runs per tool after one untimed warm-up run (default 5)
  --file PCAP   the capture (default $WIRESIGHT_BENCH_FILE, else ${DEFAULT_FILE}, built when missing)
  --flow-heavy  use ${FLOW_HEAVY_FILE} instead: 1,000,000 two-packet UDP flows (built when missing)
  --only LIST   comma-separated subset of: wiresight, wiresight-l4, wiresight-detect, native, tcpdump,
                ndpi, tshark, tshark-fields (and baseline, baseline-l4, baseline-detect)
  --baseline DIR  also time the wiresight of another checkout (e.g. a git worktree of the commit before
                a change) with the same three commands, in the same rounds: a before/after ratio
`;

interface Tool {
  name: string;
  label: string;
  cmd: string[];
  /** The program that must be installed (the native walk needs gcc), and its Debian package. */
  needs: string;
  pkg: string;
  /** Checks one run's stdout; only set for tools whose output is small and carries counts. */
  check?(stdout: string): Counts;
}

interface Counts {
  packets: number;
  bytes: number;
  flows: number;
}

interface Timing {
  wallS: number;
  rssKiB: number | null;
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      runs: { type: "string", default: "5" },
      file: { type: "string" },
      only: { type: "string" },
      "flow-heavy": { type: "boolean" },
      baseline: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (v.help) {
    console.log(HELP);
    return;
  }
  const runs = Number(v.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 100) {
    throw new Error(`--runs takes 1 to 100, not '${v.runs}'`);
  }
  const file = v["flow-heavy"]
    ? FLOW_HEAVY_FILE
    : v.file ?? Deno.env.get("WIRESIGHT_BENCH_FILE") ?? DEFAULT_FILE;
  await bench(file, runs, v.only?.split(",").map((s) => s.trim()), v.baseline);
}

async function bench(
  file: string,
  runs: number,
  only: string[] | undefined,
  baseline?: string,
): Promise<void> {
  await ensureCapture(file);
  mkdirSync(BUILD_DIR, { recursive: true });
  const tools = selectTools(file, only, baseline);
  const reference = capinfosCounts(file);
  const size = Deno.statSync(file).size;
  console.error(`warming the page cache with ${file} (${gib(size)} GiB)`);
  warmCache(file);
  // Other work on the machine skews the figures: record the load, and warn when it is high.
  const load = loadavg()[0];
  if (load > 0.5) console.error(`warning: load average ${load.toFixed(2)}: timings will be noisy`);

  const counts = new Map<Tool, Counts>();
  for (const tool of tools) {
    // The warm-up run also fills Deno's module cache; its output is checked before any timing.
    console.error(`${tool.label}: warm-up run`);
    const warm = verify(tool, (await runOnce(tool)).stdout, reference);
    if (warm) counts.set(tool, warm);
  }
  // Rounds over all tools rather than all runs of one tool, so a burst of other load on the
  // machine hits every tool alike and the ratios stay fair.
  const timings = new Map<Tool, Timing[]>(tools.map((t) => [t, []]));
  for (let i = 0; i < runs; i++) {
    for (const tool of tools) {
      const r = await runOnce(tool);
      verify(tool, r.stdout, reference);
      timings.get(tool)!.push(r.timing);
      console.error(`${tool.label}: run ${i + 1}/${runs} ${r.timing.wallS.toFixed(3)} s`);
    }
  }

  const rows = tools.map((tool) => summarize(tool, timings.get(tool)!));
  const ws = rows.find((r) => r.name === "wiresight");
  for (const r of rows) r.ratio = ws && r !== ws ? r.medianS / ws.medianS : null;
  const result: Result = {
    date: new Date().toISOString(),
    file,
    size,
    packets: reference.packets,
    bytes: reference.bytes,
    flows: Object.fromEntries([...counts].map(([t, c]) => [t.name, c.flows])),
    runs,
    host: { cpus: cpus().length, cpu: cpus()[0]?.model, kernel: release(), deno: Deno.version.deno, load },
    tools: rows,
    goals: ws ? goals(ws, rows) : [],
  };
  printResult(result);
  mkdirSync(join(ROOT, "bench/out"), { recursive: true });
  const out = join(ROOT, "bench/out", `bench-${result.date.replace(/[:.]/g, "-")}.json`);
  writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`\nresults: ${out}`);
}

/** Builds the default or flow-heavy capture when missing; a capture given by path must exist. */
async function ensureCapture(file: string): Promise<void> {
  if (existsSync(file)) return;
  if (file === FLOW_HEAVY_FILE) {
    mkdirSync("/tmp/bench", { recursive: true });
    const { success } = await new Deno.Command("python3", { args: [FLOW_HEAVY_SCRIPT, file] }).output();
    if (!success || !existsSync(file)) throw new Error(`${FLOW_HEAVY_SCRIPT} did not produce ${file}`);
    return;
  }
  if (file !== DEFAULT_FILE) throw new Error(`${file}: no such capture`);
  const script = CAPTURE_SCRIPTS.find((s) => existsSync(s))!;
  console.error(`${file} is missing: building it with ${script} (needs root; about half a minute)`);
  const { success } = await new Deno.Command("bash", { args: [script], stdout: "inherit", stderr: "inherit" })
    .output();
  if (!success || !existsSync(file)) throw new Error(`${script} did not produce ${file}`);
}

/** The three wiresight reads of the checkout at `root`, named with `prefix` ("wiresight", "baseline"). */
function wiresightTools(file: string, root: string, prefix: string, who: string): Tool[] {
  const tool = (suffix: string, label: string, extra: string[]): Tool => ({
    name: prefix + suffix,
    label: `${who} ${label}`,
    cmd: [...readCommand(file, root), ...extra],
    needs: Deno.execPath(),
    pkg: "",
    check: wiresightCounts,
  });
  return [
    tool("", "read", []),
    // Layers 2-4 only: the same work as the native walk, for the GOAL_NATIVE_RATIO.
    tool("-l4", "--no-app", ["--no-app"]),
    // Every detector on (alerts on stderr): the cost of detection, against the plain read above.
    tool("-detect", "--detect", ["--detect"]),
  ];
}

function selectTools(file: string, only: string[] | undefined, baseline?: string): Tool[] {
  const all: Tool[] = [
    ...wiresightTools(file, ROOT, "wiresight", "wiresight"),
    ...(baseline ? wiresightTools(file, baseline, "baseline", "baseline") : []),
    {
      name: "native",
      label: "native walk",
      cmd: [NATIVE_WALK, file],
      needs: "gcc",
      pkg: "gcc",
      check: nativeCounts,
    },
    {
      name: "tcpdump",
      label: "tcpdump -nn -r",
      cmd: ["tcpdump", "-nn", "-r", file],
      needs: "tcpdump",
      pkg: "tcpdump",
    },
    {
      name: "ndpi",
      label: "ndpiReader",
      cmd: ["ndpiReader", "-i", file, "-q"],
      needs: "ndpiReader",
      pkg: "libndpi-bin",
    },
    {
      name: "tshark",
      label: "tshark conv,ip",
      cmd: ["tshark", "-q", "-z", "conv,ip", "-r", file],
      needs: "tshark",
      pkg: "tshark",
    },
    {
      // The same application fields wiresight extracts (DNS, HTTP, TLS SNI/JA3/ALPN).
      name: "tshark-fields",
      label: "tshark -T fields",
      cmd: ["tshark", "-n", "-r", file, "-T", "fields", ...TSHARK_APP_FIELDS.flatMap((f) => ["-e", f])],
      needs: "tshark",
      pkg: "tshark",
    },
  ];
  const names = all.map((t) => t.name);
  const unknown = only?.filter((n) => !names.includes(n)) ?? [];
  if (unknown.length) throw new Error(`--only: unknown ${unknown.join(", ")} (use ${names.join(", ")})`);
  const chosen = all.filter((t) => {
    if (only && !only.includes(t.name)) return false;
    if (findProgram(t.needs)) return true;
    console.error(`skipping ${t.label}: ${t.needs} not found (apt-get install -y ${t.pkg})`);
    return false;
  });
  if (chosen.some((t) => t.name === "native")) buildNativeWalk();
  return chosen;
}

/** `wiresight read FILE --report json` of the checkout at `root`. */
function readCommand(file: string, root = ROOT): string[] {
  return [...wiresightCommand(root), "read", file, "--report", "json", "--no-progress"];
}

/** Compiles the native baseline into /tmp (binaries are never kept in the repo). */
function buildNativeWalk(): void {
  const args = ["-O2", "-o", NATIVE_WALK, join(ROOT, "bench/native_walk.c")];
  const r = new Deno.Command("gcc", { args }).outputSync();
  if (!r.success) throw new Error(`gcc failed:\n${new TextDecoder().decode(r.stderr)}`);
}

function findProgram(name: string): boolean {
  if (name.includes("/")) return existsSync(name);
  return (Deno.env.get("PATH") ?? "").split(delimiter).some((dir) => dir && existsSync(join(dir, name)));
}

/** Parses a run's counts and fails unless packets and bytes equal capinfos'. */
function verify(tool: Tool, stdout: string, ref: Counts): Counts | undefined {
  if (!tool.check) return undefined;
  const c = tool.check(stdout);
  if (c.packets !== ref.packets || c.bytes !== ref.bytes) {
    throw new Error(
      `${tool.label} counted ${c.packets} packets / ${c.bytes} bytes but capinfos says ` +
        `${ref.packets} / ${ref.bytes}: not timing a broken run`,
    );
  }
  return c;
}

function wiresightCounts(stdout: string): Counts {
  const r = JSON.parse(stdout);
  return { packets: r.packets, bytes: r.bytes, flows: r.flows };
}

function nativeCounts(stdout: string): Counts {
  return JSON.parse(stdout);
}

/** Packets and bytes (total original length) as capinfos counts them: the reference for the check. */
function capinfosCounts(file: string): Counts {
  if (!findProgram("capinfos")) throw new Error("capinfos not found (apt-get install -y wireshark-common)");
  const r = new Deno.Command("capinfos", { args: ["-T", "-r", "-M", "-c", "-d", file] }).outputSync();
  const line = new TextDecoder().decode(r.stdout).trim();
  const [, packets, bytes] = line.split("\t").map(Number);
  if (!r.success || !Number.isFinite(packets) || !Number.isFinite(bytes)) {
    throw new Error(`capinfos could not read ${file}: ${new TextDecoder().decode(r.stderr).trim() || line}`);
  }
  return { packets, bytes, flows: NaN };
}

/** Reads the whole file once so every tool starts from the page cache. */
function warmCache(file: string): void {
  const f = Deno.openSync(file);
  const buf = new Uint8Array(4 << 20);
  try {
    while (f.readSync(buf) !== null) { /* discard */ }
  } finally {
    f.close();
  }
}

/** One run: wall time measured here, peak RSS from GNU time (null when it is not installed). */
async function runOnce(tool: Tool): Promise<{ timing: Timing; stdout: string }> {
  const rssFile = join(BUILD_DIR, "rss.txt");
  const timed = existsSync(GNU_TIME);
  const [program, ...args] = timed ? [GNU_TIME, "-f", "%M", "-o", rssFile, ...tool.cmd] : tool.cmd;
  const command = new Deno.Command(program, { args, stdout: tool.check ? "piped" : "null", stderr: "piped" });
  const start = performance.now();
  const r = await command.output();
  const wallS = (performance.now() - start) / 1000;
  if (!r.success) {
    const err = new TextDecoder().decode(r.stderr).trim().split("\n").slice(-5).join("\n");
    throw new Error(`${tool.label} failed (exit ${r.code}):\n${err}`);
  }
  const rssKiB = timed ? Number(readFileSync(rssFile, "utf8").trim().split("\n").pop()) : null;
  return { timing: { wallS, rssKiB }, stdout: tool.check ? new TextDecoder().decode(r.stdout) : "" };
}

interface Row {
  name: string;
  label: string;
  command: string;
  wallS: number[];
  rssKiB: (number | null)[];
  medianS: number;
  medianRssMiB: number | null;
  /** This tool's median time over wiresight's. */
  ratio: number | null;
}

function summarize(tool: Tool, list: Timing[]): Row {
  const rss = list.map((t) => t.rssKiB);
  const known = rss.filter((x): x is number => x !== null);
  return {
    name: tool.name,
    label: tool.label,
    command: tool.cmd.join(" "),
    wallS: list.map((t) => t.wallS),
    rssKiB: rss,
    medianS: median(list.map((t) => t.wallS)),
    medianRssMiB: known.length ? median(known) / 1024 : null,
    ratio: null,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Result {
  date: string;
  file: string;
  size: number;
  packets: number;
  bytes: number;
  /** Flows counted by the tools that report them (wiresight, native walk). */
  flows: Record<string, number>;
  runs: number;
  host: { cpus: number; cpu?: string; kernel: string; deno: string; load: number };
  tools: Row[];
  goals: Goal[];
}

interface Goal {
  text: string;
  met: boolean;
}

function printResult(r: Result): void {
  console.log(`\n${r.file}: ${gib(r.size)} GiB, ${r.packets} packets, ${r.bytes} bytes (capinfos)`);
  console.log(`flows: ${Object.entries(r.flows).map(([k, n]) => `${k} ${n}`).join(", ")}`);
  console.log(`median of ${r.runs} runs, page cache warm, load average ${r.host.load.toFixed(2)} at start\n`);
  const header = ["tool", "median s", "min s", "max s", "peak RSS MiB", "MiB/s", "wiresight vs it"];
  const lines = r.tools.map((t) => [
    t.label,
    t.medianS.toFixed(3),
    Math.min(...t.wallS).toFixed(3),
    Math.max(...t.wallS).toFixed(3),
    t.medianRssMiB === null ? "n/a" : t.medianRssMiB.toFixed(1),
    (r.size / 2 ** 20 / t.medianS).toFixed(0),
    versus(t.ratio),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  // Names and the verdict are left-aligned, numbers right-aligned.
  const cell = (c: string, i: number) =>
    i === 0 || i === header.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]);
  for (const l of [header, ...lines]) console.log(l.map(cell).join("  ").trimEnd());
  if (r.goals.length) console.log("");
  for (const g of r.goals) console.log(g.text);
}

/** "wiresight is 45.0x faster" or "wiresight takes 1.8x its time", from the peer's time over wiresight's. */
function versus(ratio: number | null): string {
  if (ratio === null) return "";
  return ratio >= 1
    ? `wiresight is ${ratio.toFixed(1)}x faster`
    : `wiresight takes ${(1 / ratio).toFixed(1)}x its time`;
}

function goals(ws: Row, rows: Row[]): Goal[] {
  const native = rows.find((r) => r.name === "native");
  const l4 = rows.find((r) => r.name === "wiresight-l4");
  const goal = (what: string, value: string, met: boolean): Goal => ({
    text: `goal: ${what}: ${value}, ${met ? "met" : "MISSED"}`,
    met,
  });
  const list: Goal[] = [];
  if (native && l4) {
    const x = l4.medianS / native.medianS;
    list.push(
      goal(
        `--no-app within ${GOAL_NATIVE_RATIO}x the native walk`,
        `${x.toFixed(2)}x`,
        x <= GOAL_NATIVE_RATIO,
      ),
    );
  }
  for (const r of rows) {
    const want = GOAL_FASTER_THAN[r.name];
    if (want === undefined) continue;
    const x = r.medianS / ws.medianS;
    list.push(goal(`at least ${want}x faster than ${r.label}`, `${x.toFixed(1)}x`, x >= want));
  }
  if (ws.medianRssMiB !== null) {
    const mib = ws.medianRssMiB;
    list.push(goal(`peak RSS under ${GOAL_RSS_MIB} MiB`, `${mib.toFixed(0)} MiB`, mib < GOAL_RSS_MIB));
  }
  return list;
}

function gib(bytes: number): string {
  return (bytes / 2 ** 30).toFixed(2);
}

try {
  await main();
} catch (e) {
  console.error(`bench: ${(e as Error).message}`);
  Deno.exit(2);
}
