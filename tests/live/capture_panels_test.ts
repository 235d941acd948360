// The live panels of `wiresight capture` (root): --stats every --stats-interval seconds, and
// --report-interval's table of active sockets (by socket, or -g by process), --top, --dns-count.
// curl and dig, each from a local port the test picks, talk to real servers (python's
// http.server, dnsmasq) in a second namespace; every number a panel shows is checked against
// tshark's reading of the pcapng the same run wrote, and the DNS lines against dig's answers.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { bytesText } from "../../src/base/format.ts";
import { tsharkFields } from "../helpers/app.ts";
import { num, panels, type StatsPanel } from "../helpers/panels.ts";
import type { NetPair } from "../helpers/netns.ts";
import {
  clientAddresses,
  curl,
  dig,
  LAB_NAMES,
  LiveWiresight,
  readBack,
  sleep,
  withLab,
} from "../helpers/live.ts";

interface Frame {
  len: number;
  proto: string;
  dir: "in" | "out" | "local" | "fwd";
  /** The other end: the source of what comes in, else the destination. */
  /** The addresses the packet counts for as a talker: both ends, as tshark's endpoints. */
  talkers: string[];
  /** The client-side port, and the five-tuple of TCP/UDP packets. */
  localPort: number | null;
  socket: string | null;
  app: string | null;
}

/** tshark's reading of a capture, with what the test knows: local addresses, who used which port. */
async function frames(pcapng: string, local: Set<string>): Promise<Frame[]> {
  const fields = [
    "frame.len",
    "frame.protocols",
    "ip.src",
    "ip.dst",
    "tcp.srcport",
    "tcp.dstport",
    "udp.srcport",
    "udp.dstport",
    "tcp.stream",
    "http.request.method",
    "dns.id",
  ];
  const rows = await tsharkFields(pcapng, "frame", fields);
  const http = new Set<string>();
  return rows.map((r) => {
    const f = Object.fromEntries(fields.map((n, i) => [n, r.values[i][0] ?? ""]));
    const protocols = f["frame.protocols"].split(":");
    const proto = protocols.includes("tcp") ? "TCP" : protocols.includes("udp") ? "UDP" : "other";
    const l4 = proto === "TCP" ? "tcp" : "udp";
    const [src, dst] = [f["ip.src"], f["ip.dst"]];
    const srcLocal = local.has(src), dstLocal = local.has(dst);
    const dir = srcLocal && dstLocal ? "local" : srcLocal ? "out" : dstLocal ? "in" : "fwd";
    const [sport, dport] = [Number(f[`${l4}.srcport`]), Number(f[`${l4}.dstport`])];
    // An HTTP flow is named from its request on, a DNS one from its first message.
    if (f["http.request.method"]) http.add(f["tcp.stream"]);
    const app = f["dns.id"] ? "DNS" : proto === "TCP" && http.has(f["tcp.stream"]) ? "HTTP" : null;
    const ends = [`${src}:${sport}`, `${dst}:${dport}`];
    return {
      len: Number(f["frame.len"]),
      proto,
      dir,
      talkers: src === dst ? [src] : [src, dst],
      localPort: dir === "in" ? dport : dir === "out" ? sport : null,
      socket: proto === "other"
        ? null
        : `${proto} ${dir === "in" ? ends.reverse().join(" ") : ends.join(" ")}`,
      app,
    };
  });
}

function sumBy<T>(items: T[], key: (t: T) => string | null, value: (t: T) => number): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of items) {
    const k = key(t);
    if (k !== null) out.set(k, (out.get(k) ?? 0) + value(t));
  }
  return out;
}

/** Adds up one list of every panel (keys to totals). */
function panelTotals(stats: StatsPanel[], pick: (p: StatsPanel) => Map<string, number>): Map<string, number> {
  return sumBy(stats.flatMap((p) => [...pick(p)]), ([k]) => k, ([, v]) => v);
}

/** Bytes from rounded panel figures: each is within half a unit of its third significant digit. */
function assertNear(shown: Map<string, number>, actual: Map<string, number>, panels: number, what: string) {
  assertEquals([...shown.keys()].sort(), [...actual.keys()].sort(), what);
  for (const [k, v] of actual) {
    const slack = 0.005 * v + panels;
    assert(Math.abs(shown.get(k)! - v) <= slack, `${what} ${k}: shown ${shown.get(k)}, tshark ${v}`);
  }
}

interface Client {
  label: string;
  port: number;
}

/** The lab's traffic: dig and curl in turns, then a quiet spell (panels go on without packets). */
async function traffic(net: NetPair): Promise<{ clients: Client[]; dns: string[] }> {
  const clients: Client[] = [];
  const dns: string[] = [];
  const names = Object.keys(LAB_NAMES);
  for (let i = 0; i < 4; i++) {
    const dport = 43100 + i;
    const d = await dig(net, dport, names[i]);
    clients.push({ label: `dig(${d.pid})`, port: dport });
    dns.push(`${names[i]} A -> ${d.stdout.trim()}`);
    const cport = 43000 + i;
    // Different sizes, so the socket table has an order to keep.
    const c = await curl(net, cport, i % 2 ? "/index.html" : "/servers.py");
    clients.push({ label: `curl(${c.pid})`, port: cport });
    await sleep(250);
  }
  await sleep(2500);
  return { clients, dns };
}

Deno.test("capture --stats and --report-interval: every figure as tshark counts the same packets", () =>
  withLab("wiresight_panels_", async (net, dir) => {
    // IPv4 only: no neighbour discovery or router solicitations to ask about.
    const common = ["-i", net.clientIf, "-f", "ip", "-q", "--report", "json"];
    const [bySocket, byProcess] = await Promise.all([
      LiveWiresight.start(net.client, [
        ...common,
        "--stats",
        "--stats-interval",
        "1",
        "--report-interval",
        "2",
        "--top",
        "50",
        "--dns-count",
        "3",
        "--write",
        `${dir}/sockets.pcapng`,
      ]),
      LiveWiresight.start(net.client, [
        ...common,
        "--report-interval",
        "1",
        "-g",
        "--top",
        "2",
        "--write",
        `${dir}/processes.pcapng`,
      ]),
    ]);
    const started = performance.now();
    const { clients, dns } = await traffic(net);
    const r = await bySocket.stop();
    const elapsed = (performance.now() - started) / 1000;
    const g = await byProcess.stop();
    const local = await clientAddresses(net);
    const processOf = new Map(clients.map((c) => [c.port, c.label]));

    // --stats: a panel every second, through the quiet spell too, and the rest when it stops.
    assertEquals(r.code, 0, r.stderr);
    // --report json: stdout is the report alone, the panels are on stderr.
    const { stats, sockets } = panels(r.stderr);
    const report = JSON.parse(r.stdout);
    assert(stats.length >= Math.floor(elapsed) - 1, `${stats.length} panels in ${elapsed.toFixed(1)} s`);
    for (const p of stats.slice(0, -1)) assert(p.secs >= 0.8 && p.secs <= 1.3, `a panel after ${p.secs} s`);
    assert(stats.slice(-3).some((p) => p.packets === 0), "no panel while nothing was sent");
    const seen = await frames(`${dir}/sockets.pcapng`, local);
    assertEquals((await readBack(`${dir}/sockets.pcapng`)).packets, seen.length);
    assertEquals(stats.reduce((n, p) => n + p.packets, 0), seen.length, "packets over all panels");
    assertEquals(report.packets, seen.length);
    for (const p of stats) {
      assertEquals(p.bytes, [...p.dirs.values()].reduce((n, d) => n + d.bytes, 0), "bytes by direction");
      if (p.packets === 0) continue;
      const within = (x: number, lo: number, hi: number) => x >= Math.floor(lo) - 1 && x <= Math.ceil(hi) + 1;
      assert(
        within(p.pps, p.packets / (p.secs + 0.05), p.packets / Math.max(0.05, p.secs - 0.05)),
        `${p.pps} pkt/s`,
      );
      for (const [name, d] of p.dirs) {
        const m = d.rate.match(/^([\d.]+) (\w*)bit\/s$/)!;
        const bits = Number(m[1]) * { "": 1, k: 1e3, M: 1e6 }[m[2]]!;
        const [lo, hi] = [(8 * d.bytes) / (p.secs + 0.05), (8 * d.bytes) / Math.max(0.05, p.secs - 0.05)];
        assert(
          bits >= lo * 0.99 - 1 && bits <= hi * 1.01 + 1,
          `${name} ${d.rate} for ${d.bytes} B in ${p.secs} s`,
        );
      }
      for (const [proto, { packets, percent }] of p.protocols) {
        assertEquals(percent, `${((100 * packets) / p.packets).toFixed(1)}%`, proto);
      }
    }
    const byDir = sumBy(seen, (f) => f.dir, (f) => f.len);
    assertEquals(
      panelTotals(stats, (p) => new Map([...p.dirs].map(([k, d]) => [k, d.bytes]))),
      new Map(
        [
          ["in", byDir.get("in") ?? 0],
          ["out", byDir.get("out") ?? 0],
          ...[...byDir].filter(([k]) => k !== "in" && k !== "out"),
        ],
      ),
    );
    assertNear(
      panelTotals(stats, (p) => p.talkers),
      sumBy(seen.flatMap((f) => f.talkers.map((t) => ({ t, len: f.len }))), (x) => x.t, (x) => x.len),
      stats.length,
      "talker",
    );
    const processBytes = sumBy(seen, (f) => processOf.get(f.localPort!) ?? null, (f) => f.len);
    assertEquals(processBytes.size, clients.length, "every client's packets");
    assertNear(panelTotals(stats, (p) => p.processes), processBytes, stats.length, "process");
    assertEquals(
      panelTotals(stats, (p) => new Map([...p.protocols].map(([k, v]) => [k, v.packets]))),
      sumBy(seen, (f) => f.proto, () => 1),
    );
    assertEquals(panelTotals(stats, (p) => p.apps), sumBy(seen, (f) => f.app, () => 1));

    // --report-interval 2: the sockets by bytes, ending with the final one at Ctrl+C.
    assert(sockets.length >= Math.floor(elapsed / 2), `${sockets.length} socket reports`);
    const last = sockets.at(-1)!;
    assertEquals(last.header, ["Process", "Proto", "Local", "Remote", "Packets", "In", "Out"]);
    const flows = new Map<string, { packets: number; in: number; out: number; port: number }>();
    for (const f of seen.filter((f) => f.socket)) {
      const s = flows.get(f.socket!) ?? { packets: 0, in: 0, out: 0, port: f.localPort! };
      s.packets++;
      if (f.dir === "in") s.in += f.len;
      else s.out += f.len;
      flows.set(f.socket!, s);
    }
    assertEquals(last.rows.length, flows.size, "one row per socket");
    const order: number[] = [];
    for (const row of last.rows) {
      const [process, proto, localEnd, remote, packets, inText, outText] = row;
      const s = flows.get(`${proto} ${localEnd} ${remote}`);
      assert(s, `no such socket: ${row}`);
      assertEquals(
        [process, num(packets), inText, outText],
        [processOf.get(s.port), s.packets, bytesText(s.in), bytesText(s.out)],
        row.join(" "),
      );
      order.push(s.in + s.out);
    }
    assertEquals(order, [...order].sort((a, b) => b - a), "sorted by bytes");
    // --dns-count 3: the last three answers, as dig printed them.
    assertEquals(last.dns, dns.slice(-3));

    // -g --top 2: processes by bytes, the two largest.
    assertEquals(g.code, 0, g.stderr);
    const grouped = panels(g.stderr).sockets;
    const gSeen = await frames(`${dir}/processes.pcapng`, local);
    const perProcess = new Map<
      string,
      { sockets: Set<string>; packets: number; in: number; out: number }
    >();
    for (const f of gSeen.filter((f) => f.socket)) {
      const label = processOf.get(f.localPort!)!;
      const p = perProcess.get(label) ?? { sockets: new Set(), packets: 0, in: 0, out: 0 };
      p.sockets.add(f.socket!);
      p.packets++;
      if (f.dir === "in") p.in += f.len;
      else p.out += f.len;
      perProcess.set(label, p);
    }
    const total = (p: { in: number; out: number }) => p.in + p.out;
    const largest = [...perProcess.values()].map(total).sort((a, b) => b - a).slice(0, 2);
    const final = grouped.at(-1)!;
    assertEquals(final.header, ["Process", "Sockets", "Packets", "In", "Out"]);
    // Each row as tshark counts that process's packets; the rows are the two largest (ties either way).
    for (const row of final.rows) {
      const p = perProcess.get(row[0]);
      assert(p, `no such process: ${row}`);
      assertEquals(row.slice(1), [
        String(p.sockets.size),
        String(p.packets),
        bytesText(p.in),
        bytesText(p.out),
      ]);
    }
    assertEquals(final.rows.map((row) => total(perProcess.get(row[0])!)), largest);
    assert(grouped.length >= Math.floor(elapsed) - 1, `${grouped.length} grouped reports`);
  }));
