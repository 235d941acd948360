// `deno task bench:attribution` (root): what the eBPF process tracker costs at a steady stream
// of short connections. A python client opens --rate TCP connections/s (connect, 1 byte each way,
// close) to a python server on the loopback of a network namespace made for the run, for
// --seconds; this process drains the tracker every --poll-ms, as a capture loop would. Two
// phases: without the tracker (the baseline: the same timer, no BPF) and with it. Reported:
// - the reader's CPU (getrusage of this process: all its threads) as % of one core, and the
//   difference the tracker makes;
// - the kernel side, with kernel.bpf_stats_enabled=1: each program's runs and ns per run (from
//   /proc/self/fdinfo of its fd), and their sum as % of one core;
// - events read, lost, and how many of the client's connections the tracker named.
// Saves the figures as JSON in bench/out/.
import { mkdirSync, writeFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { EbpfTracker } from "../src/proc/ebpf/tracker.ts";

const { values: opt } = parseArgs({
  options: {
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "10" },
    "poll-ms": { type: "string", default: "20" },
  },
});
const RATE = Number(opt.rate), SECONDS = Number(opt.seconds), POLL_MS = Number(opt["poll-ms"]);
const PORT = 7000;
const NS = `wiresight-bench-${Deno.pid}`;

const SERVER = `
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", ${PORT}))
s.listen(1024)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.recv(16)
    c.sendall(b"y")
    c.close()
`;

// Paced: connection n starts at n/rate seconds; prints each connection's local port at the end.
const CLIENT = `
import socket, sys, time
rate, secs = float(sys.argv[1]), float(sys.argv[2])
ports = []
start = time.monotonic()
while True:
    now = time.monotonic() - start
    if now >= secs: break
    if len(ports) >= now * rate:
        time.sleep(min(0.001, len(ports) / rate - now))
        continue
    c = socket.create_connection(("127.0.0.1", ${PORT}))
    ports.append(c.getsockname()[1])
    c.sendall(b"x")
    c.recv(1)
    c.close()
print(" ".join(map(str, ports)))
`;

async function sh(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Each BPF program this process holds: name -> runs and total ns (needs bpf_stats_enabled). */
function programStats(): Map<string, { runs: number; ns: number }> {
  const out = new Map<string, { runs: number; ns: number }>();
  for (const fd of Deno.readDirSync("/proc/self/fdinfo")) {
    let info: string;
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${fd.name}`) !== "anon_inode:bpf-prog") continue;
      info = Deno.readTextFileSync(`/proc/self/fdinfo/${fd.name}`);
    } catch {
      continue;
    }
    const field = (k: string) => Number(info.match(new RegExp(`^${k}:\\s*(\\d+)`, "m"))?.[1] ?? 0);
    const id = field("prog_id");
    const name = progName(id);
    out.set(name, { runs: field("run_cnt"), ns: field("run_time_ns") });
  }
  return out;
}

const names = new Map<number, string>();
function progName(id: number): string {
  if (!names.has(id)) {
    const out = new Deno.Command("bpftool", {
      args: ["prog", "show", "id", String(id), "-j"],
      stdout: "piped",
    })
      .outputSync();
    names.set(id, out.success ? JSON.parse(new TextDecoder().decode(out.stdout)).name : `id ${id}`);
  }
  return names.get(id)!;
}

/** One phase: the server and the client in the namespace, this process polling `tick` meanwhile. */
async function phase(tick: () => void) {
  const server = new Deno.Command("ip", {
    args: ["netns", "exec", NS, "python3", "-c", SERVER],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = server.stdout.getReader();
  await reader.read(); // "ready"
  reader.releaseLock();
  const timer = setInterval(tick, POLL_MS);
  const cpu0 = cpuSeconds(), t0 = performance.now();
  const client = await new Deno.Command("ip", {
    args: ["netns", "exec", NS, "python3", "-c", CLIENT, String(RATE), String(SECONDS)],
    stdout: "piped",
  }).output();
  const wall = (performance.now() - t0) / 1000, cpu = cpuSeconds() - cpu0;
  clearInterval(timer);
  tick();
  server.kill();
  await server.status;
  await server.stdout.cancel().catch(() => {});
  const ports = new TextDecoder().decode(client.stdout).trim().split(" ").map(Number);
  return { wall, cpu, ports };
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

await sh("ip", ["netns", "add", NS]);
const statsWas = Deno.readTextFileSync("/proc/sys/kernel/bpf_stats_enabled").trim();
try {
  await sh("ip", ["netns", "exec", NS, "ip", "link", "set", "lo", "up"]);
  const netns = Deno.statSync(`/run/netns/${NS}`).ino!;

  const base = await phase(() => {});
  console.log(
    `baseline: ${base.ports.length} connections in ${round(base.wall)} s, ` +
      `reader ${round((100 * base.cpu) / base.wall)} % of a core`,
  );

  Deno.writeTextFileSync("/proc/sys/kernel/bpf_stats_enabled", "1");
  const tracker = EbpfTracker.open();
  const before = programStats();
  let polled = 0;
  const run = await phase(() => void (polled += tracker.poll()));
  const after = programStats();
  let named = 0;
  const missed: number[] = [];
  for (const port of run.ports) {
    const p = tracker.lookup(
      "tcp",
      { address: "127.0.0.1", port },
      { address: "127.0.0.1", port: PORT },
      netns,
    );
    if (p?.name === "python3") named++;
    else missed.push(port);
  }
  if (missed.length) console.log(`not named: ports ${missed.slice(0, 10).join(" ")}`);
  const { lost } = tracker.stats();
  tracker.close();

  const programs: Record<string, { runs: number; ns_per_run: number; core_pct: number }> = {};
  let kernelNs = 0;
  for (const [name, a] of after) {
    const b = before.get(name) ?? { runs: 0, ns: 0 };
    const runs = a.runs - b.runs, ns = a.ns - b.ns;
    kernelNs += ns;
    programs[name] = {
      runs,
      ns_per_run: runs ? round(ns / runs, 0) : 0,
      core_pct: round((100 * ns) / 1e9 / run.wall, 3),
    };
  }
  const result = {
    rate: RATE,
    seconds: SECONDS,
    poll_ms: POLL_MS,
    connections: run.ports.length,
    connections_per_s: round(run.ports.length / run.wall, 0),
    events: polled,
    events_per_s: round(polled / run.wall, 0),
    lost,
    named_by_exact_tuple: named,
    reader_core_pct: round((100 * run.cpu) / run.wall),
    baseline_reader_core_pct: round((100 * base.cpu) / base.wall),
    tracker_reader_core_pct: round(100 * (run.cpu / run.wall - base.cpu / base.wall)),
    kernel_core_pct: round((100 * kernelNs) / 1e9 / run.wall, 3),
    programs,
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(new URL("./out/", import.meta.url), { recursive: true });
  writeFileSync(
    new URL(`./out/attribution_cost-${Date.now()}.json`, import.meta.url),
    JSON.stringify(result, null, 2),
  );
} finally {
  Deno.writeTextFileSync("/proc/sys/kernel/bpf_stats_enabled", statsWas);
  await sh("ip", ["netns", "delete", NS]);
}
