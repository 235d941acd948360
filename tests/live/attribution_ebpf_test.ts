// eBPF process attribution end to end (root): real clients (curl, dig, nc, wget, python) and
// servers that answer at once (python's http.server, dnsmasq, an echo) on the loopback of a
// namespace made for each test, where `wiresight capture -i lo` sees both ends of every
// connection. What each flow should name comes from the clients and servers themselves: curl's
// -w '%{local_port}', dig and nc bound to ports the test picks, the pid of each process the test
// spawned, the servers' pid files; the packets from tcpdump and tshark. A /proc scan misses most
// of these clients (each lives a few milliseconds); eBPF must name at least 99 % of them.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { bytesText } from "../../src/base/format.ts";
import type { ProcessTotals as ProcessEntry } from "../../src/report/processes.ts";
import { tsharkFields } from "../helpers/app.ts";
import { captureLoopback, run } from "../helpers/capture.ts";
import { assertIncludes, wiresightArgs } from "../helpers/cli.ts";
import {
  client,
  curl,
  dig,
  LAB_NAMES,
  LiveWiresight,
  packetKeys,
  readBack,
  sleep,
  type WiresightResult,
  withLab,
} from "../helpers/live.ts";
import type { NetPair } from "../helpers/netns.ts";
import { panels } from "../helpers/panels.ts";
import { pool } from "../helpers/util.ts";

/** Both ends on one namespace's loopback; servers that answer at once; no IPv6 chatter. */
const LOOPBACK = { loopback: true, instant: true, ipv4Only: true };
const CURL = "/usr/bin/curl";

interface FlowRow {
  protocol: string;
  src_port: number | null;
  dst_port: number | null;
  pid: number | null;
  process: string | null;
  exe: string | null;
  user: string | null;
  responder_pid: number | null;
  responder_process: string | null;
  responder_exe: string | null;
  responder_user: string | null;
}

const PROCESS_COLUMNS = [
  "pid",
  "process",
  "exe",
  "user",
  "responder_pid",
  "responder_process",
  "responder_exe",
  "responder_user",
] as const;

/** `wiresight capture -i lo -q --report json`, its flows exported to DIR/flows.ndjson. */
function startCapture(lab: NetPair, dir: string, extra: string[], wrapper: string[] = []) {
  const args = ["-i", lab.clientIf, "-q", "--report", "json", "--export", `${dir}/flows.ndjson`];
  return LiveWiresight.start(lab.client, [...args, "--export-type", "flows", ...extra], undefined, wrapper);
}

/** Ctrl+C once the last packets are in; the report, the flow records and what was printed. */
async function stopCapture(ws: LiveWiresight, dir: string) {
  await sleep(300);
  const out = await ws.stop();
  assertEquals(out.code, 0, out.stderr);
  const flows: FlowRow[] = (await Deno.readTextFile(`${dir}/flows.ndjson`)).split("\n").filter((l) => l)
    .map((l) => JSON.parse(l));
  return { out, report: JSON.parse(out.stdout.slice(out.stdout.indexOf("{"))), flows };
}

/** Prints "label: good/total" (quoted in reviews) and requires at least `min` of them. */
function measured<T>(label: string, all: T[], good: (t: T) => boolean, min = 0.99): void {
  const bad = all.filter((t) => !good(t));
  const n = all.length - bad.length;
  console.log(`${label}: ${n}/${all.length} (${((100 * n) / all.length).toFixed(1)}%)`);
  assert(n >= min * all.length, `${label}: ${n}/${all.length}; missed: ${JSON.stringify(bad.slice(0, 5))}`);
}

/** The flows by their client port (one each: a repeated port would make the truth ambiguous). */
function byClientPort(flows: FlowRow[], protocol: string, serverPort: number): Map<number, FlowRow> {
  const mine = flows.filter((f) => f.protocol === protocol && f.dst_port === serverPort);
  const out = new Map(mine.map((f) => [f.src_port!, f]));
  assertEquals(out.size, mine.length, `${protocol} flows to ${serverPort} sharing a client port`);
  return out;
}

const gone = (pid: number) => {
  try {
    Deno.statSync(`/proc/${pid}`);
    return false;
  } catch {
    return true;
  }
};

Deno.test("capture, eBPF: 200 curl clients of a server answering at once name curl and the server", () =>
  withLab("wiresight_ebpf_curl_", async (lab, dir, servers) => {
    const ws = await startCapture(lab, dir, ["-f", "tcp port 8080"]);
    // Four at a time, as a script or a build would start them.
    const runs = await pool([...Array(200).keys()], 4, () => curl(lab, 0));
    const { report, flows } = await stopCapture(ws, dir);
    assertEquals(report.capture.attribution, "ebpf");
    assertEquals(report.capture.dropped, 0);
    const flowOf = byClientPort(flows, "TCP", 8080);
    assertEquals(flowOf.size, runs.length, "one flow per curl");
    measured("curl flows naming their curl (pid, name, exe)", runs, (r) => {
      const f = flowOf.get(r.port);
      return f?.pid === r.pid && f.process === "curl" && f.exe === CURL;
    });
    measured("the same flows naming python3 as responder (pid, name)", runs, (r) => {
      const f = flowOf.get(r.port);
      return f?.responder_pid === servers.pid && f.responder_process === "python3";
    });
  }, LOOPBACK));

Deno.test("capture, eBPF: 200 dig queries to dnsmasq and nc over TCP and UDP keep their names after exiting", () =>
  withLab("wiresight_ebpf_dig_", async (lab, dir, servers) => {
    await Deno.writeTextFile(`${dir}/hello.txt`, "hello\n");
    const names = Object.keys(LAB_NAMES);
    const ws = await startCapture(lab, dir, ["-f", "port 53 or port 9000 or port 9001"]);
    const digs = await pool([...Array(200).keys()], 4, async (i) => {
      const port = 41000 + i, name = names[i % names.length];
      const r = await dig(lab, port, name);
      assertEquals(r.stdout.trim(), LAB_NAMES[name]);
      return { pid: r.pid, port };
    });
    // exec with a redirect (not a pipe, which forks) keeps the pid we spawned.
    const ncs = await pool([...Array(10).keys()], 4, async (i) => {
      const udp = i % 2 === 1, port = 42000 + i;
      const how = udp
        ? `-u -w 1 -p ${port} ${lab.serverAddr} 9001`
        : `-w 2 -p ${port} ${lab.serverAddr} 9000`;
      const r = await client(lab, "sh", ["-c", `exec nc ${how} < ${dir}/hello.txt`]);
      assertEquals(r.stdout, "hello\n");
      return { pid: r.pid, port, protocol: udp ? "UDP" : "TCP" };
    });
    // Every client has exited; the UDP flows' records only go out when capture ends.
    assertEquals([...digs, ...ncs].filter((c) => !gone(c.pid)), [], "clients still running");
    const { report, flows } = await stopCapture(ws, dir);
    assertEquals(report.capture.attribution, "ebpf");
    const dnsFlow = byClientPort(flows, "UDP", 53);
    assertEquals(dnsFlow.size, digs.length, "one flow per dig");
    measured("dig flows naming their dig (pid, name, exe)", digs, (d) => {
      const f = dnsFlow.get(d.port);
      return f?.pid === d.pid && f.process === "dig" && f.exe === "/usr/bin/dig";
    });
    // dig does its network work in threads ("isc-net-0000"): the process's name is what counts.
    const threadNamed = [...dnsFlow.values()].filter((f) => f.process !== null && f.process !== "dig");
    assertEquals(threadNamed.map((f) => f.process), [], "flows named after a thread");
    measured("the same flows naming dnsmasq as responder (pid, name)", digs, (d) => {
      const f = dnsFlow.get(d.port);
      return f?.responder_pid === servers.dnsmasqPid && f.responder_process === "dnsmasq";
    });
    const ncFlow = new Map(
      ["TCP", "UDP"].flatMap((p) => [...byClientPort(flows, p, p === "TCP" ? 9000 : 9001)]),
    );
    measured("nc flows (TCP and UDP) naming their nc (pid, name, exe)", ncs, (c) => {
      const f = ncFlow.get(c.port);
      return f?.protocol === c.protocol && f.pid === c.pid && f.process === "nc" &&
        f.exe === "/usr/bin/nc.openbsd" && f.responder_pid === servers.pid;
    }, 1);
  }, LOOPBACK));

Deno.test("capture, eBPF: --process-name curl and --process /usr/bin/curl keep exactly curl's packets", () =>
  withLab("wiresight_ebpf_filter_", async (lab, dir) => {
    const reference = await captureLoopback(dir, "all.pcap", "", lab.client, lab.clientIf);
    const filters = [["--process-name", "curl"], ["--process", CURL]];
    const captures = await Promise.all(
      filters.map((f, i) =>
        LiveWiresight.start(lab.client, [
          "-i",
          lab.clientIf,
          "-q",
          "--report",
          "json",
          "--write",
          `${dir}/${i}.pcapng`,
          ...f,
        ])
      ),
    );
    // curl among other clients of the same servers, all at once: wget, python's urllib, dig.
    const url = `http://${lab.serverAddr}:8080/index.html`;
    const others: Record<number, (i: number) => Promise<unknown>> = {
      1: () => client(lab, "wget", ["-q", "-O", "/dev/null", url]),
      2: () =>
        client(lab, "python3", [
          "-c",
          "import sys, urllib.request; urllib.request.urlopen(sys.argv[1]).read()",
          url,
        ]),
      3: (i) => dig(lab, 43000 + i, "app.lab.test"),
    };
    const curlPorts: number[] = [];
    await pool([...Array(40).keys()], 4, async (i) => {
      if (i % 4) await others[i % 4](i);
      else curlPorts.push((await curl(lab, 0)).port);
    });
    await sleep(300);
    const results: WiresightResult[] = [];
    for (const c of captures) results.push(await c.stop());
    await reference.stop();
    const expected = await packetKeys(reference.path, curlPorts.map((p) => `tcp.port == ${p}`).join(" or "));
    const all = await packetKeys(reference.path);
    for (const [i, out] of results.entries()) {
      const what = filters[i].join(" ");
      assertEquals(out.code, 0, `${what}: ${out.stderr}`);
      const kept = await packetKeys(`${dir}/${i}.pcapng`);
      const right = kept.filter((k) => expected.includes(k)).length;
      console.log(
        `${what}: kept ${kept.length} packets, ${right} of curl's ${expected.length} ` +
          `(${curlPorts.length} connections), ${kept.length - right} of the ${
            all.length - expected.length
          } others`,
      );
      assertEquals(kept, expected, what);
      assertEquals(JSON.parse(out.stdout).packets, expected.length, `${what}: the report`);
    }
  }, LOOPBACK));

Deno.test("capture, eBPF: a loopback download counts for both processes: report, socket tables, terminal, EVE, pcapng", () =>
  withLab("wiresight_ebpf_bytes_", async (lab, dir, servers) => {
    await Deno.writeFile(`${dir}/big.bin`, new Uint8Array(200_000).fill(0x5a));
    const common = ["-i", lab.clientIf, "-q", "-f", "tcp port 8080", "--report-interval", "1"];
    const pcapng = `${dir}/run.pcapng`;
    const [bySocket, byProcess, lines] = await Promise.all([
      LiveWiresight.start(lab.client, [...common, "--report", "json", "--write", pcapng]),
      LiveWiresight.start(lab.client, [...common, "-g", "--report", "none"]),
      // The terminal's packet lines (no -q, no periodic tables), and EVE's flow events.
      LiveWiresight.start(lab.client, [
        "-i",
        lab.clientIf,
        "-f",
        "tcp port 8080",
        "--no-payload",
        "--report",
        "none",
        "--alerts",
        `${dir}/eve.ndjson`,
      ]),
    ]);
    const c = await curl(lab, 0, "/big.bin");
    await sleep(300);
    const r = await bySocket.stop(), g = await byProcess.stop(), t = await lines.stop();
    for (const out of [r, g, t]) assertEquals(out.code, 0, out.stderr);
    // --report json: stdout is the report alone, the socket tables are on stderr.
    const report = JSON.parse(r.stdout);

    // tshark's bytes each way (the pcapng holds what the report counted: nothing else on lo).
    const frames = await tsharkFields(pcapng, "frame", [
      "frame.len",
      "tcp.srcport",
      "tcp.dstport",
      "frame.comment",
    ]);
    assertEquals(frames.length, report.packets);
    assert(frames.every((f) => [f.values[1][0], f.values[2][0]].includes(String(c.port))), "one connection");
    const up = frames.filter((f) => f.values[1][0] === String(c.port));
    const down = frames.filter((f) => f.values[1][0] === "8080");
    const sum = (fs: typeof frames) => fs.reduce((n, f) => n + Number(f.values[0][0]), 0);
    const [sent, received] = [sum(up), sum(down)];
    assert(received > 200_000, `${received} bytes came down`);

    // The report: curl sent what went up and received what came down; python3 the mirror.
    const entries: ProcessEntry[] = report.processes;
    const row = (p: ProcessEntry) => [p.name, p.packets, p.bytes_sent, p.bytes_received, p.flows];
    const curlEntry = entries.find((p) => p.pid === c.pid),
      server = entries.find((p) => p.pid === servers.pid);
    assert(curlEntry && server, `processes: ${JSON.stringify(entries)}`);
    console.log(
      `tshark: ${sent} B up, ${received} B down in ${frames.length} packets; report: ` +
        `curl sent ${curlEntry.bytes_sent} received ${curlEntry.bytes_received}, ` +
        `python3 sent ${server.bytes_sent} received ${server.bytes_received}`,
    );
    assertEquals(row(curlEntry), ["curl", frames.length, sent, received, 1]);
    assertEquals(row(server), ["python3", frames.length, received, sent, 1]);
    assertEquals(entries.length, 2, JSON.stringify(entries));
    assertEquals(curlEntry.exe, CURL);

    // The final socket table: each end's socket with what came in and went out.
    const curlLabel = `curl(${c.pid})`, serverLabel = `python3(${servers.pid})`;
    const [client_, server_] = [`${lab.clientAddr}:${c.port}`, `${lab.serverAddr}:8080`];
    const last = panels(r.stderr).sockets.at(-1)!;
    assertEquals(last.header, ["Process", "Proto", "Local", "Remote", "Packets", "In", "Out"]);
    const n = String(frames.length), [upText, downText] = [bytesText(sent), bytesText(received)];
    assertEquals(
      new Set(last.rows.map((x) => x.join(" "))),
      new Set([
        [serverLabel, "TCP", server_, client_, n, upText, downText].join(" "),
        [curlLabel, "TCP", client_, server_, n, downText, upText].join(" "),
      ]),
    );
    // -g: one row per process.
    const grouped = panels(g.stdout).sockets.at(-1)!;
    assertEquals(grouped.header, ["Process", "Sockets", "Packets", "In", "Out"]);
    assertEquals(
      new Set(grouped.rows.map((x) => x.join(" "))),
      new Set([
        [serverLabel, "1", n, upText, downText].join(" "),
        [curlLabel, "1", n, downText, upText].join(" "),
      ]),
    );
    console.log(`socket table: ${last.rows.map((x) => x.join(" ")).join("; ")}`);

    // The terminal: each packet as sender(pid)>receiver(pid).
    const shown = (who: string) => t.stdout.split("\n").filter((l) => l.split(/\s+/).includes(who)).length;
    assertEquals(
      [shown(`${curlLabel}>${serverLabel}`), shown(`${serverLabel}>${curlLabel}`)],
      [up.length, down.length],
      t.stdout,
    );

    // EVE: the flow event names both programs (beside its other wiresight fields, geoip's).
    const eve = (await Deno.readTextFile(`${dir}/eve.ndjson`)).split("\n").filter((l) => l)
      .map((l) => JSON.parse(l)).filter((e) => e.event_type === "flow" && e.src_port === c.port);
    const owners = (w: Record<string, unknown>) => ({
      process: w.process,
      responder_process: w.responder_process,
    });
    assertEquals(eve.map((e) => owners(e.wiresight)), [{
      process: { pid: c.pid, name: "curl", exe: CURL, user: curlEntry.user },
      responder_process: { pid: servers.pid, name: "python3", exe: server.exe, user: server.user },
    }]);

    // The pcapng: every packet notes its sender and, as peer, its receiver; read back, the
    // processes are the live capture's.
    const noted = (f: (typeof frames)[number], from: ProcessEntry, to: ProcessEntry) => {
      const comment = f.values[3].join("|");
      return comment.startsWith(`wiresight process role=sent pid=${from.pid} name=${from.name} `) &&
        comment.includes(` peer_pid=${to.pid} peer_name=${to.name}`);
    };
    measured(
      "pcapng comments naming sender and receiver",
      frames,
      (f) => up.includes(f) ? noted(f, curlEntry, server) : noted(f, server, curlEntry),
      1,
    );
    const [cmd, args] = wiresightArgs(["read", pcapng, "--report", "json"]);
    const reread = JSON.parse(await run(cmd, args, 60000));
    const byPid = (list: ProcessEntry[]) => [...list].sort((a, b) => a.pid - b.pid);
    assertEquals(byPid(reread.processes), byPid(entries));
  }, LOOPBACK));

Deno.test("capture --attribution off: no process anywhere, and the report says none", () =>
  withLab("wiresight_attr_off_", async (lab, dir) => {
    const ws = await startCapture(lab, dir, ["--attribution", "off", "-f", "tcp port 8080"]);
    assertIncludes(ws.stderr, "process attribution: none (Ctrl+C to stop)");
    const c = await curl(lab, 0);
    const { report, flows } = await stopCapture(ws, dir);
    assertEquals(report.capture.attribution, "none");
    assertEquals(report.processes, []);
    assertEquals(flows.map((f) => f.src_port), [c.port]);
    for (const f of flows) assertEquals(PROCESS_COLUMNS.filter((k) => f[k] !== null), [], JSON.stringify(f));
  }, LOOPBACK));

Deno.test("capture without CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN: one warning, then sock_diag and /proc", () =>
  withLab("wiresight_attr_fallback_", async (lab, dir, servers) => {
    await Deno.writeFile(`${dir}/big.bin`, new Uint8Array(200_000));
    // capsh drops them from the bounding set, so the deno it execs never has them; root keeps
    // CAP_NET_RAW and CAP_NET_ADMIN for libpcap.
    const drop = ["capsh", "--drop=cap_bpf,cap_perfmon,cap_sys_admin", "--", "-c", 'exec "$@"', "sh"];
    const ws = await startCapture(lab, dir, ["-f", "tcp port 8080", "--write", `${dir}/f.pcapng`], drop);
    // A client that lives long enough for a /proc scan (a 2 s download) and a short one.
    const slow = await client(lab, "curl", [
      "-s",
      "-o",
      "/dev/null",
      "--limit-rate",
      "100k",
      "-w",
      "%{local_port}",
      `http://${lab.serverAddr}:8080/big.bin`,
    ]);
    const quick = await curl(lab, 0);
    const { out, report, flows } = await stopCapture(ws, dir);
    const mentions = out.stderr.split("\n").filter((l) => /warning|eBPF/.test(l));
    assertEquals(mentions.length, 1, out.stderr);
    for (const word of ["warning", "eBPF", "CAP_BPF", "falling back to sock_diag netlink and /proc"]) {
      assertIncludes(mentions[0], word);
    }
    assertIncludes(out.stderr, "process attribution: sock_diag netlink and /proc (Ctrl+C to stop)");
    assertEquals(report.capture.attribution, "netlink");
    // Capture works: every packet is in the report and the pcapng, and the long-lived client is named.
    assertEquals((await readBack(`${dir}/f.pcapng`)).packets, report.packets);
    const flowOf = byClientPort(flows, "TCP", 8080);
    assertEquals([...flowOf.keys()].sort(), [Number(slow.stdout), quick.port].sort());
    const f = flowOf.get(Number(slow.stdout))!;
    console.log(
      `fallback: ${report.packets} packets; the 2 s download named ${f.process}(${f.pid}), ` +
        `its responder ${f.responder_process}(${f.responder_pid})`,
    );
    // The server through its listener, which it held before capture began. The client may lose the
    // race netlink runs with a socket's first packets on a busy machine (the reason for eBPF): it
    // is then unnamed, never named wrong.
    assertEquals([f.responder_pid, f.responder_process], [servers.pid, "python3"]);
    // Its executable needs ptrace access to /proc/PID/exe, which a capture with fewer capabilities
    // than the (root) client lacks: then null, never another program's.
    if (f.process !== null) {
      assertEquals([f.pid, f.process], [slow.pid, "curl"]);
      assert(f.exe === null || f.exe === CURL, String(f.exe));
    }
  }, LOOPBACK));
