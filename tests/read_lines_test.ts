// `read --lines` against tshark's and tcpdump's views of the same captures: every line's time,
// addresses, ports, protocol and length as tshark reads them; -X and -A dumps as tcpdump prints
// the same packets; -c, --compact, the header row, and the processes a pcapng's comments note.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { corpusFile } from "./helpers/corpus.ts";
import { runCli } from "./helpers/run_cli.ts";
import { run, wiresightArgs } from "./helpers/cli.ts";
import { tsharkView } from "./helpers/tshark.ts";

/** Times of day in UTC, so they compare with tshark's epoch seconds whatever the machine's zone. */
const ENV = { TZ: "UTC", NO_COLOR: "1" };

async function lines(args: string[]): Promise<string[]> {
  const r = await runCli(["read", ...args, "--lines"], { env: ENV });
  assertEquals(r.code, 0, r.stderr);
  return r.stdout.replace(/\n$/, "").split("\n");
}

/** "HH:MM:SS.uuuuuu" (UTC) of tshark's "1084443427.311224000". */
function timeOfDay(epoch: string): string {
  const [sec, frac] = epoch.split(".");
  const d = new Date(Number(sec) * 1000);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}.${frac.slice(0, 6)}`;
}

function endpoint(addr: string, port: number | undefined): string {
  if (port === undefined) return addr;
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** The first eight columns of a full line (they never hold a space). */
function columns(line: string) {
  const [time, dir, proto, flags, src, dst, size, service] = line.split(/\s+/);
  return { time, dir, proto, flags, src, dst, size, service };
}

const HEADER = /^Time\s+Dir\s+Proto\s+Flags\s+Source\s+Destination\s+Size\s+Service\s+Process\s+Application$/;

// IPv4 TCP with HTTP, DNS over UDP and TCP, IPv6 on a raw link, ICMP and ICMPv6.
const CAPTURES = [
  "sv-http-all-headers.pcap",
  "dns_udp.pcap",
  "dns_tcp.pcap",
  "LINKTYPE_IPV6.pcap",
  "icmp-rfc5837.pcap",
  "icmpv6-ns-nonce.pcap",
];

for (const name of CAPTURES) {
  Deno.test(`read --lines: ${name}, every line as tshark reads the packet`, async () => {
    const path = corpusFile(name);
    const [header, ...packets] = await lines([path]);
    assert(HEADER.test(header), header);
    const { frames } = await tsharkView(path);
    assert(frames.length > 0, "tshark read no frames");
    assertEquals(packets.length, frames.length, "one line per packet");
    for (const [i, f] of frames.entries()) {
      const c = columns(packets[i]);
      const what = `frame ${f.number}: ${packets[i]}`;
      assertEquals(c.time, timeOfDay(f.timeEpoch), what);
      assertEquals(c.size, String(f.len), what);
      assertEquals(c.src, endpoint(f.src, f.srcPort), what);
      assertEquals(c.dst, endpoint(f.dst, f.dstPort), what);
      assert(f.protocols.includes(c.proto.toLowerCase()), `${what}: ${f.protocols.join(":")}`);
      assertEquals(c.flags.startsWith("["), c.proto === "TCP", what);
      // No comments in these files: no direction, no process.
      assertEquals([c.dir, packets[i].split(/\s+/)[8]], ["-", "-"], what);
    }
  });
}

Deno.test("read --lines -c N: the first N lines, then reading stops", async () => {
  const path = corpusFile("sv-http-all-headers.pcap");
  const all = await lines([path]);
  assertEquals(await lines([path, "-c", "3"]), all.slice(0, 4));
  assertEquals(await lines([path, "-c", "1000"]), all);
});

Deno.test("read --lines --compact: one line per packet, no header, unless a payload flag asks", async () => {
  const path = corpusFile("sv-http-all-headers.pcap");
  const { frames } = await tsharkView(path);
  const compact = await lines([path, "--compact"]);
  assertEquals(compact.length, frames.length);
  for (const [i, l] of compact.entries()) {
    assert(l.startsWith(timeOfDay(frames[i].timeEpoch).slice(0, 12) + " "), l);
  }
  // -X asks for the payload: the dump lines come under the packets that carry one.
  const dumped = await lines([path, "--compact", "-X"]);
  assertEquals(dumped.filter((l) => !l.startsWith("\t")), compact);
  assert(dumped.length > compact.length);
});

/** tcpdump's output split per packet: the text under each packet's line. */
function blocks(text: string, start: RegExp): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    if (start.test(line)) out.push("");
    else if (out.length) out[out.length - 1] += (out.at(-1) ? "\n" : "") + line;
  }
  return out.map((b) => b.replace(/\n+$/, ""));
}

const TCPDUMP_LINE = /^\d\d:\d\d:\d\d\.\d{6} IP/;
const OUR_LINE = /^\d\d:\d\d:\d\d\.\d{6} /;
/** A row of tcpdump -X: offset, up to 8 groups of hex, the ASCII column. */
const HEX_ROW = /^\t0x([0-9a-f]{4}): ( (?:[0-9a-f]{4} )*[0-9a-f]{2,4}) +(\S{1,16})$/;

function rowBytes(block: string): number[] {
  const bytes: number[] = [];
  for (const row of block.split("\n").filter((l) => l)) {
    const m = row.match(HEX_ROW);
    assert(m, `not a tcpdump -X row: ${JSON.stringify(row)}`);
    // The ASCII column starts where tcpdump's does: after a tab, "0x0010: ", 40 characters of hex.
    assertEquals(row.length - m[3].length, 1 + 8 + 40 + 2, row);
    assertEquals(parseInt(m[1], 16), bytes.length % 65536, row);
    for (const h of m[2].replace(/ /g, "").match(/../g)!) bytes.push(parseInt(h, 16));
  }
  return bytes;
}

/** Payload bytes of each frame of the capture, as tshark counts them. */
async function payloadLengths(path: string): Promise<number[]> {
  const r = await run("tshark", ["-n", "-r", path, "-T", "fields", "-e", "tcp.len"]);
  return r.stdout.trim().split("\n").map(Number);
}

Deno.test("read --lines -X: the payload's bytes and rows as tcpdump -X prints them", async () => {
  const path = corpusFile("sv-http-all-headers.pcap");
  const ours = blocks((await lines([path, "-X"])).slice(1).join("\n"), OUR_LINE);
  const theirs = blocks((await run("tcpdump", ["-n", "-r", path, "-X"])).stdout, TCPDUMP_LINE);
  const payloads = await payloadLengths(path);
  assertEquals(ours.length, theirs.length);
  let dumped = 0;
  for (const [i, block] of ours.entries()) {
    const bytes = rowBytes(block), packet = rowBytes(theirs[i]);
    // tcpdump dumps from the IP header; wiresight the payload after the headers its columns show.
    assertEquals(bytes.length, payloads[i], `frame ${i + 1}`);
    assertEquals(bytes, packet.slice(packet.length - bytes.length), `frame ${i + 1}`);
    if (bytes.length) dumped++;
  }
  assert(dumped >= 10, `${dumped} payloads`);
});

Deno.test("read --lines -A: the payload as text, as tcpdump -A prints it", async () => {
  const path = corpusFile("sv-http-all-headers.pcap");
  const ours = blocks((await lines([path, "-A"])).slice(1).join("\n"), OUR_LINE);
  const theirs = blocks((await run("tcpdump", ["-n", "-r", path, "-A"])).stdout, TCPDUMP_LINE);
  const payloads = await payloadLengths(path);
  assertEquals(ours.length, theirs.length);
  for (const [i, block] of ours.entries()) {
    assertEquals(block === "", payloads[i] === 0, `frame ${i + 1}: ${block}`);
    assert(theirs[i].endsWith(block), `frame ${i + 1}: ${JSON.stringify(block)} ends ${theirs[i]}`);
  }
  assert(
    ours[3].startsWith("GET /download.html HTTP/1.1\nHost: www.ethereal.com\nUser-Agent: Mozilla/5.0"),
    ours[3],
  );
});

Deno.test("read --lines: Dir and Process from a wiresight pcapng's packet comments", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_lines_" });
  try {
    // Comments written by editcap, as capture --write notes processes.
    const noted = `${dir}/noted.pcapng`;
    const r = await run("editcap", [
      "-a",
      "1:wiresight process role=sent pid=4242 name=curl exe=/usr/bin/curl user=alice",
      "-a",
      "2:wiresight process role=received pid=4242 name=curl",
      "-a",
      "4:wiresight process role=sent pid=7 name=Web Content peer_pid=80 peer_name=nginx",
      "-a",
      "5:a comment of someone else",
      corpusFile("sv-http-all-headers.pcap"),
      noted,
    ]);
    assertEquals(r.code, 0, r.stderr);
    const packets = (await lines([noted, "-c", "5"])).slice(1);
    const expected = [
      ["OUT", "curl(4242)"],
      ["IN", "curl(4242)"],
      ["-", "-"],
      ["LOCAL", "Web Content(7)>nginx(80)"],
      ["-", "-"],
    ];
    assertEquals(packets.length, expected.length);
    for (const [i, [dir, process]] of expected.entries()) {
      assertEquals(columns(packets[i]).dir, dir, packets[i]);
      // Process follows the eight columns (a name may hold a space), then the application.
      const rest = packets[i].match(/^(?:\S+\s+){8}(.*)$/)![1];
      assert(rest === process || rest.startsWith(process + " "), packets[i]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("read: line options without --lines, and clashes on stdout, are usage errors", async () => {
  const path = corpusFile("dns_udp.pcap");
  const cases: [string[], string][] = [
    [["-c", "3"], "only with --lines"],
    [["-X"], "only with --lines"],
    [["--lines", "-X", "-A"], "cannot be combined"],
    [["--lines", "--export", "-", "--export-format", "ndjson"], "--lines writes to stdout"],
    [["--lines", "-c", "2", "--report", "text"], "drop -c"],
    [["--lines", "-c", "0"], "--count takes"],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(["read", path, ...args], { env: ENV });
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert(r.stderr.includes(message), `${args.join(" ")}: ${r.stderr}`);
    assertEquals(r.stdout, "", args.join(" "));
  }
});

Deno.test("read --lines --report text: the lines alone on stdout, the report on stderr", async () => {
  const path = corpusFile("dns_udp.pcap");
  const r = await runCli(["read", path, "--lines", "--report", "text"], { env: ENV });
  assertEquals(r.code, 0, r.stderr);
  const { frames } = await tsharkView(path);
  assertEquals(r.stdout.trim().split("\n").length, frames.length + 1);
  assert(r.stderr.includes("wiresight report"), r.stderr);
});

Deno.test("read --lines | head: the reader going away ends reading quietly", async () => {
  // Its lines and dumps outgrow a pipe's buffer: wiresight is writing when head has gone.
  const path = corpusFile("afs.pcap");
  const [deno, args] = wiresightArgs(["read", path, "--lines", "-X"]);
  const r = await run("bash", ["-o", "pipefail", "-c", `"$0" "$@" | head -2`, deno, ...args], { env: ENV });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "");
  assertEquals(r.stdout.split("\n").length, 3);
});

Deno.test("read --lines on a file that is no capture: no header, the error on stderr, exit 1", async () => {
  const notCapture = corpusFile("sv-http-all-headers.pcap").replace(/[^/]+$/, "SOURCES.md");
  const r = await runCli(["read", notCapture, "--lines"], { env: ENV });
  assertEquals([r.code, r.stdout], [1, ""], r.stderr);
  assert(r.stderr.includes("not a pcap or pcapng"), r.stderr);
});
