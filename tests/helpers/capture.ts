// Captures real traffic on loopback for end-to-end tests: tcpdump writes a pcap while the test
// runs real clients and servers; everything is bounded in time and cleaned up.
import { uniqueId } from "./random.ts";
import { runTool } from "./tool.ts";
import { waitFor } from "./wait.ts";

export interface Capture {
  path: string;
  /** Waits until tcpdump has every packet the kernel gave it, stops it and returns the capture's path. */
  stop(): Promise<string>;
}

/** A command line, run inside network namespace `netns` when one is given. */
export function inNetns(netns: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return netns ? ["ip", ["netns", "exec", netns, cmd, ...args]] : [cmd, args];
}

/**
 * Runs `fn` with a fresh network namespace whose loopback is up: servers can take their real
 * ports (53, 443 ...) without touching the host, and the namespace is deleted afterwards.
 */
export async function withNetns<T>(fn: (netns: string) => Promise<T>): Promise<T> {
  const netns = `wiresight-test-${uniqueId()}`;
  await run("ip", ["netns", "add", netns]);
  try {
    await run("ip", ["netns", "exec", netns, "ip", "link", "set", "lo", "up"]);
    return await fn(netns);
  } finally {
    await run("ip", ["netns", "delete", netns]);
  }
}

/**
 * Starts `tcpdump -i lo -w DIR/NAME 'FILTER'` (in `netns` if given; on `iface` instead of lo if
 * given) and waits until it listens. On `any` the capture is Linux cooked v2, without the copies
 * of loopback packets going out (libpcap drops those itself, but after the kernel counted them).
 */
export async function captureLoopback(
  dir: string,
  name: string,
  filter: string,
  netns?: string,
  iface = "lo",
  snaplen = 0,
): Promise<Capture> {
  const path = `${dir}/${name}`;
  const any = iface === "any"
    ? [
      "-y",
      "LINUX_SLL2",
      filter ? `(${filter}) and not (outbound and ifindex 1)` : "not (outbound and ifindex 1)",
    ]
    : [filter];
  const [cmd, args] = inNetns(netns, "tcpdump", [
    "-i",
    iface,
    "--immediate-mode",
    "-U",
    "-Z",
    "root",
    "-s",
    String(snaplen),
    // A 16 MiB kernel buffer: bursts (scans, floods) must not be dropped.
    "-B",
    "16384",
    "-w",
    path,
    ...any,
  ]);
  const proc = new Deno.Command(cmd, {
    // -Z root: keep root, so tcpdump can write into the test's private temporary directory.
    // --immediate-mode: hand each packet over at once; with the kernel's packet ring, packets
    // still in an unfinished block are lost when tcpdump is stopped.
    args,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  let exited = false;
  const pump = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr) log += dec.decode(chunk, { stream: true });
  })();
  proc.status.then(() => (exited = true));
  try {
    await waitFor("tcpdump to listen", () => log.includes("listening on") || exited, {
      detail: () => log,
    });
    if (exited) throw new Error(`tcpdump exited: ${log}`);
  } catch (e) {
    try {
      proc.kill("SIGKILL");
    } catch { /* gone */ }
    await proc.status;
    await pump;
    throw e;
  }
  // On lo each packet passes the kernel's filter twice (going out and coming in), and libpcap
  // keeps one copy.
  const copies = iface === "lo" ? 2 : 1;
  /** tcpdump's counters, which it prints on SIGUSR1. */
  const counters = async () => {
    const from = log.length;
    proc.kill("SIGUSR1");
    const m = await waitFor("tcpdump's counters", () =>
      log.slice(from).match(
        /(\d+) packets? captured, (\d+) packets? received by filter, (\d+) packets? dropped by kernel/,
      ), { detail: () => log });
    return { captured: Number(m[1]), received: Number(m[2]), dropped: Number(m[3]) };
  };
  return {
    path,
    async stop() {
      // Until tcpdump has written every packet the kernel handed it, and none came since the last
      // look (the last packets of a connection may trail its client's exit).
      let last = -1;
      let seen = { captured: 0, received: 0, dropped: 0 };
      if (exited) throw new Error(`tcpdump ended before it was stopped: ${log}`);
      await waitFor("tcpdump to catch up", async () => {
        const c = seen = await counters();
        const quiet = c.received === last;
        last = c.received;
        return quiet && copies * (c.captured + c.dropped) >= c.received;
      }, { everyMs: 100, detail: () => JSON.stringify(seen) });
      proc.kill("SIGINT");
      await proc.status;
      await pump;
      return path;
    },
  };
}

/** Runs a command to completion (bounded in time); returns its stdout, throws with its stderr on failure. */
export async function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<string> {
  return (await runTool(cmd, args, { timeoutMs })).stdout;
}

/** A free TCP/UDP port on 127.0.0.1 (for servers the test starts). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
