// `deno task bench:drops` (root): the highest packet rate each capture tool takes without a
// drop. A real capture is replayed with tcpreplay at rising rates into one end of a veth pair
// (in two network namespaces made for the run) and captured on the other end by wiresight (the
// default options with -q; with --write to tmpfs; printing its line per packet), by
// `tcpdump -w /dev/null` and by `tcpdump -nn` printing its lines (every tool's output goes to
// files on tmpfs). At each rate the tools take turns, in an order that rotates, and a tool that
// drops tries that rate again (--tries), so a burst of other work on the machine does not decide
// alone; --rounds gives every tool several turns. Per try: packets sent, received and dropped
// (libpcap's pcap_stats), captured, CPU seconds and peak memory; then each tool's highest rate
// with no drop, its CPU per packet and peak memory (medians, ranges), each with its ratio to the
// tcpdump doing the same job (lines: -nn; the rest: -w). Saves the figures as JSON in bench/out/.
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Real loopback traffic (HTTP, TLS, DNS, bulk TCP and UDP; MTU 1500), built by the bench scripts. */
const SEED = "/tmp/bench/seed.pcap";
const CAPTURE_SCRIPTS = [
  join(ROOT, "../shared/bench/make-bench-pcap.sh"),
  join(ROOT, "bench/make-bench-pcap.sh"),
];
const WORK = "/tmp/wiresight-drops";
/**
 * The seed's servers, by port: their side becomes SERVER and the clients' side CLIENT, the
 * capturing host's own address, so wiresight looks up a process for each new connection (and
 * finds none: the replayed sockets do not exist, the costliest case for attribution).
 */
const SERVER_PORTS = { tcp: [15201, 15353, 18080, 18081, 18443], udp: [15201, 15353] };
const CLIENT = "10.79.0.1";
const SERVER = "10.79.1.1";
const DEFAULT_RATES = [25_000, 50_000, 100_000, 150_000, 200_000, 250_000, 300_000, 350_000, 400_000];
/** A tool that dropped at this many rates in a row is not run at higher ones. */
const GIVE_UP_AFTER = 2;
/** Tries at one rate: a drop is tried again, so a burst of other load does not decide alone. */
const DEFAULT_TRIES = 2;
/** Programs the run needs, and their Debian packages. */
const REQUIRED = [
  ["tcpreplay", "tcpreplay"],
  ["tcpprep", "tcpreplay"],
  ["tcprewrite", "tcpreplay"],
  ["tcpdump", "tcpdump"],
  ["capinfos", "wireshark-common"],
  ["ip", "iproute2"],
];
const READY_TIMEOUT_MS = 60_000;
const EXIT_TIMEOUT_MS = 60_000;
/** After the replay, time for the tool to read what is still buffered. */
const DRAIN_MS = 1500;

const HELP = `Usage: deno task bench:drops [options]  (as root)

Needs root and the Debian packages tcpreplay, tcpdump, wireshark-common (capinfos), iproute2.
  --rates LIST     packets per second to try, rising (default ${DEFAULT_RATES.map(k).join(",")}; 'k' = 1000)
  --seconds S      length of each replay (default 4): rate x S packets are sent
  --tries N        a tool that drops at a rate tries it again, up to N times in all (default ${DEFAULT_TRIES});
                   the rate counts as taken without drops when one try was
  --rounds N       at each rate, every tool's turn comes N times (default 1; order rotating), for medians
                   of its CPU time per packet and its peak memory (printed per rate, with ranges)
  --only LIST      some of: ${toolNames().join(", ")}
  --capture PCAP   the capture to replay (default ${SEED}, built when missing); its servers
                   are told apart by port (${[...new Set(Object.values(SERVER_PORTS).flat())].join(", ")})
  --root DIR       the wiresight checkout to measure (default this one), e.g. to compare two
  --baseline DIR   also measure another checkout's wiresight tools (named baseline, baseline-write ...),
                   taking turns with this one's at every rate: a before/after comparison in one run
`;

interface Tool {
  name: string;
  label: string;
  /** The tcpdump tool its ratio is taken against: the one doing the same job (lines, or writing). */
  versus: "tcpdump" | "tcpdump-lines";
  /** The command (run in the capture namespace, its stdout going to `out`). */
  cmd(iface: string, scratch: string): string[];
  /** What it prints on stderr once it captures. */
  ready: string;
  /** `stdout` is read only by a tool whose stdout is its report (a line printer's may be large). */
  counts(stdout: () => string, stderr: string): Counts;
}

interface Counts {
  received: number;
  /** Dropped by the kernel for lack of buffer (ps_drop) plus by the interface (ps_ifdrop). */
  dropped: number;
  /** Packets the tool handled: wiresight's report, tcpdump's "captured". */
  captured: number;
}

interface Step extends Partial<Counts> {
  tool: string;
  targetPps: number;
  try: number;
  sent: number;
  sentPps: number;
  seconds: number;
  /** sent - captured: every packet the tool did not get, counted or not. */
  lost?: number;
  lossless: boolean;
  cpuS?: number;
  /** CPU time per packet captured, in microseconds. */
  cpuUsPerPacket?: number;
  peakRssMiB?: number;
  load: number;
  error?: string;
}

function toolNames(): string[] {
  return tools("").map((t) => t.name);
}

function tools(root: string): Tool[] {
  const ws = (...extra: string[]) => (iface: string) => [
    Deno.execPath(),
    "run",
    "--allow-all",
    ...v8Flags(root),
    join(root, "src/cli/main.ts"),
    "capture",
    "-i",
    iface,
    "--report",
    "json",
    ...extra,
  ];
  return [
    {
      name: "wiresight",
      label: "wiresight -q",
      versus: "tcpdump",
      cmd: ws("-q"),
      ready: "wiresight: capturing on",
      counts: wiresightCounts,
    },
    {
      name: "wiresight-write",
      label: "wiresight -q --write",
      versus: "tcpdump",
      cmd: (iface, scratch) => ws("-q", "--write", join(scratch, "capture.pcapng"))(iface),
      ready: "wiresight: capturing on",
      counts: wiresightCounts,
    },
    {
      // Its lines go to a file on tmpfs, with the report after them.
      name: "wiresight-lines",
      label: "wiresight (lines)",
      versus: "tcpdump-lines",
      cmd: ws(),
      ready: "wiresight: capturing on",
      counts: wiresightCounts,
    },
    {
      name: "tcpdump",
      label: "tcpdump -w /dev/null",
      versus: "tcpdump",
      cmd: (iface) => ["tcpdump", "-i", iface, "-w", "/dev/null"],
      ready: "listening on",
      counts: tcpdumpCounts,
    },
    {
      // A line per packet, as wiresight's lines: to a file on tmpfs, names not resolved.
      name: "tcpdump-lines",
      label: "tcpdump -nn",
      versus: "tcpdump-lines",
      cmd: (iface) => ["tcpdump", "-nn", "-i", iface],
      ready: "listening on",
      counts: tcpdumpCounts,
    },
  ];
}

/** The V8 flags `deno task wiresight` runs with (deno.json's), so the bench measures what users run. */
function v8Flags(root: string): string[] {
  const task: string = JSON.parse(Deno.readTextFileSync(join(root, "deno.json"))).tasks?.wiresight ?? "";
  return task.split(/\s+/).filter((a) => a.startsWith("--v8-flags="));
}

/** Another checkout's wiresight tools, told apart by name and label. */
function baselineTools(root: string): Tool[] {
  return tools(root).filter((t) => t.name.startsWith("wiresight")).map((t) => ({
    ...t,
    name: t.name.replace("wiresight", "baseline"),
    label: `baseline ${t.label}`,
  }));
}

/** The JSON report that ends wiresight's output. */
function wiresightCounts(readStdout: () => string): Counts {
  const stdout = readStdout();
  const at = stdout.startsWith("{") ? 0 : stdout.lastIndexOf("\n{\n") + 1;
  if (at === 0 && !stdout.startsWith("{")) {
    throw new Error(`no report in wiresight's output: ${tail(stdout)}`);
  }
  const r = JSON.parse(stdout.slice(at));
  const c = r.capture ?? {};
  return { received: c.received, dropped: (c.dropped ?? 0) + (c.ifDropped ?? 0), captured: r.packets };
}

function tcpdumpCounts(_stdout: () => string, stderr: string): Counts {
  const n = (what: string) => Number(stderr.match(new RegExp(`(\\d+) packets? ${what}`))?.[1] ?? NaN);
  const ifDropped = n("dropped by interface");
  const counts = {
    received: n("received by filter"),
    dropped: n("dropped by kernel") + (Number.isNaN(ifDropped) ? 0 : ifDropped),
    captured: n("captured"),
  };
  if (Object.values(counts).some(Number.isNaN)) {
    throw new Error(`no statistics from tcpdump: ${tail(stderr)}`);
  }
  return counts;
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      rates: { type: "string" },
      seconds: { type: "string", default: "4" },
      tries: { type: "string", default: String(DEFAULT_TRIES) },
      rounds: { type: "string", default: "1" },
      only: { type: "string" },
      capture: { type: "string", default: SEED },
      root: { type: "string", default: ROOT },
      baseline: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (v.help) {
    console.log(HELP);
    return;
  }
  const rates = v.rates ? v.rates.split(",").map(parseRate) : DEFAULT_RATES;
  const seconds = Number(v.seconds);
  if (!(seconds >= 1 && seconds <= 60)) throw new Error(`--seconds takes 1 to 60, not '${v.seconds}'`);
  const tries = Number(v.tries);
  if (!Number.isInteger(tries) || tries < 1 || tries > 5) {
    throw new Error(`--tries takes 1 to 5, not '${v.tries}'`);
  }
  const rounds = Number(v.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) {
    throw new Error(`--rounds takes 1 to 20, not '${v.rounds}'`);
  }
  const all = [...tools(v.root!), ...(v.baseline ? baselineTools(v.baseline) : [])];
  const only = v.only?.split(",").map((s) => s.trim());
  const unknown = only?.filter((n) => !all.some((t) => t.name === n)) ?? [];
  if (unknown.length) throw new Error(`unknown tool ${unknown.join(", ")} (see --help)`);
  const chosen = all.filter((t) => !only || only.includes(t.name));
  if (Deno.uid() !== 0) throw new Error("needs root: it creates network namespaces and captures");
  for (const [program, pkg] of REQUIRED) {
    if (!(await succeeds(["sh", "-c", `command -v ${program}`]))) {
      throw new Error(`${program} is missing: apt-get install -y ${pkg}`);
    }
  }
  await ensureSeed(v.capture!);
  const replay = await prepareReplay(v.capture!);
  const net = new Net();
  const stopBench = () => {
    net.remove();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", stopBench);
  try {
    await net.create();
    const result = await run(net, replay, chosen, { rates, seconds, tries, rounds });
    printResult(result);
    printCosts(result);
    mkdirSync(join(ROOT, "bench/out"), { recursive: true });
    const out = join(ROOT, "bench/out", `drops-${result.date.replace(/[:.]/g, "-")}.json`);
    writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
    console.log(`\nresults: ${out}`);
  } finally {
    Deno.removeSignalListener("SIGINT", stopBench);
    net.remove();
  }
}

interface Result {
  date: string;
  capture: { seed: string; replayed: string; packets: number; bytes: number };
  seconds: number;
  tries: number;
  host: { cpus: number; cpu?: string; kernel: string; deno: string; loadStart: number[]; loadEnd: number[] };
  steps: Step[];
  costs: Cost[];
  /** Per tool: the highest rate sent with no drop, the rates at which every try dropped. */
  /** vsTcpdump: the ratio to the tcpdump doing the same job (`versus`, named in `against`). */
  best: Record<
    string,
    { pps: number | null; droppedAt: number[]; against: string; vsTcpdump: number | null }
  >;
}

async function run(
  net: Net,
  replay: Replay,
  chosen: Tool[],
  plan: { rates: number[]; seconds: number; tries: number; rounds: number },
): Promise<Result> {
  const loadStart = loadavg();
  if (loadStart[0] > 0.5) {
    console.error(`warning: load average ${loadStart[0].toFixed(2)}: other work shares the CPUs`);
  }
  console.error("warm-up (fills Deno's caches)");
  for (const t of chosen.filter((t) => t.name.startsWith("wiresight")).slice(0, 1)) {
    await captureWhile(net, t, () => Promise.resolve());
  }
  const steps: Step[] = [];
  const dropsInRow = new Map<string, number>();
  for (const [i, rate] of plan.rates.entries()) {
    const active = chosen.filter((t) => (dropsInRow.get(t.name) ?? 0) < GIVE_UP_AFTER);
    if (!active.length) break;
    const losslessAt = new Set<string>();
    for (let round = 0; round < plan.rounds; round++) {
      // Rotate the order at each rate and round, so no tool always runs first (or last).
      const order = active.map((_, j) => active[(i + round + j) % active.length]);
      for (const tool of order) {
        let lossless = false;
        for (let t = 1; t <= plan.tries && !lossless; t++) {
          const step = await measure(net, replay, tool, rate, plan.seconds);
          step.try = t;
          steps.push(step);
          lossless = step.lossless;
          console.error(stepLine(step));
        }
        if (lossless) losslessAt.add(tool.name);
      }
    }
    for (const tool of active) {
      dropsInRow.set(tool.name, losslessAt.has(tool.name) ? 0 : (dropsInRow.get(tool.name) ?? 0) + 1);
    }
  }
  return {
    date: new Date().toISOString(),
    capture: { seed: replay.seed, replayed: replay.path, packets: replay.packets, bytes: replay.bytes },
    seconds: plan.seconds,
    tries: plan.tries,
    host: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      kernel: release(),
      deno: Deno.version.deno,
      loadStart,
      loadEnd: loadavg(),
    },
    steps,
    best: best(chosen, steps),
    costs: costs(chosen, steps),
  };
}

/** Per tool and rate: CPU per packet and peak memory over the tries that ran (medians, ranges). */
function costs(chosen: Tool[], steps: Step[]): Cost[] {
  const out: Cost[] = [];
  for (const rate of [...new Set(steps.map((s) => s.targetPps))]) {
    for (const t of chosen) {
      const mine = steps.filter((s) => s.tool === t.name && s.targetPps === rate && s.cpuUsPerPacket);
      if (!mine.length) continue;
      out.push({
        tool: t.name,
        against: t.versus,
        targetPps: rate,
        runs: mine.length,
        cpuUsPerPacket: spread(mine.map((s) => s.cpuUsPerPacket!)),
        peakRssMiB: spread(mine.map((s) => s.peakRssMiB!)),
      });
    }
  }
  return out;
}

function spread(xs: number[]): Spread {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

interface Spread {
  median: number;
  min: number;
  max: number;
}

interface Cost {
  tool: string;
  against: string;
  targetPps: number;
  runs: number;
  cpuUsPerPacket: Spread;
  peakRssMiB: Spread;
}

function best(chosen: Tool[], steps: Step[]): Result["best"] {
  const out: Result["best"] = {};
  for (const t of chosen) {
    const mine = steps.filter((s) => s.tool === t.name);
    const taken = new Set(mine.filter((s) => s.lossless).map((s) => s.targetPps));
    const ok = mine.filter((s) => s.lossless).map((s) => s.sentPps);
    const droppedAt = [...new Set(mine.filter((s) => !taken.has(s.targetPps)).map((s) => s.targetPps))];
    out[t.name] = { pps: ok.length ? Math.max(...ok) : null, droppedAt, against: t.versus, vsTcpdump: null };
  }
  for (const b of Object.values(out)) {
    const ref = out[b.against]?.pps;
    b.vsTcpdump = ref && b.pps !== null ? b.pps / ref : null;
  }
  return out;
}

/** One replay at one rate, captured by one tool. */
async function measure(net: Net, replay: Replay, tool: Tool, rate: number, seconds: number): Promise<Step> {
  const packets = Math.round(rate * seconds);
  let sent = { packets: 0, pps: 0, seconds: 0 };
  const step: Step = {
    tool: tool.name,
    targetPps: rate,
    try: 1,
    sent: 0,
    sentPps: 0,
    seconds: 0,
    lossless: false,
    load: 0,
  };
  try {
    const r = await captureWhile(net, tool, async () => {
      sent = await tcpreplay(net, replay.path, rate, packets, seconds);
    });
    Object.assign(step, r.counts, { cpuS: r.cpuS, peakRssMiB: r.peakRssMiB });
  } catch (e) {
    step.error = (e as Error).message;
  }
  step.sent = sent.packets;
  step.sentPps = Math.round(sent.pps);
  step.seconds = sent.seconds;
  step.load = loadavg()[0];
  if (step.captured !== undefined) step.lost = step.sent - step.captured;
  if (step.cpuS !== undefined && step.captured) step.cpuUsPerPacket = (step.cpuS / step.captured) * 1e6;
  step.lossless = !step.error && step.sent > 0 && step.dropped === 0 && step.lost! <= 0;
  return step;
}

interface Run {
  counts: Counts;
  cpuS: number;
  peakRssMiB: number;
}

/**
 * Starts the tool in the capture namespace, runs `work` once it captures, then stops it. Both its
 * streams go to files on tmpfs: lines printed per packet cost the tool a write, not this process.
 */
async function captureWhile(net: Net, tool: Tool, work: () => Promise<void>): Promise<Run> {
  const scratch = Deno.makeTempDirSync({ dir: "/dev/shm", prefix: "wiresight-drops-" });
  const out = join(scratch, "stdout"), err = join(scratch, "stderr");
  const child = new Deno.Command("ip", {
    args: [
      ...["netns", "exec", net.rx, "sh", "-c", 'exec "$@" >"$OUT" 2>"$ERR"', "sh"],
      ...tool.cmd(net.rxIf, scratch),
    ],
    env: { OUT: out, ERR: err, NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const ended = child.status.then(() => true);
  try {
    if (!(await waitForText(err, tool.ready, ended))) {
      throw new Error(`${tool.label} did not start: ${tail(head(err))}`);
    }
    // wiresight maps the processes' sockets once it captures; let that settle first.
    await sleep(1000);
    const before = cpuSeconds(child.pid);
    await work();
    await sleep(DRAIN_MS);
    const cpuS = cpuSeconds(child.pid) - before;
    const peakRssMiB = peakRss(child.pid);
    child.kill("SIGINT");
    const exit = await Promise.race([child.status, sleep(EXIT_TIMEOUT_MS).then(() => null)]);
    if (!exit) throw new Error(`${tool.label} did not stop within ${EXIT_TIMEOUT_MS / 1000} s of SIGINT`);
    if (!exit.success) throw new Error(`${tool.label} exited with ${exit.code}: ${tail(lastBytes(err))}`);
    return { counts: tool.counts(() => Deno.readTextFileSync(out), lastBytes(err)), cpuS, peakRssMiB };
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Polls `path`'s beginning until `marker` is in it; false on timeout or once the process ended. */
async function waitForText(path: string, marker: string, ended: Promise<boolean>): Promise<boolean> {
  let gone = false;
  ended.then(() => (gone = true));
  for (const deadline = Date.now() + READY_TIMEOUT_MS; Date.now() < deadline;) {
    if (head(path).includes(marker)) return true;
    if (gone) return false;
    await sleep(100);
  }
  return false;
}

/** The first 64 KiB of a file as text (the start of a stream that may grow large). */
function head(path: string): string {
  return readPart(path, false);
}

/** The last 64 KiB of a file as text (where the statistics are, after any lines). */
function lastBytes(path: string): string {
  return readPart(path, true);
}

function readPart(path: string, end: boolean): string {
  const PART = 64 * 1024;
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path);
  } catch {
    return "";
  }
  try {
    const size = f.statSync().size;
    if (end && size > PART) f.seekSync(size - PART, Deno.SeekMode.Start);
    const buf = new Uint8Array(Math.min(PART, size));
    let n = 0;
    for (let r: number | null; n < buf.length && (r = f.readSync(buf.subarray(n))) !== null;) n += r;
    return new TextDecoder().decode(buf.subarray(0, n));
  } finally {
    f.close();
  }
}

/** Replays `packets` packets at `rate` per second; what tcpreplay says it sent. */
async function tcpreplay(net: Net, file: string, rate: number, packets: number, seconds: number) {
  const cmd = new Deno.Command("ip", {
    args: [
      ...["netns", "exec", net.tx, "tcpreplay", "-i", net.txIf, "--preload-pcap"],
      ...[`--pps=${rate}`, "--loop=0", `--limit=${packets}`, file],
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => cmd.kill("SIGKILL"), (seconds * 4 + 30) * 1000);
  const r = await cmd.output();
  clearTimeout(timer);
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  const actual = text.match(/Actual: (\d+) packets \(\d+ bytes\) sent in ([\d.]+) seconds/);
  const rated = text.match(/Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps/);
  if (!r.success || !actual || !rated) throw new Error(`tcpreplay failed: ${tail(text)}`);
  return { packets: Number(actual[1]), seconds: Number(actual[2]), pps: Number(rated[1]) };
}

/** Two namespaces joined by a veth pair: tcpreplay sends on one end, the tools capture the other. */
class Net {
  readonly tx = `wsdrops-tx-${Deno.pid}`;
  readonly rx = `wsdrops-rx-${Deno.pid}`;
  readonly txIf = `wsdtx${Deno.pid}`;
  readonly rxIf = `wsdrx${Deno.pid}`;
  #made = false;

  async create(): Promise<void> {
    this.#made = true;
    for (const ns of [this.tx, this.rx]) {
      await must(["ip", "netns", "add", ns]);
      // No IPv6 on the pair: no neighbour or router solicitations among the replayed packets.
      await must([
        ...["ip", "netns", "exec", ns, "sysctl", "-q", "-w"],
        ...["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"],
      ]);
    }
    await must([
      "ip",
      "link",
      "add",
      this.txIf,
      "netns",
      this.tx,
      "type",
      "veth",
      "peer",
      "name",
      this.rxIf,
      "netns",
      this.rx,
    ]);
    // The capturing side is the clients' host. The frames are not addressed to its MAC, so its
    // stack drops them after the capture and answers nothing.
    await must(["ip", "-n", this.rx, "addr", "add", `${CLIENT}/24`, "dev", this.rxIf]);
    await must(["ip", "-n", this.tx, "link", "set", this.txIf, "up"]);
    await must(["ip", "-n", this.rx, "link", "set", this.rxIf, "up"]);
  }

  /** Deletes both namespaces (and so the veth pair); safe to call more than once. */
  remove(): void {
    if (!this.#made) return;
    this.#made = false;
    for (const ns of [this.tx, this.rx]) {
      new Deno.Command("ip", { args: ["netns", "delete", ns], stderr: "null" }).outputSync();
    }
  }
}

interface Replay {
  seed: string;
  path: string;
  packets: number;
  bytes: number;
}

/** The seed with its clients on CLIENT and its servers on SERVER (tcpprep splits by port). */
async function prepareReplay(seed: string): Promise<Replay> {
  mkdirSync(WORK, { recursive: true });
  const services = join(WORK, "services"), cache = join(WORK, "seed.cache"), path = join(WORK, "replay.pcap");
  const lines = Object.entries(SERVER_PORTS).flatMap(([proto, ports]) =>
    ports.map((p) => `s${p} ${p}/${proto}`)
  );
  writeFileSync(services, lines.join("\n") + "\n");
  if (!existsSync(path) || statSync(path).mtimeMs < statSync(seed).mtimeMs) {
    await must(["tcpprep", "--port", `--services=${services}`, `--cachefile=${cache}`, "-i", seed]);
    await must([
      "tcprewrite",
      `--cachefile=${cache}`,
      `--endpoints=${CLIENT}:${SERVER}`,
      "-C",
      "-i",
      seed,
      "-o",
      path,
    ]);
  }
  const info = await output(["capinfos", "-T", "-r", "-c", "-d", path]);
  const [, packets, bytes] = info.trim().split("\t");
  return { seed, path, packets: Number(packets), bytes: Number(bytes) };
}

async function ensureSeed(seed: string): Promise<void> {
  if (existsSync(seed)) return;
  if (seed !== SEED) throw new Error(`${seed}: no such capture`);
  const script = CAPTURE_SCRIPTS.find((s) => existsSync(s));
  if (!script) throw new Error(`${SEED} is missing and no script to build it was found`);
  console.error(`${SEED} is missing: building it with ${script} (needs root; about half a minute)`);
  await must(["bash", script]);
}

// ---- output ----------------------------------------------------------------------------------

function printResult(r: Result): void {
  console.log(
    `\nreplayed ${r.capture.replayed} (${r.capture.packets} packets of ${r.capture.seed}), ` +
      `${r.seconds} s per try, up to ${r.tries} tries per rate; ${r.host.cpus} CPUs, load ${
        r.host.loadStart[0].toFixed(2)
      } -> ` +
      `${r.host.loadEnd[0].toFixed(2)}\n`,
  );
  const header = [
    "rate",
    "tool",
    "try",
    "sent",
    "sent/s",
    "received",
    "dropped",
    "captured",
    "lost",
    "CPU s",
    "us/pkt",
    "RSS MiB",
    "load",
  ];
  const rows = r.steps.map((s) =>
    [
      k(s.targetPps),
      s.tool,
      String(s.try),
      String(s.sent),
      String(s.sentPps),
      fmt(s.received),
      fmt(s.dropped),
      fmt(s.captured),
      fmt(s.lost),
      s.cpuS?.toFixed(2) ?? "",
      s.cpuUsPerPacket?.toFixed(2) ?? "",
      s.peakRssMiB?.toFixed(0) ?? "",
      s.load.toFixed(2),
    ].concat(s.error ? [`error: ${s.error}`] : [])
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  for (const row of [header, ...rows]) {
    console.log(row.map((c, i) => c.padStart(i < widths.length ? widths[i] : 0)).join("  "));
  }
  console.log("\nhighest rate with no drop (packets/s actually sent):");
  for (const [name, b] of Object.entries(r.best)) {
    const pps = b.pps === null ? "none" : `${b.droppedAt.length ? "" : ">= "}${b.pps}`;
    const from = b.droppedAt.length
      ? `every try dropped at ${b.droppedAt.map(k).join(", ")}/s`
      : "no drop at any rate tried";
    // While that tcpdump never dropped, its true limit is higher and the ratio an upper bound.
    const bound = r.best[b.against]?.droppedAt.length === 0 ? "<= " : "";
    const ratio = b.vsTcpdump === null || name === b.against
      ? ""
      : `, ${bound}${b.vsTcpdump.toFixed(2)}x ${b.against}'s`;
    console.log(`  ${name.padEnd(16)} ${pps.padStart(10)}  (${from}${ratio})`);
  }
}

function printCosts(r: Result): void {
  console.log(
    "\nCPU per packet captured and peak memory, per rate (median, [range], runs); " +
      "CPU ratio: the tool's median over its tcpdump's (tcpdump -nn for lines, -w for the rest):",
  );
  for (const c of r.costs) {
    const ref = r.costs.find((o) => o.tool === c.against && o.targetPps === c.targetPps);
    const ratio = ref && c.tool !== c.against
      ? `  ${(c.cpuUsPerPacket.median / ref.cpuUsPerPacket.median).toFixed(2)}x ${c.against}'s CPU`
      : "";
    const cpu = c.cpuUsPerPacket, rss = c.peakRssMiB;
    console.log(
      `  ${k(c.targetPps).padStart(5)}/s ${c.tool.padEnd(22)} ${cpu.median.toFixed(2)} µs ` +
        `[${cpu.min.toFixed(2)}-${cpu.max.toFixed(2)}]  ${rss.median.toFixed(0)} MiB ` +
        `[${rss.min.toFixed(0)}-${rss.max.toFixed(0)}]  (${c.runs})${ratio}`,
    );
  }
}

function stepLine(s: Step): string {
  const what = s.error
    ? `error: ${s.error}`
    : `received ${s.received} dropped ${s.dropped} captured ${s.captured}`;
  return `${k(s.targetPps)}/s ${s.tool}: sent ${s.sent} at ${s.sentPps}/s, ${what}`;
}

// ---- helpers ---------------------------------------------------------------------------------

function parseRate(text: string): number {
  const m = text.trim().match(/^(\d+(?:\.\d+)?)(k?)$/i);
  const rate = m ? Number(m[1]) * (m[2] ? 1000 : 1) : NaN;
  if (!(rate >= 1 && rate <= 10_000_000)) throw new Error(`--rates: '${text}' is not a packet rate`);
  return rate;
}

function k(n: number): string {
  return n % 1000 === 0 ? `${n / 1000}k` : String(n);
}

function fmt(n: number | undefined): string {
  return n === undefined ? "" : String(n);
}

function tail(text: string): string {
  return text.trim().split("\n").slice(-5).join(" | ");
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** User + system CPU of a process, all threads (from /proc/PID/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function peakRss(pid: number): number {
  const kib = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmHWM:\s+(\d+) kB/)?.[1];
  return Number(kib) / 1024;
}

async function output(cmd: string[]): Promise<string> {
  const r = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!r.success) throw new Error(`${cmd.join(" ")} failed: ${tail(dec.decode(r.stderr))}`);
  return dec.decode(r.stdout);
}

async function must(cmd: string[]): Promise<void> {
  await output(cmd);
}

async function succeeds(cmd: string[]): Promise<boolean> {
  return (await new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "null", stderr: "null" }).output())
    .success;
}

if (import.meta.main) await main();
