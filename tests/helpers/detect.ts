// Helpers of the detection tests: `read --detect --report json` and its alerts, flattened; the
// client and server of a `withNetPair`.
import { wiresight } from "./cli.ts";
import { inNetns, run } from "./capture.ts";
import type { NetPair } from "./netns.ts";
import { waitFor } from "./wait.ts";

export const CLIENT = "10.77.0.1", SERVER = "10.77.0.2";

/** Runs a command in the client namespace to completion (the time limit only bounds a hang). */
export const inClient = (net: NetPair, cmd: string, args: string[], timeoutMs = 120_000) =>
  run(...inNetns(net.client, cmd, args), timeoutMs);

/** Waits until a TCP port of the server namespace accepts connections (connecting, retried). */
export async function waitPort(net: NetPair, port: number): Promise<void> {
  await waitFor(
    `something to listen on ${SERVER}:${port}`,
    () => inClient(net, "nc", ["-z", "-w", "2", SERVER, String(port)]),
  );
}

export interface FlatAlert {
  id: string;
  type: string;
  severity: string;
  message: string;
  hosts: string[];
  evidence: Record<string, unknown>;
  flow: { src_ip: string | null; dest_ip: string | null; dest_port: number | null };
}

export interface DetectRun {
  // deno-lint-ignore no-explicit-any
  report: any;
  alerts: FlatAlert[];
  /** The report's notices (severity info), flattened like the alerts. */
  notices: FlatAlert[];
  stderr: string;
}

/** `wiresight read FILE --detect --report json [...extra]`; fails on a non-zero exit. */
export async function readDetect(path: string, extra: string[] = []): Promise<DetectRun> {
  const r = await wiresight(["read", path, "--detect", "--report", "json", "--no-progress", ...extra]);
  if (r.code !== 0) throw new Error(`wiresight read --detect ${path} exited ${r.code}: ${r.stderr}`);
  const report = JSON.parse(r.stdout);
  const flat = (groups: { flow: FlatAlert["flow"]; alerts: FlatAlert[] }[]) =>
    groups.flatMap((g) => g.alerts.map((a) => ({ ...a, flow: g.flow })));
  return { report, alerts: flat(report.alerts), notices: flat(report.notices), stderr: r.stderr };
}

/** The alerts of one type (a prefix: "http." takes every HTTP alert). */
export function ofType(alerts: FlatAlert[], type: string): FlatAlert[] {
  return alerts.filter((a) => type.endsWith(".") ? a.type.startsWith(type) : a.type === type);
}
