// The command line as users run it: a `deno run` subprocess with the wiresight task's permissions.
// Exit codes: 0 ok, 1 runtime error, 2 usage error.
import { deepStrictEqual as assertEquals, match as assertMatch, ok as assert } from "node:assert/strict";
import { corpusFile } from "./helpers/corpus.ts";
import { READ_OPTIONS } from "../src/cli/read.ts";
import { assertIncludes, capinfos, REPO, run, SAMPLE, spawnWiresight, wiresight } from "./helpers/cli.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_cli_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The options `read` accepts (its parseArgs table), so a new option must reach the help. */
function readOptions(): { name: string; short?: string }[] {
  return Object.entries(READ_OPTIONS).map(([name, o]) => ({ name, short: o.short }));
}

Deno.test("--help and -h print the commands and options, exit 0", async () => {
  for (const flag of ["--help", "-h"]) {
    const r = await wiresight([flag]);
    assertEquals(r.code, 0, flag);
    assertEquals(r.stderr, "");
    for (const text of ["Usage: wiresight COMMAND", "read FILE...", "-h, --help", "-V, --version"]) {
      assertIncludes(r.stdout, text);
    }
  }
});

Deno.test("read --help mentions every option read accepts", async () => {
  const options = readOptions();
  assert(options.length >= 15, `parsed only ${options.length} options from read.ts`);
  const r = await wiresight(["read", "--help"]);
  assertEquals(r.code, 0);
  assertIncludes(r.stdout, "Usage: wiresight read FILE...");
  for (const { name, short } of options) {
    assertIncludes(r.stdout, short ? `-${short}, --${name}` : `--${name}`);
  }
});

Deno.test("--version and -V print the version", async () => {
  const { VERSION } = await import("../src/version.ts");
  for (const flag of ["--version", "-V"]) {
    const r = await wiresight([flag]);
    assertEquals([r.code, r.stdout, r.stderr], [0, `wiresight ${VERSION}\n`, ""], flag);
  }
});

Deno.test("no command: help on stdout, exit 2", async () => {
  const r = await wiresight([]);
  assertEquals(r.code, 2);
  assertIncludes(r.stdout, "Usage: wiresight COMMAND");
});

Deno.test("unknown command or option: exit 2, message and a pointer to --help on stderr", async () => {
  const command = await wiresight(["frobnicate"]);
  assertEquals([command.code, command.stdout], [2, ""]);
  assertIncludes(command.stderr, "unknown command 'frobnicate'");
  assertIncludes(command.stderr, "Try 'wiresight --help'");

  const flag = await wiresight(["read", "--frobnicate", SAMPLE]);
  assertEquals([flag.code, flag.stdout], [2, ""]);
  assertIncludes(flag.stderr, "--frobnicate");
  assertIncludes(flag.stderr, "Try 'wiresight read --help'");
});

Deno.test("a bad BPF filter is a usage error, before any reading", async () => {
  const r = await wiresight(["read", SAMPLE, "-f", "tcp port"]);
  assertEquals([r.code, r.stdout], [2, ""]);
  assertIncludes(r.stderr, "invalid BPF filter 'tcp port'");
});

Deno.test("missing file: exit 1, says there is no such file", async () => {
  const r = await wiresight(["read", `${REPO}/samples/no-such-capture.pcap`]);
  assertEquals([r.code, r.stdout], [1, ""]);
  assertIncludes(r.stderr, "no-such-capture.pcap: no such file");
});

Deno.test("a directory: exit 1, says so", async () => {
  const r = await wiresight(["read", `${REPO}/samples`]);
  assertEquals([r.code, r.stdout], [1, ""]);
  assertIncludes(r.stderr, "is a directory");
});

Deno.test("not a capture: exit 1, says it is not pcap/pcapng", async () => {
  // A text file whose first bytes are nothing like a pcap or pcapng header.
  const r = await wiresight(["read", `${REPO}/samples/README.md`]);
  assertEquals(r.code, 1);
  assertIncludes(r.stderr, "is not a pcap or pcapng capture");
});

Deno.test("empty files: 0 bytes is an error, a header without packets an empty report", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/zero.pcap`, new Uint8Array(0));
    const zero = await wiresight(["read", `${dir}/zero.pcap`]);
    assertEquals(zero.code, 1);
    assertIncludes(zero.stderr, "zero.pcap is empty");
  });
  const header = await wiresight(["read", corpusFile("empty.pcapng"), "--report", "json"]);
  assertEquals(header.code, 0);
  const report = JSON.parse(header.stdout);
  assertEquals([report.packets, report.flows, report.start, report.warnings], [0, 0, null, []]);
});

Deno.test("a capture cut short at the end: exit 0, report of the whole packets, warning", async () => {
  await withTempDir(async (dir) => {
    // 20 bytes off the end: the last packet block is incomplete, the 191 before it are whole.
    const bytes = await Deno.readFile(SAMPLE);
    await Deno.writeFile(`${dir}/cut.pcapng`, bytes.subarray(0, bytes.length - 20));
    const total = (await capinfos(SAMPLE)).packets;
    const r = await wiresight(["read", `${dir}/cut.pcapng`]);
    assertEquals(r.code, 0);
    assertMatch(r.stdout, new RegExp(`^  Packets +${total - 1} `, "m"));
    assertMatch(r.stderr, /^wiresight: warning: .*cut\.pcapng was cut short in the middle of a packet/m);
  });
});

Deno.test("a corrupt record mid-file: exit 1, report of the packets before it", async () => {
  await withTempDir(async (dir) => {
    // Classic pcap: give record 50 an impossible captured length (2 GiB).
    const bytes = await Deno.readFile(corpusFile("gen_http_methods.pcap"));
    const dv = new DataView(bytes.buffer);
    let offset = 24;
    for (let i = 1; i < 50; i++) offset += 16 + dv.getUint32(offset + 8, true);
    dv.setUint32(offset + 8, 0x7fffffff, true);
    await Deno.writeFile(`${dir}/corrupt.pcap`, bytes);

    const r = await wiresight(["read", `${dir}/corrupt.pcap`, "--report", "json"]);
    assertEquals(r.code, 1);
    const report = JSON.parse(r.stdout);
    assertEquals(report.packets, 49);
    assertIncludes(report.files[0].problem, `corrupt packet record (at byte ${offset})`);
    assertIncludes(r.stderr, "corrupt.pcap has a corrupt packet record");
  });
});

Deno.test("an unsupported link type: counted, not decoded, warning, exit 0", async () => {
  const r = await wiresight(["read", corpusFile("unsupported-link-type-dbus.pcap")]);
  assertEquals(r.code, 0);
  assertMatch(r.stdout, /^ {2}Packets +2 /m);
  assertMatch(r.stderr, /^wiresight: warning: 2 packets of link type 231 were counted but not decoded/m);
});

Deno.test("--report json: the documented keys; totals and times equal capinfos", async () => {
  const [r, cap] = await Promise.all([wiresight(["read", SAMPLE, "--report", "json"]), capinfos(SAMPLE)]);
  assertEquals([r.code, r.stderr], [0, ""]);
  const report = JSON.parse(r.stdout);
  for (const key of ["packets", "bytes", "flows", "start", "end", "protocols", "top_talkers", "malformed"]) {
    assert(key in report, `no '${key}' in the JSON report`);
  }
  assertEquals([report.packets, report.bytes], [cap.packets, cap.bytes]);
  // capinfos prints this file's microseconds; wiresight prints nanoseconds.
  const iso = (t: string) => t.replace(" ", "T").replace(/\.(\d+)$/, (_, f) => `.${f.padEnd(9, "0")}Z`);
  assertEquals([report.start, report.end], [iso(cap.start), iso(cap.end)]);
  const micros = (x: number | string) => Math.round(Number(x) * 1e6);
  assertEquals(
    [micros(report.start_epoch), micros(report.end_epoch)],
    [micros(cap.startEpoch), micros(cap.endEpoch)],
  );
  assertEquals(report.malformed, { total: 0, reasons: {} });
});

Deno.test("text report: summary and the sections in order", async () => {
  const [r, cap] = await Promise.all([wiresight(["read", SAMPLE]), capinfos(SAMPLE)]);
  assertEquals([r.code, r.stderr], [0, ""]);
  assertIncludes(r.stdout, `wiresight report: ${SAMPLE}\n`);
  assertMatch(r.stdout, new RegExp(`^  Packets +${cap.packets} `, "m"));
  const headings = r.stdout.split("\n").filter((l) => /^[A-Z]/.test(l));
  assertEquals(headings, [
    "Protocols",
    "Top talkers (by bytes)",
    "Countries (either end; private and special addresses by class)",
    "Top conversations (address pairs)",
    "Top ports / services",
    "DNS",
    "HTTP",
    "Malformed",
  ]);
  // Stdout is a pipe here: no colour codes.
  assert(!r.stdout.includes("\x1b["), "escape codes in piped output");
});

Deno.test("--report none and -q print nothing", async () => {
  for (const flags of [["--report", "none"], ["-q"]]) {
    const r = await wiresight(["read", SAMPLE, ...flags]);
    assertEquals([r.code, r.stdout, r.stderr], [0, "", ""], flags.join(" "));
  }
});

Deno.test("BPF filter and flow export, as in the README", async () => {
  await withTempDir(async (dir) => {
    const [filtered, exported] = await Promise.all([
      wiresight(["read", SAMPLE, "-f", "udp port 53", "--report", "json"]),
      wiresight(["read", SAMPLE, "--export", `${dir}/flows.csv`, "--export-type", "flows", "-q"]),
    ]);
    assertEquals(filtered.code, 0);
    const report = JSON.parse(filtered.stdout);
    // 9 DNS queries over UDP, each a query and an answer on its own port.
    assertEquals([report.packets, report.flows, report.filtered_out], [18, 9, 192 - 18]);

    assertEquals([exported.code, exported.stdout], [0, ""]);
    const lines = (await Deno.readTextFile(`${dir}/flows.csv`)).trimEnd().split("\n");
    assert(lines[0].startsWith("flow_id,"), lines[0]);
    assertEquals(lines.length - 1, 26);
  });
});

Deno.test("a reader that goes away (| head -1) ends the output quietly", async () => {
  const child = spawnWiresight(["read", SAMPLE]);
  // Close the pipe before wiresight writes (it is still starting up): its first write fails with
  // EPIPE, as it would after `head -1` exits on a longer report.
  await child.stdout.cancel();
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  assertEquals([status.code, stderr], [0, ""]);
});

Deno.test("the README's first command works as written", async () => {
  const readme = await Deno.readTextFile(`${REPO}/README.md`);
  const first = readme.match(/```sh\n(.*)\n/)?.[1] ?? "";
  const m = first.match(/^npx -y deno@(\S+) (task wiresight read samples\/sample\.pcapng)$/);
  assert(m, `unexpected first command: ${first}`);
  // The README pins the same Deno as CI.
  assertIncludes(await Deno.readTextFile(`${REPO}/.ci/run`), `npx -y deno@${m[1]} task test`);
  // `deno task` from the repository root, with the deno running these tests (npx fetches the same).
  const r = await run(Deno.execPath(), m[2].split(" "), { env: { NO_COLOR: "1" } });
  assertEquals(r.code, 0, r.stderr);
  assertIncludes(r.stdout, "wiresight report: samples/sample.pcapng\n");
  assertMatch(r.stdout, /^ {2}Packets +192 /m);
});
