// A small lab for live-capture tests, inside the two namespaces of `withNetPair`: real servers
// on the server side (python's http.server, dnsmasq), `wiresight capture` and real clients on the
// client side, and tshark's view of what was captured.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { type Capture, captureLoopback, run, withNetns } from "./capture.ts";
import { type NetPair, spawnIn, withNetPair } from "./netns.ts";
import { wiresightArgs } from "./cli.ts";
import { tsharkFields } from "./app.ts";
import { runTool } from "./tool.ts";
import { pcapngPackets, sleep, waitFor, waitForText } from "./wait.ts";

export { sleep };

// Each answer waits argv[2] seconds: 0.03, as a real server over a real network would, keeps the
// clients alive long enough for their sockets to be seen (README, "Process attribution"); 0
// answers at once, the hard case for attribution. With argv[3] "relay", DNS on 53 is relayed to
// dnsmasq on 127.0.0.1:5353. The process writes its pid to servers.pid when it listens.
const SERVERS = `
import http.server, os, socket, sys, threading, time
addr, delay, relay = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "relay"
def pause():
    if delay: time.sleep(delay)
class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        pause()
        super().do_GET()
    def log_message(self, *a): pass
def relay_dns():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    def answer(q, peer):
        pause()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(2)
        u.sendto(q, ("127.0.0.1", 5353))
        s.sendto(u.recv(4096), peer)
    while True:
        q, peer = s.recvfrom(4096)
        threading.Thread(target=answer, args=(q, peer), daemon=True).start()
def echo():
    t = socket.socket()
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, 9000))
    t.listen()
    def serve(c):
        with c:
            q = c.recv(4096)
            pause()
            c.sendall(q)
    while True:
        threading.Thread(target=serve, args=(t.accept()[0],), daemon=True).start()
def udp_echo():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 9001))
    while True:
        q, peer = s.recvfrom(4096)
        pause()
        s.sendto(q, peer)
for target in [relay_dns] * relay + [echo, udp_echo]:
    threading.Thread(target=target, daemon=True).start()
server = http.server.ThreadingHTTPServer((addr, 8080), Handler)
with open("servers.pid", "w") as f: f.write(str(os.getpid()))
server.serve_forever()
`;

/** Names dnsmasq answers for (and nothing else: it never asks upstream). */
export const LAB_NAMES: Record<string, string> = {
  "app.lab.test": "10.77.0.2",
  "www.lab.test": "10.77.0.10",
  "db.lab.test": "10.77.0.11",
  "api.lab.test": "10.77.0.12",
};

export interface ServerOptions {
  /**
   * Servers answer at once (no 30 ms pause) and dnsmasq itself answers on port 53: what
   * attribution finds hardest, a client that lives a millisecond.
   */
  instant?: boolean;
}

/** The lab's servers and what the test may ask of them. */
export interface LabServers {
  /** The pid of the python process serving HTTP (8080) and echo (TCP 9000, UDP 9001). */
  pid: number;
  /** The pid of dnsmasq. */
  dnsmasqPid: number;
  stop(): Promise<void>;
}

/**
 * Starts, on the server side: HTTP on 8080 (serving `dir`), DNS on 53 (dnsmasq, relayed unless
 * `instant`), a TCP echo on 9000 and a UDP echo on 9001, each answering after 30 ms unless
 * `instant`, and waits until each answers the client side.
 */
export async function startServers(
  net: NetPair,
  dir: string,
  options: ServerOptions = {},
): Promise<LabServers> {
  await Deno.writeTextFile(`${dir}/servers.py`, SERVERS);
  await Deno.writeTextFile(`${dir}/index.html`, "hello from the lab server\n".repeat(20));
  const listen = options.instant
    ? ["-p53", `--listen-address=${net.serverAddr}`]
    : ["-p5353", "--listen-address=127.0.0.1"];
  const dnsmasq = spawnIn(net.server, "dnsmasq", [
    "-k",
    ...listen,
    "--bind-interfaces",
    "--no-resolv",
    "--no-hosts",
    `--pid-file=${dir}/dnsmasq.pid`,
    "--user=root",
    "--local=/lab.test/",
    ...Object.entries(LAB_NAMES).map(([name, a]) => `--host-record=${name},${a}`),
  ]);
  const servers = spawnIn(net.server, "sh", [
    "-c",
    `cd ${dir} && exec python3 servers.py ${net.serverAddr} ${options.instant ? "0 direct" : "0.03 relay"}`,
  ]);
  const stop = async () => {
    for (const s of [servers, dnsmasq]) await s.stop();
  };
  try {
    // Each probe is a real request from the client side, retried until it is answered.
    const probe = (cmd: string, ...args: string[]) => () =>
      runTool("ip", ["netns", "exec", net.client, cmd, ...args]);
    await waitFor(
      "the lab's HTTP server",
      probe("curl", "-sf", "-o", "/dev/null", "-m", "2", `http://${net.serverAddr}:8080/`),
    );
    await waitFor("the lab's DNS server", async () => {
      const r = await probe("dig", "+short", "+tries=1", "+time=2", `@${net.serverAddr}`, "app.lab.test")();
      return r.stdout.trim() === LAB_NAMES["app.lab.test"];
    });
    await waitFor("the lab's echo server", probe("nc", "-z", "-w", "2", net.serverAddr, "9000"));
    // The probes' connections closed: none of their packets trails into a test's capture.
    await waitTcpQuiet(net.client, net.server);
    const pidIn = async (file: string) => Number(await Deno.readTextFile(`${dir}/${file}`));
    return { pid: await pidIn("servers.pid"), dnsmasqPid: await pidIn("dnsmasq.pid"), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Waits until no TCP connection in the namespaces is open or closing (only listeners and TIME-WAIT
 * left): the last packets of every exchange are on the wire, so a capture can be told to stop.
 */
export async function waitTcpQuiet(...namespaces: string[]): Promise<void> {
  let open: string[] = [];
  await waitFor("TCP connections to close", async () => {
    open = [];
    for (const ns of namespaces) {
      const out = await run("ip", ["netns", "exec", ns, "ss", "-Htan"]);
      open.push(
        ...out.split("\n").filter((l) => l && !/^(LISTEN|TIME-WAIT)\s/.test(l)).map((l) => `${ns}: ${l}`),
      );
    }
    return open.length === 0;
  }, { detail: () => open.join("\n") });
}

/** Waits until the pcapng that `wiresight capture --write` streams holds at least `n` packets. */
export async function waitPcapngPackets(path: string, n: number): Promise<void> {
  let have = 0;
  await waitFor(`${n} packets in ${path}`, async () => (have = await pcapngPackets(path)) >= n, {
    timeoutMs: 30_000,
    detail: () => `${have} so far`,
  });
}

/**
 * Runs `fn` in a fresh namespace pair with the lab's servers up and a temporary directory (both
 * gone afterwards). With `ipv4Only`, IPv6 is off on both sides first: no router solicitations or
 * neighbour discovery arriving at random times. With `loopback`, one namespace holds both sides,
 * which talk over its loopback (`clientIf` is "lo", both addresses 127.0.0.1): a capture there
 * sees both ends of every connection.
 */
export function withLab(
  prefix: string,
  fn: (net: NetPair, dir: string, servers: LabServers) => Promise<void>,
  options: { ipv4Only?: boolean; loopback?: boolean } & ServerOptions = {},
): Promise<void> {
  const lab = async (net: NetPair) => {
    if (options.ipv4Only) {
      for (const ns of new Set([net.client, net.server])) {
        for (const scope of ["all", "default"]) {
          await run("ip", ["netns", "exec", ns, "sysctl", "-qw", `net.ipv6.conf.${scope}.disable_ipv6=1`]);
        }
      }
    }
    const dir = await Deno.makeTempDir({ prefix });
    try {
      const servers = await startServers(net, dir, options);
      try {
        await fn(net, dir, servers);
      } finally {
        await servers.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  };
  if (!options.loopback) return withNetPair(lab);
  return withNetns((ns) =>
    lab({ client: ns, server: ns, clientIf: "lo", serverAddr: "127.0.0.1", clientAddr: "127.0.0.1" })
  );
}

/** The client side's own addresses, as `ip addr` lists them. */
export async function clientAddresses(net: NetPair): Promise<Set<string>> {
  const links = JSON.parse(await run("ip", ["-n", net.client, "-j", "addr"]));
  return new Set(links.flatMap((l: { addr_info: { local: string }[] }) => l.addr_info.map((a) => a.local)));
}

/** A client run in the client namespace; `ip netns exec` execs it, so `pid` is the client's. */
export async function client(
  net: NetPair,
  cmd: string,
  args: string[],
): Promise<{ pid: number; stdout: string }> {
  const c = new Deno.Command("ip", {
    args: ["netns", "exec", net.client, cmd, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // A bound against a hung client, not a measure (the clients have their own timeouts).
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  const out = await c.output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${dec.decode(out.stderr)}`);
  return { pid: c.pid, stdout: dec.decode(out.stdout) };
}

/**
 * curl (or `program`, a copy of it) from the client side, from local port `port` (0: one the
 * kernel picks, which curl reports): its packets are known without asking wiresight.
 */
export async function curl(net: NetPair, port: number, path = "/index.html", program = "curl") {
  const r = await client(net, program, [
    "-s",
    "-o",
    "/dev/null",
    "-m",
    "5",
    "-w",
    "%{local_port}",
    ...(port ? ["--local-port", String(port)] : []),
    `http://${net.serverAddr}:8080${path}`,
  ]);
  return { ...r, port: Number(r.stdout) };
}

/** dig from the client side, from local port `port`; `stdout` holds its short answer. */
export function dig(net: NetPair, port: number, name: string, type = "A") {
  return client(net, "dig", [
    "+short",
    "+tries=1",
    "-b",
    `${net.clientAddr}#${port}`,
    `@${net.serverAddr}`,
    name,
    type,
  ]);
}

export interface WiresightResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `wiresight capture ...` running in the client namespace, its output collected as it comes. */
export class LiveWiresight {
  #stdout = "";
  #stderr = "";
  readonly #done: Promise<WiresightResult>;

  private constructor(readonly proc: Deno.ChildProcess) {
    const collect = async (stream: ReadableStream<Uint8Array>, add: (s: string) => void) => {
      const dec = new TextDecoder();
      for await (const chunk of stream) add(dec.decode(chunk, { stream: true }));
    };
    this.#done = Promise.all([
      collect(proc.stdout, (s) => (this.#stdout += s)),
      collect(proc.stderr, (s) => (this.#stderr += s)),
      proc.status,
    ]).then(([, , st]) => ({ code: st.code, stdout: this.#stdout, stderr: this.#stderr }));
  }

  /**
   * Starts `wiresight capture ARGS` in namespace `ns` and waits until it captures (the
   * "capturing on" line), or until it exits early (then `exited` says how). `wrapper` runs it
   * (e.g. `capsh --drop=... -- -c 'exec "$@"' sh`, which ends by exec-ing what follows).
   */
  static async start(
    ns: string,
    args: string[],
    env: Record<string, string> = { NO_COLOR: "1" },
    wrapper: string[] = [],
  ): Promise<LiveWiresight> {
    const [cmd, wargs] = wiresightArgs(["capture", ...args]);
    const proc = new Deno.Command("ip", {
      args: ["netns", "exec", ns, ...wrapper, cmd, ...wargs],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = new LiveWiresight(proc);
    let exited = false;
    w.#done.then(() => (exited = true));
    try {
      await waitFor("wiresight to capture", () => w.#stderr.includes("capturing on") || exited, {
        everyMs: 20,
        detail: () => w.#stderr,
      });
    } catch (e) {
      await w.stop("SIGKILL");
      throw e;
    }
    return w;
  }

  get stdout(): string {
    return this.#stdout;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Waits until its stdout holds `text`, or it ends (bounded). */
  waitForStdout(what: string, text: string | RegExp): Promise<true> {
    return waitForText(what, () => this.#stdout, text);
  }

  /** Waits for the end (bounded: killed after `ms`, a bound against hangs only). */
  async exited(ms = 60_000): Promise<WiresightResult> {
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), ms);
    try {
      return await this.#done;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends `signal` (Ctrl+C by default) and waits for the end. */
  async stop(signal: Deno.Signal = "SIGINT"): Promise<WiresightResult> {
    try {
      this.proc.kill(signal);
    } catch { /* already gone */ }
    return await this.exited();
  }
}

/** Packets as comparable keys, from tshark (a multiset: sorted). */
export async function packetKeys(path: string, filter = "frame"): Promise<string[]> {
  const rows = await tsharkFields(path, filter, KEY_FIELDS);
  return rows.map((r) => r.values.map((v) => v.join("|")).join(" ")).sort();
}

/**
 * What tells two copies of a packet from two captures apart from every other packet, whatever
 * the link type each capture used (Ethernet, or Linux cooked on "any").
 */
const KEY_FIELDS = [
  "ip.len",
  "ip.src",
  "ip.dst",
  "ip.id",
  "ipv6.src",
  "ipv6.dst",
  "ipv6.plen",
  "tcp.srcport",
  "tcp.dstport",
  "tcp.seq_raw",
  "tcp.ack_raw",
  "tcp.flags",
  "udp.srcport",
  "udp.dstport",
  "udp.checksum",
  "icmpv6.type",
  "icmpv6.checksum",
  "arp.opcode",
  "arp.src.proto_ipv4",
  "arp.dst.proto_ipv4",
];

/** capinfos' packet count, and whether tshark reads the file without a word on stderr. */
export async function readBack(path: string): Promise<{ packets: number; tsharkErrors: string }> {
  const info = await run("capinfos", ["-c", "-M", path]);
  const out = await new Deno.Command("tshark", { args: ["-n", "-r", path], stdout: "null", stderr: "piped" })
    .output();
  const errors = new TextDecoder().decode(out.stderr).split("\n")
    .filter((l) => l && !l.startsWith("Running as user")).join("\n");
  return {
    packets: Number(info.match(/Number of packets:\s+(\d+)/)![1]),
    tsharkErrors: out.success ? errors : `tshark exited ${out.code}: ${errors}`,
  };
}

/** An ICMP echo request to `to` from a raw socket (the server's kernel answers it). */
const PING = `import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.sendto(bytes([8, 0, 0xf7, 0xff, 0, 0, 0, 0]), (sys.argv[1], 0))`;

/** One filtered capture of `startFilterCaptures`: its case, its pcapng and the running capture. */
export interface FilterRun<C> {
  c: C;
  path: string;
  ws: LiveWiresight;
}

/**
 * Once the client namespace's TCP is quiet: tcpdump on `any` into `dir`/all.pcap (the reference),
 * and one `wiresight capture -i any` a case, each writing `dir`/I.pcapng with the case's arguments.
 */
export async function startFilterCaptures<C extends { args: string[] }>(
  net: NetPair,
  dir: string,
  cases: C[],
): Promise<{ reference: Capture; runs: FilterRun<C>[] }> {
  await waitTcpQuiet(net.client);
  const reference = await captureLoopback(dir, "all.pcap", "", net.client, "any");
  const runs = await Promise.all(cases.map(async (c, i) => ({
    c,
    path: `${dir}/${i}.pcapng`,
    ws: await LiveWiresight.start(net.client, [
      "-i",
      "any",
      "-q",
      "--report",
      "json",
      "--write",
      `${dir}/${i}.pcapng`,
      ...c.args,
    ]),
  })));
  return { reference, runs };
}

/**
 * Stops each capture once its pcapng holds the packets it should (`expected[i]`; stopping earlier
 * would lose what waits in the kernel's buffer); their results, in order.
 */
export async function stopFilterCaptures<C>(
  runs: FilterRun<C>[],
  expected: string[][],
): Promise<(FilterRun<C> & { out: WiresightResult })[]> {
  // A capture that never gets there fails in `checkFilterCaptures`, with the packets it lacks.
  await Promise.all(
    runs.map(({ path }, i) => waitPcapngPackets(path, expected[i].length).catch(() => {})),
  );
  const results = [];
  for (const r of runs) results.push({ ...r, out: await r.ws.stop() });
  return results;
}

/**
 * Each capture exited 0 and its pcapng and report hold exactly `expected[i]`: some packets, fewer
 * than the `all` of the reference.
 */
export async function checkFilterCaptures(
  results: { c: { args: string[] }; path: string; out: WiresightResult }[],
  expected: string[][],
  all: number,
): Promise<void> {
  for (const [i, { c, path, out }] of results.entries()) {
    const what = c.args.join(" ");
    assertEquals(out.code, 0, `${what}: ${out.stderr}`);
    const expect = expected[i];
    assert(expect.length > 0 && expect.length < all, `${what}: ${expect.length} of ${all}`);
    assertEquals(await packetKeys(path), expect, what);
    assertEquals(JSON.parse(out.stdout).packets, expect.length, `${what}: the report`);
  }
}

/**
 * python's http.server on 127.0.0.1:`port` of the client side, serving `dir`, for the time of `fn`,
 * with the ping script in `dir`/ping.py; `fn` gets a curl of the server, and runs once it answers.
 */
export async function withLoopbackHttp<T>(
  net: NetPair,
  dir: string,
  port: number,
  fn: (local: () => Promise<unknown>) => Promise<T>,
): Promise<T> {
  const server = spawnIn(net.client, "python3", [
    "-m",
    "http.server",
    "--bind",
    "127.0.0.1",
    `${port}`,
    "-d",
    dir,
  ]);
  try {
    await Deno.writeTextFile(`${dir}/ping.py`, PING);
    const local = () =>
      client(net, "curl", ["-sf", "-o", "/dev/null", "-m", "2", `http://127.0.0.1:${port}/`]);
    await waitFor(`the server on 127.0.0.1:${port}`, local);
    return await fn(local);
  } finally {
    await server.stop();
  }
}
