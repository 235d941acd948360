// `read --export`: packet and flow rows checked against tshark's view of the same frames, the three
// formats against each other (CSV through an independent RFC 4180 parser), streaming at scale,
// and the format chosen from the file name.
import assert from "node:assert/strict";
import { parse as parseCsv } from "csv-parse/sync";
import type { RowSchema } from "../src/base/columns.ts";
import { FLOW_ROWS, PACKET_ROWS } from "../src/sinks/rows.ts";
import { corpusFile } from "./helpers/corpus.ts";
import { outerProtocols, TSHARK_PREFS, tsharkView } from "./helpers/tshark.ts";
import { runCli } from "./helpers/run_cli.ts";
import { pool } from "./helpers/util.ts";

type Row = Record<string, string | number | boolean | null>;

const PACKET_COLUMNS = PACKET_ROWS.names;
const FLOW_COLUMNS = FLOW_ROWS.names;
const dec = new TextDecoder();

// IPv4 + IPv6, Ethernet + SLL2 (one pcapng) + SLL + NULL, 802.1Q, 802.1ad, IP fragments,
// ICMP errors quoting UDP, and more rows than one CSV batch (arp-oobr: 2282 ARP frames).
const FILES = [
  "gen_multi_interface.pcapng",
  "arp-oobr.pcap",
  "802.1ad_QinQ.pcap",
  "quic_vn.pcap",
  "afs.pcap",
  "mptcp-v1.pcap",
];
// tshark never splits a conversation by time; with the timeouts off neither does wiresight.
const NO_TIMEOUTS = ["--tcp-timeout", "0", "--udp-timeout", "0", "--active-timeout", "0"];
const PAYLOAD = 16;

const tmp = Deno.makeTempDirSync({ prefix: "wiresight-export-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

async function cli(args: string[]): Promise<string> {
  const r = await runCli(["read", "--no-progress", ...args]);
  if (r.code !== 0) throw new Error(`wiresight read ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const ndjson = (text: string): Row[] => text.split("\n").filter(Boolean).map((l) => JSON.parse(l));

interface Exports {
  file: string;
  packets: Row[];
  json: Row[];
  csv: string;
  flows: Row[];
  flowsCsv: string;
  report: Record<string, unknown>;
}

/** Every export of one capture, made once (tests in a file run one after another). */
const exportsCache = new Map<string, Promise<Exports>>();
function exportsOf(name: string): Promise<Exports> {
  let p = exportsCache.get(name);
  if (!p) {
    p = (async () => {
      const file = corpusFile(name);
      const out = (ext: string) => `${tmp}/${name}.${ext}`;
      const packetArgs = [file, "-q", ...NO_TIMEOUTS, "--export-payload", String(PAYLOAD), "--export"];
      const flowArgs = [file, ...NO_TIMEOUTS, "--export-type", "flows", "--export"];
      const [, , , report] = await pool(
        [
          [...packetArgs, out("ndjson")],
          [...packetArgs, out("json")],
          [...packetArgs, out("csv")],
          [...flowArgs, out("flows.ndjson"), "--report", "json"],
          [...flowArgs, out("flows.csv"), "-q"],
        ],
        3,
        cli,
      );
      return {
        file,
        packets: ndjson(await Deno.readTextFile(out("ndjson"))),
        json: JSON.parse(await Deno.readTextFile(out("json"))),
        csv: await Deno.readTextFile(out("csv")),
        flows: ndjson(await Deno.readTextFile(out("flows.ndjson"))),
        flowsCsv: await Deno.readTextFile(out("flows.csv")),
        report: JSON.parse(report),
      };
    })();
    exportsCache.set(name, p);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// tshark's per-frame fields

const FIELDS = [
  "frame.number",
  "frame.len",
  "frame.protocols",
  "eth.src",
  "eth.dst",
  "vlan.id",
  "ieee8021ad.id",
  "ip.src",
  "ip.dst",
  "ip.ttl",
  "ip.proto",
  "ip.frag_offset",
  "ip.flags.mf",
  "ipv6.src",
  "ipv6.dst",
  "ipv6.hlim",
  "arp.src.proto_ipv4",
  "arp.dst.proto_ipv4",
  "tcp.srcport",
  "tcp.dstport",
  "tcp.flags",
  "udp.srcport",
  "udp.dstport",
  "tcp.payload",
  "udp.payload",
] as const;
type Field = typeof FIELDS[number];
/** Each field's values in the frame, outermost first (tshark joins repeated fields with commas). */
type TsharkFrame = Record<Field, string[]>;

async function tsharkFrames(file: string): Promise<TsharkFrame[]> {
  const args = ["-n", "-r", file, ...TSHARK_PREFS, "-T", "fields", "-E", "separator=\t"];
  for (const f of FIELDS) args.push("-e", f);
  const out = await new Deno.Command("tshark", { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`tshark on ${file}: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout).split("\n").filter(Boolean).map((line) => {
    const cells = line.split("\t");
    return Object.fromEntries(FIELDS.map((f, i) => [f, cells[i] ? cells[i].split(",") : []])) as TsharkFrame;
  });
}

// Names wiresight gives the IP protocols in these captures (IANA numbers, tshark's names).
const BY_NUMBER: Record<string, string> = {
  1: "ICMP",
  6: "TCP",
  17: "UDP",
  47: "GRE",
  58: "ICMPv6",
  103: "PIM",
};
const BY_TSHARK: Record<string, string> = {
  tcp: "TCP",
  udp: "UDP",
  icmp: "ICMP",
  icmpv6: "ICMPv6",
  gre: "GRE",
};
const TCP_FLAG_BITS: Record<string, number> = { F: 1, S: 2, R: 4, P: 8, A: 16, U: 32, E: 64, C: 128, N: 256 };

function flagBits(letters: string): number {
  let bits = 0;
  for (const l of letters) {
    assert.ok(l in TCP_FLAG_BITS, `unknown TCP flag letter ${l}`);
    bits |= TCP_FLAG_BITS[l];
  }
  return bits;
}

/** What the export row of a frame must say, from tshark's outer headers (undefined: not checked). */
function expectedRow(t: TsharkFrame): Partial<Row> {
  const first = (f: Field) => t[f][0] ?? null;
  const num = (f: Field) => t[f].length ? Number(t[f][0]) : null;
  const protos = t["frame.protocols"][0].split(":");
  const { l3, l4 } = outerProtocols(protos);
  const e: Partial<Row> = { frame: num("frame.number"), len: num("frame.len") };
  if (protos[0] === "eth") {
    e.src_mac = first("eth.src");
    e.dst_mac = first("eth.dst");
    // Tags before the network layer, outermost first.
    const tags = { vlan: [...t["vlan.id"]], ieee8021ad: [...t["ieee8021ad.id"]] };
    const l3At = l3 ? protos.indexOf(l3) : protos.length;
    const ids = protos.slice(0, l3At).flatMap((p) =>
      p === "vlan" || p === "ieee8021ad" ? [tags[p].shift()] : []
    );
    e.vlan = ids.length ? ids.join(".") : null;
  }
  if (l3 === "arp") {
    Object.assign(e, { protocol: "ARP", ip_version: null, ttl: null, src_port: null, dst_port: null });
    if (t["arp.src.proto_ipv4"].length) {
      Object.assign(e, { src: first("arp.src.proto_ipv4"), dst: first("arp.dst.proto_ipv4") });
    }
  } else if (l3 === "ip" || l3 === "ipv6") {
    const v4 = l3 === "ip";
    e.ip_version = v4 ? 4 : 6;
    e.src = first(v4 ? "ip.src" : "ipv6.src");
    e.dst = first(v4 ? "ip.dst" : "ipv6.dst");
    e.ttl = num(v4 ? "ip.ttl" : "ipv6.hlim");
    const nonFirstFragment = v4 && Number(first("ip.frag_offset") ?? 0) > 0;
    const name = nonFirstFragment ? "IPv4" : v4 ? BY_NUMBER[first("ip.proto") ?? ""] : BY_TSHARK[l4 ?? ""];
    if (name) e.protocol = name;
    // Ports and flags of the outer transport header only: a UDP header quoted in an ICMP error is
    // not the packet's. (Non-first fragments carry their flow's ports: not checked.)
    if (!nonFirstFragment) {
      const tcp = l4 === "tcp", udp = l4 === "udp";
      e.src_port = tcp ? num("tcp.srcport") : udp ? num("udp.srcport") : null;
      e.dst_port = tcp ? num("tcp.dstport") : udp ? num("udp.dstport") : null;
      if (tcp) e.tcp_flags = Number(first("tcp.flags")) & 0x1ff;
      else e.tcp_flags = null;
      if (tcp || udp) {
        const payload = first(tcp ? "tcp.payload" : "udp.payload") ?? "";
        e.payload_len = payload.length / 2;
        e.payload_hex = payload ? payload.slice(0, 2 * PAYLOAD) : null;
      }
    }
  } else {
    Object.assign(e, { protocol: "Other", ip_version: null, src: null, dst: null, ttl: null });
  }
  return e;
}

Deno.test("packet exports: one row per frame with tshark's outer header values", async () => {
  const mismatches: string[] = [];
  let checked = 0;
  await pool(FILES, 3, async (name) => {
    const [ex, frames] = await Promise.all([exportsOf(name), tsharkFrames(corpusFile(name))]);
    assert.equal(ex.packets.length, frames.length, `${name}: rows vs tshark frames`);
    for (const [i, t] of frames.entries()) {
      const row = ex.packets[i];
      const want = expectedRow(t);
      const got: Partial<Row> = {};
      for (const k of Object.keys(want)) {
        got[k] = k === "tcp_flags" && typeof row[k] === "string" ? flagBits(row[k] as string) : row[k];
      }
      checked += Object.keys(want).length;
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        mismatches.push(
          `${name} frame ${t["frame.number"]}: want ${JSON.stringify(want)} got ${JSON.stringify(got)}`,
        );
      }
    }
  });
  assert.deepEqual(mismatches.slice(0, 20), []);
  assert.ok(checked > 10000, `only ${checked} values compared`);
});

Deno.test("first IP fragments are not malformed: their UDP length covers the whole datagram", async () => {
  const name = "afs.pcap";
  const [ex, frames] = await Promise.all([exportsOf(name), tsharkFrames(corpusFile(name))]);
  const firstFragments = frames.filter((t) => t["ip.flags.mf"][0] === "1" && t["ip.frag_offset"][0] === "0");
  assert.ok(firstFragments.length > 0);
  const flagged = firstFragments
    .map((t) => ex.packets[Number(t["frame.number"][0]) - 1])
    .filter((r) => r.malformed !== null)
    .map((r) => `frame ${r.frame}: ${r.malformed}`);
  // tshark (reassembly off) reports none of these frames as malformed.
  assert.deepEqual(flagged, []);
});

/** A JSON value as csv-stringify writes it (null as an empty field, booleans as true/false). */
const csvCell = (v: unknown) =>
  v === null || v === undefined ? "" : Array.isArray(v) ? v.join(" ") : String(v);

function assertCsvMatches(csv: string, rows: Row[], columns: readonly string[], what: string): void {
  const records: string[][] = parseCsv(csv, { relax_column_count: false });
  assert.deepEqual(records[0], [...columns], `${what}: CSV header`);
  assert.equal(records.length - 1, rows.length, `${what}: CSV rows`);
  for (const [i, row] of rows.entries()) {
    assert.deepEqual(records[i + 1], columns.map((c) => csvCell(row[c])), `${what}: CSV row ${i + 1}`);
  }
}

/** Each value has its column's declared type (the store's SQL types come from them), or is null. */
function assertTyped<T>(rows: Row[], schema: RowSchema<T>, what: string): void {
  const fits = {
    text: (v: unknown) => typeof v === "string",
    integer: (v: unknown) => Number.isInteger(v),
    real: (v: unknown) => typeof v === "number" && Number.isFinite(v),
    boolean: (v: unknown) => typeof v === "boolean",
    integers: (v: unknown) => Array.isArray(v) && v.every(Number.isInteger),
  };
  for (const row of rows) {
    for (const c of schema.columns) {
      const v = row[c.name];
      assert.ok(v === null || fits[c.type](v), `${what}: ${c.name} = ${JSON.stringify(v)} is not ${c.type}`);
    }
  }
}

Deno.test("the same rows in NDJSON, JSON and CSV, in the packet / flow columns' order and types", async () => {
  await pool(FILES, 3, async (name) => {
    const ex = await exportsOf(name);
    for (const row of ex.packets) assert.deepEqual(Object.keys(row), [...PACKET_COLUMNS], name);
    for (const row of ex.flows) assert.deepEqual(Object.keys(row), [...FLOW_COLUMNS], name);
    assertTyped(ex.packets, PACKET_ROWS, `${name} packets`);
    assertTyped(ex.flows, FLOW_ROWS, `${name} flows`);
    assert.deepEqual(ex.json, ex.packets, `${name}: JSON vs NDJSON`);
    assertCsvMatches(ex.csv, ex.packets, PACKET_COLUMNS, `${name} packets`);
    assertCsvMatches(ex.flowsCsv, ex.flows, FLOW_COLUMNS, `${name} flows`);
  });
});

Deno.test("payload_hex is the start of tshark's tcp.payload / udp.payload", async () => {
  // Also covered frame by frame above; here the point is that there are payloads to compare.
  let compared = 0;
  for (const name of ["gen_multi_interface.pcapng", "quic_vn.pcap", "mptcp-v1.pcap"]) {
    const [ex, frames] = await Promise.all([exportsOf(name), tsharkFrames(corpusFile(name))]);
    for (const t of frames) {
      const payload = t["tcp.payload"][0] ?? t["udp.payload"][0];
      if (!payload) continue;
      const row = ex.packets[Number(t["frame.number"][0]) - 1];
      assert.equal(row.payload_hex, payload.slice(0, 2 * PAYLOAD), `${name} frame ${row.frame}`);
      assert.equal(row.payload_len, payload.length / 2, `${name} frame ${row.frame}`);
      compared++;
    }
  }
  assert.ok(compared >= 80, `${compared} payloads`);
});

Deno.test("flow exports: packets and bytes add up to the report's IP totals; TCP flows are tshark's", async () => {
  for (const name of FILES) {
    const ex = await exportsOf(name);
    const protocols = ex.report.protocols as Record<string, { packets: number; bytes: number }>;
    const ip = (k: "packets" | "bytes") => (protocols.IPv4?.[k] ?? 0) + (protocols.IPv6?.[k] ?? 0);
    const noFlow = ex.packets.filter((p) => p.ip_version !== null && p.flow_id === null);
    const sum = (k: string) => ex.flows.reduce((n, f) => n + (f[k] as number), 0);
    assert.equal(sum("packets"), ip("packets") - noFlow.length, `${name}: flow packets`);
    assert.equal(
      sum("bytes"),
      ip("bytes") - noFlow.reduce((n, p) => n + (p.len as number), 0),
      `${name}: bytes`,
    );
    assert.equal(ex.flows.length, ex.report.flows, `${name}: flow records`);
    // Each packet's flow id names an exported flow, and the per-flow packet counts agree.
    const perFlow = new Map<unknown, number>();
    for (const p of ex.packets) {
      if (p.flow_id !== null) perFlow.set(p.flow_id, (perFlow.get(p.flow_id) ?? 0) + 1);
    }
    assert.deepEqual(
      new Map(ex.flows.map((f) => [f.flow_id, f.packets])),
      perFlow,
      `${name}: packets per flow id`,
    );
  }

  // TCP flows are tshark's TCP conversations: same endpoints, same packets (timeouts off).
  let tcpFlows = 0;
  for (const name of ["gen_multi_interface.pcapng", "mptcp-v1.pcap"]) {
    const [ex, view] = await Promise.all([exportsOf(name), tsharkView(corpusFile(name))]);
    const key = (a: string, b: string) => [a, b].sort().join(" <-> ");
    const conversations = new Map(view.tcp.map((c) => [key(c.a, c.b), c.framesAtoB + c.framesBtoA]));
    const udpEndpoints = new Set(view.udp.map((c) => key(c.a, c.b)));
    for (const f of ex.flows) {
      const k = key(`${f.src}:${f.src_port}`, `${f.dst}:${f.dst_port}`);
      if (f.protocol === "TCP") {
        assert.equal(conversations.get(k), f.packets, `${name}: TCP flow ${k}`);
        tcpFlows++;
      } else if (f.protocol === "UDP") {
        assert.ok(udpEndpoints.has(k), `${name}: UDP flow ${k} is not a tshark conversation`);
      }
    }
    assert.equal(ex.flows.filter((f) => f.protocol === "TCP").length, conversations.size, name);
  }
  assert.ok(tcpFlows >= 15);
});

// ---------------------------------------------------------------------------------------------
// Streaming

/** A pcap of about `count` packets: a corpus file's records repeated, time moving forward. */
async function syntheticPcap(path: string, source: string, count: number): Promise<number> {
  const src = await Deno.readFile(source);
  const dv = new DataView(src.buffer);
  assert.equal(dv.getUint32(0, true), 0xa1b2c3d4, "a little-endian microsecond pcap");
  const offsets: number[] = [];
  for (let o = 24; o + 16 <= src.length; o += 16 + dv.getUint32(o + 8, true)) offsets.push(o);
  const reps = Math.ceil(count / offsets.length);
  const body = src.subarray(24);
  const out = new Uint8Array(24 + body.length * reps);
  const odv = new DataView(out.buffer);
  out.set(src.subarray(0, 24));
  for (let r = 0; r < reps; r++) {
    const base = 24 + r * body.length;
    out.set(body, base);
    // Each copy 100 s after the previous one, so timestamps keep increasing.
    for (const o of offsets) odv.setUint32(base + o - 24, dv.getUint32(o, true) + 100 * r, true);
  }
  await Deno.writeFile(path, out);
  return reps * offsets.length;
}

/** Lines in a file, read in chunks (the file may be larger than we want to hold). */
async function countLines(path: string): Promise<{ lines: number; first: string }> {
  using f = await Deno.open(path);
  const buf = new Uint8Array(1 << 20);
  let lines = 0, first = "";
  for (let n; (n = await f.read(buf)) !== null;) {
    if (!first) first = dec.decode(buf.subarray(0, n)).split("\n")[0];
    for (let i = buf.indexOf(10); i >= 0 && i < n; i = buf.indexOf(10, i + 1)) lines++;
  }
  return { lines, first };
}

async function hasTime(): Promise<boolean> {
  try {
    return (await Deno.stat("/usr/bin/time")).isFile;
  } catch {
    return false;
  }
}

Deno.test("exports stream: 200k packets export with a 48 MB JavaScript heap", async () => {
  const input = `${tmp}/big.pcap`;
  const packets = await syntheticPcap(input, corpusFile("gen_dns_any_sll2.pcap"), 200_000);
  const time = await hasTime();
  const [report, ...runs] = await Promise.all([
    // The input spans many read chunks: every record must be decoded, none lost at a boundary.
    runCli(["read", input, "--report", "json", "--no-progress"]),
    ...["ndjson", "csv"].map((fmt) =>
      runCli(["read", input, "-q", "--no-progress", "--export", `${tmp}/big.${fmt}`], {
        // Holding the rows (≈ 100 MB of NDJSON) would exhaust this heap and abort.
        denoFlags: ["--v8-flags=--max-old-space-size=48"],
        wrapper: time ? ["/usr/bin/time", "-f", "peak-rss-kb=%M"] : undefined,
      })
    ),
  ]);
  assert.equal(report.code, 0, report.stderr);
  assert.equal(JSON.parse(report.stdout).packets, packets);
  for (const r of runs) {
    assert.equal(r.code, 0, r.stderr);
    const rss = r.stderr.match(/peak-rss-kb=(\d+)/);
    if (time) assert.ok(rss && Number(rss[1]) < 256 * 1024, `peak RSS ${rss?.[1]} KB`);
  }
  const nd = await countLines(`${tmp}/big.ndjson`);
  assert.equal(nd.lines, packets);
  assert.equal(JSON.parse(nd.first).frame, 1);
  const csv = await countLines(`${tmp}/big.csv`);
  assert.equal(csv.first, PACKET_COLUMNS.join(","), "CSV header line");
  assert.equal(csv.lines, packets + 1);
  await Promise.all(["big.pcap", "big.ndjson", "big.csv"].map((f) => Deno.remove(`${tmp}/${f}`)));
});

// ---------------------------------------------------------------------------------------------
// Format from the file name

Deno.test("export format follows the extension; an unknown one needs --export-format (exit 2)", async () => {
  const file = corpusFile("mptcp-v1.pcap");
  const p = (n: string) => `${tmp}/fmt-${n}`;
  const names = ["a.json", "a.ndjson", "a.jsonl", "a.csv", "a.CSV"];
  const [unknown, forced, noPath, ...runs] = await Promise.all([
    runCli(["read", file, "-q", "--export", p("a.txt")]),
    runCli(["read", file, "-q", "--export", p("b.txt"), "--export-format", "ndjson"]),
    runCli(["read", file, "-q", "--export-format", "csv"]),
    ...names.map((n) => runCli(["read", file, "-q", "--export", p(n)])),
  ]);
  for (const r of [forced, ...runs]) assert.equal(r.code, 0, r.stderr);
  const rows = ndjson(await Deno.readTextFile(p("a.ndjson")));
  assert.equal(rows.length, 20);
  assert.deepEqual(ndjson(await Deno.readTextFile(p("a.jsonl"))), rows);
  assert.deepEqual(ndjson(await Deno.readTextFile(p("b.txt"))), rows);
  assert.deepEqual(JSON.parse(await Deno.readTextFile(p("a.json"))), rows);
  assertCsvMatches(await Deno.readTextFile(p("a.csv")), rows, PACKET_COLUMNS, "a.csv");
  assertCsvMatches(await Deno.readTextFile(p("a.CSV")), rows, PACKET_COLUMNS, "a.CSV");

  assert.equal(unknown.code, 2, unknown.stderr);
  assert.match(unknown.stderr, /a\.txt.*--export-format/);
  await assert.rejects(Deno.stat(p("a.txt")), Deno.errors.NotFound, "nothing written on a usage error");
  assert.equal(noPath.code, 2, noPath.stderr);
  assert.match(noPath.stderr, /--export PATH/);
});
