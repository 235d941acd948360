// Helpers of the detection tests: `read --detect --report json` and its alerts, flattened; the
// client and server of a `withNetPair`.
import { wiresight } from "./cli.ts";
import { captureLoopback, inNetns, run } from "./capture.ts";
import { type NetPair, spawnIn } from "./netns.ts";
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

/** Captures the client side of `net` while `fn` runs; returns the pcap's path. */
export async function captured(
  net: NetPair,
  dir: string,
  name: string,
  fn: () => Promise<unknown>,
  snaplen = 0,
): Promise<string> {
  const cap = await captureLoopback(dir, name, "", net.client, net.clientIf, snaplen);
  try {
    await fn();
  } finally {
    await cap.stop();
  }
  return cap.path;
}

/** A self-signed RSA certificate valid 30 days, `dir`/cert.pem with its key `dir`/key.pem, by openssl. */
export async function selfSignedCert(dir: string, subject: string, extra: string[] = []): Promise<void> {
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${dir}/key.pem`,
    "-out",
    `${dir}/cert.pem`,
    "-subj",
    subject,
    ...extra,
    "-days",
    "30",
  ]);
}

/** openssl s_server in the server namespace, accepting on `accept` and answering with `-www`. */
export function tlsServer(net: NetPair, accept: string, cert: string, key: string, extra: string[] = []) {
  return spawnIn(net.server, "openssl", [
    "s_server",
    "-accept",
    accept,
    "-cert",
    cert,
    "-key",
    key,
    ...extra,
    "-www",
  ]);
}

/**
 * hping3 from the client: `count` SYNs to port 80 of the server, one each `interval` (hping3's
 * `-i`, e.g. "u100"), from random source addresses; its exit status is ignored.
 */
export async function randomSourceSynFlood(net: NetPair, interval: string, count: number): Promise<void> {
  await inClient(net, "hping3", [
    "-q",
    "-S",
    "-p",
    "80",
    "--rand-source",
    "-i",
    interval,
    "-c",
    String(count),
    SERVER,
  ])
    .catch(() => {});
}

/**
 * dnsmasq on port 53 of the server for the time of `fn`, answering 10.9.9.9 for `domain` and its
 * names, 10.9.9.8 for example.test's, nothing else; `fn` runs once it answers dig.
 */
export async function withDnsmasq<T>(
  net: NetPair,
  dir: string,
  domain: string,
  fn: () => Promise<T>,
): Promise<T> {
  const server = spawnIn(net.server, "dnsmasq", [
    "-k",
    "-p53",
    `--listen-address=${SERVER}`,
    "--bind-interfaces",
    "--no-resolv",
    "--no-hosts",
    `--pid-file=${dir}/pid`,
    "--user=root",
    `--address=/${domain}/10.9.9.9`,
    "--address=/example.test/10.9.9.8",
  ]);
  try {
    await waitFor(
      "dnsmasq to answer",
      async () =>
        (await inClient(net, "dig", ["+short", "+tries=1", "+time=2", `@${SERVER}`, "probe.example.test"]))
          .trim() === "10.9.9.8",
    );
    return await fn();
  } finally {
    await server.stop();
  }
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
