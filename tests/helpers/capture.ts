// Captures real traffic on loopback for end-to-end tests: tcpdump writes a pcap while the test
// runs real clients and servers; everything is bounded in time and cleaned up.

export interface Capture {
  path: string;
  /** Stops tcpdump (it flushes the file) and returns the capture's path. */
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
  const netns = `wiresight-test-${Deno.pid}-${Math.floor(Math.random() * 1e9)}`;
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
 * given) and waits until it listens.
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
    filter,
  ]);
  const proc = new Deno.Command(cmd, {
    // -Z root: keep root, so tcpdump can write into the test's private temporary directory.
    // --immediate-mode: hand each packet over at once; with the kernel's packet ring, packets
    // still in an unfinished block are lost when tcpdump is stopped.
    args,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = proc.stderr.getReader();
  const dec = new TextDecoder();
  let seen = "";
  const deadline = Date.now() + 5000;
  while (!seen.includes("listening on") && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += dec.decode(value);
  }
  if (!seen.includes("listening on")) {
    proc.kill();
    throw new Error(`tcpdump did not start: ${seen}`);
  }
  return {
    path,
    async stop() {
      // Let the last packets reach the capture, then stop tcpdump cleanly.
      await new Promise((r) => setTimeout(r, 200));
      proc.kill("SIGINT");
      reader.releaseLock();
      await proc.stderr.cancel().catch(() => {});
      await proc.status;
      return path;
    },
  };
}

/** Runs a command to completion with a time limit; returns its stdout. */
export async function run(cmd: string, args: string[], timeoutMs = 10000): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  })
    .output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** A free TCP/UDP port on 127.0.0.1 (for servers the test starts). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
