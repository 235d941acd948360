// The packet lines of `wiresight capture` checked field by field against tshark (root). curl and
// dig, each from a local port the test picks, talk to real servers in a second namespace while
// four captures run side by side (full lines, --compact, -v with --max-payload, the default
// payload dump in tcpdump -X rows); each line is compared with tshark's reading of the pcapng the
// same run wrote: time (local, TZ set), direction, protocol, TCP flags, endpoints, size, service
// (/etc/services), process (the pid the test started), application message. Then colours and the
// header row (only on a terminal, never with NO_COLOR or --no-color) and text from the wire that
// tries to drive the terminal.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { tsharkFields } from "../helpers/app.ts";
import { MAIN } from "../helpers/cli.ts";
import type { NetPair } from "../helpers/netns.ts";
import { captureLoopback } from "../helpers/capture.ts";
import {
  client,
  clientAddresses,
  curl,
  dig,
  LiveWiresight,
  readBack,
  waitPcapngPackets,
  waitTcpQuiet,
  withLab,
} from "../helpers/live.ts";
import { waitForText } from "../helpers/wait.ts";

/** Not UTC, and not a whole-hour offset: local time has to be right to the minute. */
const TZ = "Asia/Kolkata";

interface Expected {
  time: string;
  dir: string;
  proto: string;
  flags: string;
  src: string;
  dst: string;
  size: number;
  service: string;
  process: string;
  app: string;
  /** For -v: TTL, IP length, payload length, and TCP's raw numbers. */
  ttl: string;
  ipLen: string;
  payloadLen: number;
  tcp: { seq: string; ack: string; win: string } | null;
  payloadHex: string;
  exe: string | null;
}

const FIELDS = [
  "frame.time",
  "frame.len",
  "frame.protocols",
  "ip.src",
  "ip.dst",
  "ip.ttl",
  "ip.len",
  "ipv6.src",
  "ipv6.dst",
  "ipv6.hlim",
  "tcp.srcport",
  "tcp.dstport",
  "udp.srcport",
  "udp.dstport",
  "tcp.stream",
  "udp.stream",
  "tcp.flags.fin",
  "tcp.flags.syn",
  "tcp.flags.reset",
  "tcp.flags.push",
  "tcp.flags.ack",
  "tcp.flags.urg",
  "tcp.flags.ece",
  "tcp.flags.cwr",
  "tcp.flags.ae",
  "tcp.seq_raw",
  "tcp.ack_raw",
  "tcp.window_size_value",
  "tcp.len",
  "udp.length",
  "tcp.payload",
  "udp.payload",
  "dns.flags.response",
  "dns.flags.rcode",
  "dns.qry.name",
  "dns.qry.type",
  "http.request.method",
  "http.host",
  "http.request.uri",
  "http.response.code",
];

/** The DNS numbers the test's queries use (tshark prints them as numbers in -T fields). */
const DNS_TYPES: Record<string, string> = { "1": "A", "28": "AAAA" };
const RCODES: Record<string, string> = { "0": "NOERROR", "3": "NXDOMAIN", "5": "REFUSED" };
/** Where wiresight's service names depart from /etc/services (the usual name over IANA's). */
const SERVICE_ALIASES: Record<string, string> = { domain: "dns" };

/** What the test knows on its own: the client side's addresses and who used which local port. */
interface Known {
  local: Set<string>;
  ports: Map<number, { name: string; pid: number; exe: string }>;
}

const services = new Map<string, string>();
async function serviceOf(proto: string, port: number): Promise<string | null> {
  const key = `${port}/${proto}`;
  if (!services.has(key)) {
    const out = await new Deno.Command("getent", { args: ["services", key], stdout: "piped" }).output();
    const name = new TextDecoder().decode(out.stdout).split(/\s+/)[0];
    services.set(key, name ? SERVICE_ALIASES[name] ?? name : "");
  }
  return services.get(key) || null;
}

/** tshark's reading of a pcapng, as the fields a line shows. */
async function expectedLines(pcapng: string, known: Known): Promise<Expected[]> {
  const rows = await tsharkFields(pcapng, "frame", FIELDS, [
    "-o",
    "http.desegment_body:FALSE",
  ], { TZ });
  /** Streams whose first application message went by (later packets carry its name). */
  const named = new Map<string, string>();
  const out: Expected[] = [];
  for (const row of rows) {
    const f = Object.fromEntries(FIELDS.map((name, i) => [name, row.values[i][0] ?? ""]));
    const protocols = f["frame.protocols"].split(":");
    const proto = protocols.includes("tcp")
      ? "TCP"
      : protocols.includes("udp")
      ? "UDP"
      : protocols.includes("icmpv6")
      ? "ICMPv6"
      : protocols.includes("arp")
      ? "ARP"
      : protocols.at(-1)!.toUpperCase();
    const v6 = f["ipv6.src"] !== "";
    const src = v6 ? f["ipv6.src"] : f["ip.src"], dst = v6 ? f["ipv6.dst"] : f["ip.dst"];
    const l4 = proto === "TCP" ? "tcp" : "udp";
    const sport = Number(f[`${l4}.srcport`]) || null, dport = Number(f[`${l4}.dstport`]) || null;
    const at = (a: string, p: number | null) => (p === null ? a : v6 ? `[${a}]:${p}` : `${a}:${p}`);
    const srcLocal = known.local.has(src), dstLocal = known.local.has(dst);
    const dir = srcLocal && dstLocal ? "LOCAL" : srcLocal ? "OUT" : dstLocal ? "IN" : "FWD";
    const flagNames = ["fin", "syn", "reset", "push", "ack", "urg", "ece", "cwr", "ae"];
    const flags = proto === "TCP"
      ? `[${flagNames.map((n, i) => (f[`tcp.flags.${n}`] === "1" ? "FSRPAUECN"[i] : "")).join("")}]`
      : "";
    let service = "-";
    if (sport !== null && dport !== null) {
      const [low, high] = sport < dport ? [sport, dport] : [dport, sport];
      service = (await serviceOf(l4, low)) ?? (await serviceOf(l4, high)) ?? "-";
    }
    const localPort = srcLocal ? sport : dstLocal ? dport : null;
    const owner = localPort === null ? undefined : known.ports.get(localPort);
    const stream = `${l4} ${f[`${l4}.stream`]}`;
    let app = named.get(stream) ?? "";
    if (f["dns.qry.name"]) {
      const q = `${DNS_TYPES[f["dns.qry.type"]]}? ${f["dns.qry.name"]}`;
      app = f["dns.flags.response"] === "1" ? `DNS ${RCODES[f["dns.flags.rcode"]]} ${q}` : `DNS ${q}`;
      named.set(stream, "DNS");
    } else if (f["http.request.method"]) {
      app = `HTTP ${f["http.request.method"]} ${f["http.host"]}${f["http.request.uri"]}`;
      named.set(stream, "HTTP");
    } else if (f["http.response.code"]) {
      app = `HTTP ${f["http.response.code"]}`;
      named.set(stream, "HTTP");
    }
    // "Nov 24, 2026 00:19:04.884054744 IST": the time of day, to the microsecond.
    const time = f["frame.time"].match(/(\d\d:\d\d:\d\d\.\d{6})/)![1];
    out.push({
      time,
      dir,
      proto,
      flags,
      src: at(src, sport),
      dst: at(dst, dport),
      size: Number(f["frame.len"]),
      service,
      process: owner ? `${owner.name}(${owner.pid})` : "-",
      app,
      ttl: v6 ? f["ipv6.hlim"] : f["ip.ttl"],
      ipLen: f["ip.len"],
      payloadLen: proto === "TCP" ? Number(f["tcp.len"]) : proto === "UDP" ? Number(f["udp.length"]) - 8 : 0,
      tcp: proto === "TCP"
        ? { seq: f["tcp.seq_raw"], ack: f["tcp.ack_raw"], win: f["tcp.window_size_value"] }
        : null,
      payloadHex: f["tcp.payload"] || f["udp.payload"],
      exe: owner?.exe ?? null,
    });
  }
  return out;
}

const LINE =
  /^(\d\d:\d\d:\d\d\.\d{6}) (\S+)\s+(\S+)\s+(\[[A-Z]*\]|-)\s+(\S+)\s+(\S+)\s+(\d+) (\S+)\s+(\S+)(?:\s+(.*))?$/;
const COMPACT =
  /^(\d\d:\d\d:\d\d\.\d{3}) (\S+) (\S+) (?:(\[[A-Z]*\]) )?(\S+) > (\S+) (\d+) (\S+) (\S+)(?: (.*))?$/;

/** A packet line, with the lines under it (verbose detail, payload dump). */
interface Printed {
  fields: string[];
  detail: string[];
}

function printedPackets(stdout: string, re: RegExp): Printed[] {
  const out: Printed[] = [];
  for (const line of stdout.split("\n")) {
    if (line === "" || line.startsWith("    ") || line.startsWith("\t")) {
      if (line) out.at(-1)!.detail.push(line);
      continue;
    }
    if (line.startsWith("wiresight report")) break;
    const m = line.match(re);
    assert(m, `not a packet line: ${JSON.stringify(line)}`);
    out.push({ fields: m.slice(1).map((x) => x ?? ""), detail: [] });
  }
  return out;
}

function summary(e: Expected, compact: boolean): string[] {
  return [
    compact ? e.time.slice(0, 12) : e.time,
    e.dir,
    e.proto,
    // Full lines say "-" for no flags, so that every column is a word.
    compact ? e.flags : e.flags || "-",
    e.src,
    e.dst,
    String(e.size),
    e.service,
    e.process,
    e.app,
  ];
}

/**
 * The hex dump lines of `hex` as tcpdump -X prints them (print-ascii.c): a tab, "0x0010: ", the
 * bytes in groups of two padded to 40 characters, two spaces, graphic ASCII (others as ".").
 */
function dumpOf(hex: string, max: number): string[] {
  const bytes = (hex.match(/../g) ?? []).slice(0, max);
  const lines: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const row = bytes.slice(off, off + 16);
    const h = (row.join("").match(/.{1,4}/g) ?? []).map((g) => " " + g).join("").padEnd(40);
    const a = row.map((b) => parseInt(b, 16)).map((b) => (b > 32 && b < 127 ? String.fromCharCode(b) : "."))
      .join("");
    lines.push(`\t0x${off.toString(16).padStart(4, "0")}: ${h}  ${a}`);
  }
  return lines;
}

async function known(net: NetPair, runs: { name: string; pid: number; port: number; exe: string }[]) {
  return { local: await clientAddresses(net), ports: new Map(runs.map((r) => [r.port, r])) };
}

Deno.test("capture lines: every field of every packet as tshark reads the same run's pcapng", () =>
  withLab("wiresight_lines_", async (net, dir) => {
    const modes = {
      full: ["--no-payload"],
      // --compact alone: one line per packet, no payload dump.
      compact: ["--compact"],
      verbose: ["-v", "--max-payload", "20"],
      payload: [],
    };
    const runs = await Promise.all(
      Object.entries(modes).map(async ([mode, extra]) => ({
        mode,
        ws: await LiveWiresight.start(net.client, [
          "-i",
          net.clientIf,
          "--report",
          "none",
          "--write",
          `${dir}/${mode}.pcapng`,
          ...extra,
        ], { NO_COLOR: "1", TZ }),
      })),
    );
    // What the interface carried, for knowing when each capture has seen all of it.
    const reference = await captureLoopback(dir, "reference.pcap", "", net.client, net.clientIf);
    const clients: { name: string; pid: number; port: number; exe: string }[] = [];
    for (const [i, name] of ["app.lab.test", "www.lab.test"].entries()) {
      const port = 42100 + i;
      const { pid, stdout } = await dig(net, port, name);
      assertEquals(stdout.trim(), name === "app.lab.test" ? "10.77.0.2" : "10.77.0.10");
      clients.push({ name: "dig", pid, port, exe: "/usr/bin/dig" });
    }
    for (let i = 0; i < 2; i++) {
      const port = 42000 + i;
      clients.push({ name: "curl", pid: (await curl(net, port)).pid, port, exe: "/usr/bin/curl" });
    }
    await waitTcpQuiet(net.client, net.server);
    await reference.stop();
    const { packets: sent } = await readBack(reference.path);
    // A capture that never gets there fails below, with what it lacks.
    await Promise.all(
      runs.map(({ mode }) => waitPcapngPackets(`${dir}/${mode}.pcapng`, sent).catch(() => {})),
    );
    const k = await known(net, clients);
    for (const { mode, ws } of runs) {
      const r = await ws.stop();
      assertEquals(r.code, 0, r.stderr);
      const expected = await expectedLines(`${dir}/${mode}.pcapng`, k);
      assert(expected.filter((e) => e.process.startsWith("curl")).length >= 20, `${mode}: too few packets`);
      const printed = printedPackets(r.stdout, mode === "compact" ? COMPACT : LINE);
      assertEquals(printed.length, expected.length, `${mode}: one line per packet`);
      for (const [i, e] of expected.entries()) {
        const p = printed[i];
        assertEquals(p.fields, summary(e, mode === "compact"), `${mode}, packet ${i + 1}`);
        const payload = mode === "verbose" ? 20 : mode === "payload" ? 64 : 0;
        const dump = dumpOf(e.payloadHex, payload);
        if (mode === "verbose") {
          const [detail, ...rest] = p.detail;
          assertVerbose(detail, e, `packet ${i + 1}`);
          assertEquals(rest, dump, `${mode}, packet ${i + 1}`);
        } else assertEquals(p.detail, dump, `${mode}, packet ${i + 1}`);
      }
    }
  }));

/** "flow N  ttl T  len L  payload P  seq S  ack A  win W  exe E  user U" against tshark. */
function assertVerbose(detail: string, e: Expected, what: string): void {
  assert(detail, `${what}: no -v line`);
  const kv = new Map<string, string>();
  for (const m of detail.trim().matchAll(/(\w+) (\S+)/g)) kv.set(m[1], m[2]);
  if (e.ipLen) assertEquals([kv.get("ttl"), kv.get("len")], [e.ttl, e.ipLen], `${what}: ${detail}`);
  if (e.proto === "TCP" || e.proto === "UDP") assertEquals(kv.get("payload"), String(e.payloadLen), what);
  if (e.tcp) {
    assertEquals([kv.get("seq"), kv.get("ack"), kv.get("win")], [e.tcp.seq, e.tcp.ack, e.tcp.win], what);
  }
  assertEquals(kv.get("exe") ?? null, e.exe, `${what}: ${detail}`);
  if (e.exe) assertEquals(kv.get("user"), "root", what);
}

/** Runs wiresight capture on a pseudo-terminal (script), so its stdout is a terminal. */
async function onTerminal(net: NetPair, args: string[], env: string[], work: () => Promise<void>) {
  const deno = Deno.execPath();
  const command = [
    "ip netns exec",
    net.client,
    "env -u NO_COLOR",
    ...env,
    deno,
    "run --allow-all",
    MAIN,
    "capture",
    ...args,
  ].join(" ");
  const proc = new Deno.Command("script", {
    args: ["-qfec", command, "/dev/null"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const reading = (async () => {
    for await (const chunk of proc.stdout) text += new TextDecoder().decode(chunk);
  })();
  await waitForText("wiresight to capture on the terminal", () => text, "capturing on");
  await work();
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const status = await proc.status;
  clearTimeout(timer);
  await reading;
  await proc.stdin.close().catch(() => {});
  return { code: status.code, text };
}

const HEADER = /^Time\s+Dir\s+Proto\s+Flags\s+Source\s+Destination\s+Size\s+Service\s+Process\s+Application$/;
// deno-lint-ignore no-control-regex
const SGR = /\x1b\[[0-9;]*m/g;
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;

Deno.test("capture colours: on a terminal only, never with NO_COLOR or --no-color", () =>
  withLab("wiresight_colours_", async (net) => {
    const args = ["-i", net.clientIf, "-f", "tcp", "-c", "8", "--no-payload", "--report", "none"];
    let port = 42200;
    const traffic = async () => void (await curl(net, port++));
    const coloured = await onTerminal(net, args, [], traffic);
    assertEquals(coloured.code, 0, coloured.text);
    const lines = coloured.text.split(/\r?\n/).filter((l) => l.includes("TCP"));
    assertEquals(lines.length, 8, coloured.text);
    // TCP's colour (blue, 34), or HTTP's (94) once the flow said it was HTTP.
    // deno-lint-ignore no-control-regex
    for (const l of lines) assert(/^\x1b\[(34|94)m.*\x1b\[0m$/.test(l), JSON.stringify(l));
    // A header row names the columns on a terminal, before the first packet's line.
    const header = coloured.text.split(/\r?\n/).findIndex((l) => HEADER.test(l));
    assert(header >= 0 && header < coloured.text.split(/\r?\n/).indexOf(lines[0]), coloured.text);
    const plainCases: [string, string[], string[]][] = [
      ["NO_COLOR=1", ["NO_COLOR=1"], []],
      ["--no-color", [], ["--no-color"]],
    ];
    for (const [what, env, extra] of plainCases) {
      const plain = await onTerminal(net, [...args, ...extra], env, traffic);
      assertEquals(plain.code, 0, plain.text);
      assert(!plain.text.includes("\x1b["), `${what}: ${JSON.stringify(plain.text)}`);
      assertEquals(plain.text.split(/\r?\n/).filter((l) => l.includes("TCP")).length, 8, what);
    }
    // Not a terminal (a pipe), NO_COLOR unset: plain.
    const ws = await LiveWiresight.start(net.client, args, {});
    await traffic();
    const piped = await ws.exited();
    assertEquals(piped.code, 0, piped.stderr);
    assert(!piped.stdout.includes("\x1b["), JSON.stringify(piped.stdout));
    assert(!piped.stdout.split("\n").some((l) => HEADER.test(l)), "a header row in a pipe");
  }));

Deno.test("capture lines: text from the wire never reaches the terminal raw", () =>
  withLab("wiresight_escape_", async (net, dir) => {
    // An HTTP request whose URI and Host hold escape sequences and a bell, and a DNS name with ESC.
    const request = "GET /\x1b[2J\x1b]0;pwned\x07 HTTP/1.1\r\nHost: evil\x1b[31m.test\r\n\r\n";
    await Deno.writeTextFile(`${dir}/request.txt`, request);
    const work = async () => {
      await client(net, "sh", [
        "-c",
        `exec nc -w 2 ${net.serverAddr} 8080 < ${dir}/request.txt > /dev/null`,
      ]);
      await client(net, "dig", ["+tries=1", `@${net.serverAddr}`, "\\027[31mred.lab.test"]);
    };
    const args = ["-i", net.clientIf, "--report", "none"];
    const ws = await LiveWiresight.start(net.client, args);
    await work();
    // Both lines printed before it is stopped.
    await ws.waitForStdout("the HTTP line", "HTTP GET evil");
    await ws.waitForStdout("the DNS line", /DNS .*red\.lab\.test/);
    const plain = await ws.stop();
    assertEquals(plain.code, 0, plain.stderr);
    assert(!CONTROL.test(plain.stdout), JSON.stringify(plain.stdout));
    assert(plain.stdout.includes("HTTP GET evil\\x1b[31m.test/\\x1b[2J\\x1b]0;pwned\\x07"), plain.stdout);
    assert(/DNS (NXDOMAIN |REFUSED )?A\? \S*red\.lab\.test/.test(plain.stdout), plain.stdout);
    // On a terminal with colours: only wiresight's own colour codes are there.
    const coloured = await onTerminal(net, [...args, "-t", "4"], [], work);
    assertEquals(coloured.code, 0, coloured.text);
    assert(coloured.text.includes("\x1b["), "no colour on the terminal");
    const rest = coloured.text.replace(SGR, "").replaceAll("\r\n", "\n");
    assert(!CONTROL.test(rest), JSON.stringify(rest));
  }));
