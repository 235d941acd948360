// Two network namespaces joined by a veth pair: a client side (where wiresight and the clients
// run) and a server side. Traffic never leaves them; both are deleted afterwards.
import { run } from "./capture.ts";
import { uniqueId } from "./random.ts";

export interface NetPair {
  client: string;
  server: string;
  clientIf: string;
  serverAddr: string;
  clientAddr: string;
}

export async function withNetPair<T>(fn: (net: NetPair) => Promise<T>): Promise<T> {
  // Interface names take at most 15 characters.
  const id = uniqueId(8);
  const net: NetPair = {
    client: `wsc${id}`,
    server: `wss${id}`,
    clientIf: `vc${id}`,
    serverAddr: "10.77.0.2",
    clientAddr: "10.77.0.1",
  };
  const serverIf = `vs${id}`;
  await run("ip", ["netns", "add", net.client]);
  try {
    await run("ip", ["netns", "add", net.server]);
    try {
      await run("ip", [
        "link",
        "add",
        net.clientIf,
        "netns",
        net.client,
        "type",
        "veth",
        "peer",
        "name",
        serverIf,
        "netns",
        net.server,
      ]);
      const inNs = (ns: string, ...args: string[]) => run("ip", ["netns", "exec", ns, ...args]);
      await inNs(net.client, "ip", "addr", "add", `${net.clientAddr}/24`, "dev", net.clientIf);
      await inNs(net.server, "ip", "addr", "add", `${net.serverAddr}/24`, "dev", serverIf);
      for (const [ns, dev] of [[net.client, net.clientIf], [net.server, serverIf]]) {
        await inNs(ns, "ip", "link", "set", dev, "up");
        await inNs(ns, "ip", "link", "set", "lo", "up");
      }
      return await fn(net);
    } finally {
      await run("ip", ["netns", "delete", net.server]);
    }
  } finally {
    await run("ip", ["netns", "delete", net.client]);
  }
}

/** Starts a long-running program inside a namespace; `stop()` ends it. */
export function spawnIn(ns: string, cmd: string, args: string[], opts: { stderr?: "piped" | "null" } = {}) {
  const proc = new Deno.Command("ip", {
    args: ["netns", "exec", ns, cmd, ...args],
    stdout: "piped",
    stderr: opts.stderr ?? "null",
  }).spawn();
  return {
    proc,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        proc.kill(signal);
      } catch { /* already gone */ }
      return await proc.output();
    },
  };
}
