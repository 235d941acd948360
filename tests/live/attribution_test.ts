// Live capture for real (root): wiresight captures in a client namespace while real clients
// (curl, dig, nc) talk to real servers in a second namespace; flows must name the client's pid
// and executable, and the written pcapng reads back in tshark and in wiresight. Tests in
// tests/live/ run after the others, alone: attribution races short-lived processes, and a
// machine busy with the parallel tshark sweeps would measure the load, not wiresight.
import { deepStrictEqual as assertEquals, match as assertMatch, ok as assert } from "node:assert/strict";
import { captureLoopback, run } from "../helpers/capture.ts";
import { type NetPair, spawnIn, withNetPair } from "../helpers/netns.ts";
import { wiresightArgs } from "../helpers/cli.ts";
import { waitPcapngPackets, waitTcpQuiet } from "../helpers/live.ts";
import { waitFor } from "../helpers/wait.ts";

const HTTP_SERVER = `
import http.server, socketserver, sys, time
class Slow(http.server.SimpleHTTPRequestHandler):
    # A real server takes some time to answer; 30 ms keeps each client alive that long.
    def do_GET(self):
        time.sleep(0.03)
        super().do_GET()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer((sys.argv[1], 8080), Slow).serve_forever()
`;

// DNS (53) and echo (9000) over UDP and TCP, each answer after 30 ms. dig's exchange with a
// local resolver lasts well under a millisecond, shorter than a /proc lookup can follow (see
// README, "Process attribution"); nc's own listener never closes, so its client would hang.
const DNS_AND_ECHO_SERVER = `
import socket, sys, threading, time
ip = socket.inet_aton(sys.argv[1])
def dns(q):
    end = 12
    while q[end]: end += q[end] + 1
    return (q[:2] + b"\\x81\\x80\\x00\\x01\\x00\\x01\\x00\\x00\\x00\\x00" + q[12:end + 5]
            + b"\\xc0\\x0c\\x00\\x01\\x00\\x01\\x00\\x00\\x00\\x3c\\x00\\x04" + ip)
def udp(port, answer):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[1], port))
    while True:
        q, peer = s.recvfrom(4096)
        time.sleep(0.03)
        s.sendto(answer(q), peer)
def recv_exactly(c, n):
    q = b""
    while len(q) < n: q += c.recv(n - len(q))
    return q
def tcp_client(c, framed, answer):
    with c:
        q = recv_exactly(c, int.from_bytes(recv_exactly(c, 2), "big")) if framed else c.recv(4096)
        time.sleep(0.03)
        a = answer(q)
        c.sendall(len(a).to_bytes(2, "big") + a if framed else a)
        if framed: c.recv(1)
def tcp(port, framed, answer):
    t = socket.socket()
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((sys.argv[1], port))
    t.listen()
    while True:
        threading.Thread(target=tcp_client, args=(t.accept()[0], framed, answer), daemon=True).start()
echo = lambda q: q
for target, args in [(udp, (53, dns)), (tcp, (53, True, dns)), (udp, (9001, echo)), (tcp, (9000, False, echo))]:
    threading.Thread(target=target, args=args, daemon=True).start()
threading.Event().wait()
`;

/** Waits until a spawned process prints `text` on stderr (bounded). */
async function waitForLine(stream: ReadableStream<Uint8Array>, text: string, ms = 60_000): Promise<void> {
  const reader = stream.getReader();
  const dec = new TextDecoder();
  let seen = "";
  const deadline = Date.now() + ms;
  try {
    while (!seen.includes(text)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for '${text}': ${seen}`);
      const { value, done } = await reader.read();
      if (done) throw new Error(`ended before '${text}': ${seen}`);
      seen += dec.decode(value);
    }
  } finally {
    reader.releaseLock();
  }
}

/** Starts the servers (HTTP on 8080, DNS on 53, echo on TCP 9000 and UDP 9001) in the server side. */
async function servers(net: NetPair, dir: string) {
  await Deno.writeTextFile(`${dir}/srv.py`, HTTP_SERVER);
  await Deno.writeTextFile(`${dir}/index.html`, "hello from the server\n");
  const http = spawnIn(net.server, "sh", ["-c", `cd ${dir} && exec python3 srv.py ${net.serverAddr}`]);
  await Deno.writeTextFile(`${dir}/dns_echo.py`, DNS_AND_ECHO_SERVER);
  const dnsAndEcho = spawnIn(net.server, "python3", [`${dir}/dns_echo.py`, net.serverAddr]);
  const stop = async () => {
    for (const s of [http, dnsAndEcho]) await s.stop();
  };
  try {
    // Each server answers a real request from the client side before the test starts.
    await Deno.writeTextFile(`${dir}/probe.txt`, "probe\n");
    const answers = (cmd: string, ...args: string[]) => async () =>
      (await run("ip", ["netns", "exec", net.client, cmd, ...args])).trim() !== "";
    const dig = ["+short", "+tries=1", "+time=2", `@${net.serverAddr}`, "probe.lab.test"];
    await waitFor(
      "the HTTP server",
      answers("curl", "-sf", "-m", "2", `http://${net.serverAddr}:8080/index.html`),
    );
    await waitFor("the DNS server over UDP", answers("dig", ...dig));
    await waitFor("the DNS server over TCP", answers("dig", "+tcp", ...dig));
    const nc = (flags: string) => `exec nc ${flags} -w 2 ${net.serverAddr} < ${dir}/probe.txt`;
    await waitFor("the TCP echo server", answers("sh", "-c", `${nc("")} 9000`));
    await waitFor("the UDP echo server", answers("sh", "-c", `${nc("-u")} 9001`));
    await waitTcpQuiet(net.client, net.server);
  } catch (e) {
    await stop();
    throw e;
  }
  return stop;
}

interface FlowRow {
  src: string;
  src_port: number | null;
  dst: string;
  dst_port: number | null;
  protocol: string;
  pid: number | null;
  process: string | null;
  exe: string | null;
  app: string | null;
}

// The same tests whichever way processes are found: eBPF (the default), and the sock_diag and
// /proc fallback that must keep working where eBPF cannot be had (each test is registered for both
// at the end).
const METHODS = ["ebpf", "netlink"] as const;
type Method = typeof METHODS[number];

/**
 * Runs wiresight capture in the client namespace around `work`, finding processes with `method`;
 * returns its report and flows.
 */
async function captureAround(
  net: NetPair,
  dir: string,
  method: Method,
  extra: string[],
  work: () => Promise<void>,
) {
  const [cmd, args] = wiresightArgs([
    "capture",
    "-i",
    net.clientIf,
    "-q",
    "--report",
    "json",
    "--export",
    `${dir}/flows.ndjson`,
    "--export-type",
    "flows",
    "--write",
    `${dir}/capture.pcapng`,
    "--attribution",
    method,
    ...extra,
  ]);
  const ws = spawnIn(net.client, cmd, args, { stderr: "piped" });
  await waitForLine(ws.proc.stderr!, "capturing on");
  // The same packets, for knowing when wiresight has seen them all.
  const filter = extra[0] === "-f" ? extra[1] : "";
  const reference = await captureLoopback(dir, "reference.pcap", filter, net.client, net.clientIf);
  await work();
  await waitTcpQuiet(net.client, net.server);
  await reference.stop();
  const sent = Number(
    (await run("capinfos", ["-c", "-M", reference.path])).match(/Number of packets:\s+(\d+)/)![1],
  );
  await waitPcapngPackets(`${dir}/capture.pcapng`, sent);
  // Ctrl+C: the final report comes out and every export is flushed.
  const out = await ws.stop("SIGINT");
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const report = JSON.parse(new TextDecoder().decode(out.stdout));
  assertEquals(report.capture.attribution, method);
  const flows: FlowRow[] = (await Deno.readTextFile(`${dir}/flows.ndjson`)).trim().split("\n").filter((l) =>
    l
  )
    .map((l) => JSON.parse(l));
  return { report, flows };
}

/** Runs a client in the client namespace; `ip netns exec` execs it, so its pid is the client's. */
async function client(net: NetPair, cmd: string, args: string[]): Promise<number> {
  const c = new Deno.Command("ip", {
    args: ["netns", "exec", net.client, cmd, ...args],
    stdout: "null",
    stderr: "null",
  })
    .spawn();
  const st = await c.status;
  assert(st.success, `${cmd} ${args.join(" ")} failed`);
  return c.pid;
}

/** Flows of curl, dig and nc name the client's pid and executable. */
const clientsNamed = (method: Method) =>
  withNetPair(async (net) => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight_capture_" });
    const stopServers = await servers(net, dir);
    try {
      const expected: { dport: number; proto: string; pid: number; exe: string }[] = [];
      const { report, flows } = await captureAround(net, dir, method, [], async () => {
        for (let i = 0; i < 3; i++) {
          const pid = await client(net, "curl", [
            "-s",
            "-o",
            "/dev/null",
            `http://${net.serverAddr}:8080/index.html`,
          ]);
          expected.push({ dport: 8080, proto: "TCP", pid, exe: "/usr/bin/curl" });
        }
        for (const tcp of [false, true]) {
          const args = ["+short", "+tries=1", `@${net.serverAddr}`, "app.lab.test", "A"];
          const pid = await client(net, "dig", tcp ? ["+tcp", ...args] : args);
          expected.push({ dport: 53, proto: tcp ? "TCP" : "UDP", pid, exe: "/usr/bin/dig" });
        }
        // exec with a redirect (not a pipe, which forks) keeps the pid we spawned.
        await Deno.writeTextFile(`${dir}/hello.txt`, "hello\n");
        const pid = await client(net, "sh", ["-c", `exec nc ${net.serverAddr} 9000 < ${dir}/hello.txt`]);
        expected.push({ dport: 9000, proto: "TCP", pid, exe: "/usr/bin/nc.openbsd" });
        const upid = await client(net, "sh", [
          "-c",
          `exec nc -u -w 1 ${net.serverAddr} 9001 < ${dir}/hello.txt`,
        ]);
        expected.push({ dport: 9001, proto: "UDP", pid: upid, exe: "/usr/bin/nc.openbsd" });
      });
      for (const e of expected) {
        const f = flows.find((x) => x.dst_port === e.dport && x.protocol === e.proto && x.pid === e.pid);
        assert(
          f,
          `no ${e.proto}/${e.dport} flow of pid ${e.pid}: ${
            JSON.stringify(flows.map((x) => [x.protocol, x.dst_port, x.pid]))
          }`,
        );
        assertEquals([f.exe, f.src, f.dst], [e.exe, net.clientAddr, net.serverAddr]);
      }
      assertEquals(report.capture.dropped, 0);
      const names = new Set(report.processes.map((p: { name: string }) => p.name));
      for (const n of ["curl", "dig", "nc"]) assert(names.has(n), `processes: ${[...names]}`);

      // The pcapng: tshark reads it whole, and wiresight shows the processes again.
      const pcapng = `${dir}/capture.pcapng`;
      const capinfos = await run("capinfos", ["-c", "-M", pcapng]);
      assertEquals(Number(capinfos.match(/Number of packets:\s+(\d+)/)![1]), report.packets);
      const comments = await run("tshark", ["-r", pcapng, "-T", "fields", "-e", "frame.comment"]);
      assertMatch(comments, /wiresight process role=sent pid=\d+ name=curl exe=\/usr\/bin\/curl/);
      const [cmd, args] = wiresightArgs(["read", pcapng, "--report", "json"]);
      const reread = JSON.parse(await run(cmd, args, 60000));
      assertEquals(reread.packets, report.packets);
      const curl = expected[0];
      assert(
        reread.processes.some((p: { pid: number; name: string }) => p.pid === curl.pid && p.name === "curl"),
      );
    } finally {
      await stopServers();
      await Deno.remove(dir, { recursive: true });
    }
  });

/** 200 short-lived curl processes are attributed. */
const curls200 = (method: Method) =>
  withNetPair(async (net) => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight_curl200_" });
    const stopServers = await servers(net, dir);
    try {
      const pids = new Set<number>();
      const { flows } = await captureAround(net, dir, method, ["-f", "tcp port 8080"], async () => {
        // Four at a time, as a script or a build would start them.
        for (let i = 0; i < 200; i += 4) {
          const batch = [0, 1, 2, 3].map(() =>
            client(net, "curl", [
              "-s",
              "-o",
              "/dev/null",
              "-m",
              "5",
              `http://${net.serverAddr}:8080/index.html`,
            ])
          );
          for (const pid of await Promise.all(batch)) pids.add(pid);
        }
      });
      const curlFlows = flows.filter((f) => f.dst_port === 8080);
      assertEquals(curlFlows.length, 200, "one flow per curl");
      const right = curlFlows.filter((f) =>
        f.pid !== null && pids.has(f.pid) && f.exe === "/usr/bin/curl"
      ).length;
      const rate = right / curlFlows.length;
      const percent = (rate * 100).toFixed(1);
      console.log(
        `attribution (${method}): ${right}/200 curl flows named their own curl process (${percent}%)`,
      );
      const wrong = curlFlows.filter((f) => f.pid === null || !pids.has(f.pid) || f.exe !== "/usr/bin/curl");
      assert(rate >= 0.99, `attribution rate ${rate}: ${JSON.stringify(wrong.slice(0, 5))}`);
    } finally {
      await stopServers();
      await Deno.remove(dir, { recursive: true });
    }
  });

for (const method of METHODS) {
  Deno.test(`capture --attribution ${method}: flows of curl, dig and nc name the client's pid and executable`, () =>
    clientsNamed(method));
  Deno.test(`capture --attribution ${method}: 200 short-lived curl processes are attributed`, () =>
    curls200(method));
}
