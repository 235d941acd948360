// The command line as tcpdump users and scripts drive it: stdout holds only what was asked for
// (JSON.parse takes it whole), tcpdump's -r, -n, -D and the trailing filter's mistakes, intervals
// refused when they cannot work, and small rates as capinfos gives them.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { corpusFile } from "./helpers/corpus.ts";
import { assertIncludes, capinfos, MAIN, run, SAMPLE, taskFlags, wiresight } from "./helpers/cli.ts";
import { withNetns } from "./helpers/capture.ts";

/** A capture whose certificate is self-signed: a notice, which PROMOTE makes an alert. */
const ALERTING = corpusFile("sv-ja4-tls.pcap");
const PROMOTE = Deno.makeTempFileSync({ prefix: "wiresight_promote_", suffix: ".toml" });
Deno.writeTextFileSync(PROMOTE, `[notices]\npromote = ["tls.self_signed"]\nseverity = "medium"\n`);
const DETECT = ["--detect", "--config", PROMOTE];
globalThis.addEventListener("unload", () => Deno.removeSync(PROMOTE));

Deno.test("read --detect --report json: stdout is the report alone, each alert line on stderr", async () => {
  const r = await wiresight(["read", ALERTING, ...DETECT, "--report", "json"]);
  assertEquals(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  const ids = report.alerts.flatMap((g: { alerts: { id: string }[] }) => g.alerts.map((a) => a.id));
  assert(ids.length > 0, "the capture raises no alert: the test would prove nothing");
  for (const id of ids) assertIncludes(r.stderr, `(id ${id})`, "the alert line on stderr");
});

Deno.test("read --alerts -: EVE alone on stdout; with --report json, a usage error naming the choices", async () => {
  const both = await wiresight(["read", ALERTING, ...DETECT, "--alerts", "-", "--report", "json"]);
  assertEquals(both.code, 2, both.stderr);
  assertIncludes(both.stderr, "choose --alerts FILE, or --report text|none");
  assertEquals(both.stdout, "");

  const eve = await wiresight(["read", ALERTING, ...DETECT, "--alerts", "-"]);
  assertEquals(eve.code, 0, eve.stderr);
  const events = eve.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert(events.some((e) => e.event_type === "alert"), eve.stdout);
  // The text report and the alert lines went to stderr.
  assertIncludes(eve.stderr, "wiresight report:");
  assertIncludes(eve.stderr, "tls.self_signed");
});

Deno.test("read -r FILE, wiresight -r FILE and -n: the same report as read FILE, capinfos' count", async () => {
  const [plain, dashR, top, grouped, twice, info] = await Promise.all([
    wiresight(["read", SAMPLE, "--report", "json"]),
    wiresight(["read", "-r", SAMPLE, "--report", "json"]),
    wiresight(["-n", "-r", SAMPLE, "--report", "json"]),
    wiresight(["-nr", SAMPLE, "-nn", "--report", "json"]),
    wiresight(["-r", SAMPLE, "-r", SAMPLE, "--report", "json"]),
    capinfos(SAMPLE),
  ]);
  for (const r of [plain, dashR, top, grouped, twice]) assertEquals(r.code, 0, r.stderr);
  const report = JSON.parse(plain.stdout);
  assertEquals(report.packets, info.packets);
  for (const r of [dashR, top, grouped]) assertEquals(JSON.parse(r.stdout), report);
  assertEquals(JSON.parse(twice.stdout).records_read, 2 * info.packets, "two -r read both files");
});

Deno.test("-D (top level and capture -D) lists the interfaces tcpdump -D lists, in its order", () =>
  withNetns(async (ns) => {
    const inNs = (cmd: string, args: string[]) => run("ip", ["netns", "exec", ns, cmd, ...args]);
    const wiresightIn = (args: string[]) => inNs(Deno.execPath(), ["run", ...taskFlags(), MAIN, ...args]);
    const [tcpdump, listed, top, capture] = await Promise.all([
      inNs("tcpdump", ["-D"]),
      wiresightIn(["interfaces"]),
      wiresightIn(["-D"]),
      wiresightIn(["capture", "-D", "-n"]),
    ]);
    for (const r of [tcpdump, listed, top, capture]) assertEquals(r.code, 0, r.stderr);
    assertEquals(top.stdout, listed.stdout);
    assertEquals(capture.stdout, listed.stdout);
    // "1.lo [Up, Running, Loopback]" -> "lo"
    const names = tcpdump.stdout.trim().split("\n").map((l) => l.match(/^\d+\.(\S+)/)![1]);
    assert(names.includes("lo"), tcpdump.stdout);
    assertEquals(listed.stdout.trim().split("\n").slice(1).map((l) => l.split(/\s+/)[0]), names);
  }));

Deno.test("capture's trailing expression: with -f too, or naming a file, a usage error before capture", async () => {
  const twoFilters = await wiresight(["capture", "-i", "lo", "-f", "udp", "tcp", "port", "80"]);
  assertEquals(twoFilters.code, 2, twoFilters.stderr);
  assertIncludes(twoFilters.stderr, "two BPF filters: -f 'udp' and the trailing 'tcp port 80'");
  const file = await wiresight(["capture", "-i", "lo", SAMPLE]);
  assertEquals(file.code, 2, file.stderr);
  assertIncludes(file.stderr, `run 'wiresight read ${SAMPLE}'`);
  for (const r of [twoFilters, file]) assert(!r.stderr.includes("capturing on"), r.stderr);
});

Deno.test("intervals: 0, negative and non-numbers are usage errors, before capture", async () => {
  const cases = [
    ["--stats-interval", "0"],
    ["--stats-interval=-1"],
    ["--stats-interval", "soon"],
    ["--report-interval", "0"],
    ["--report-interval", "1e999"],
    ["-t", "0"],
    ["--duration=-3"],
    ["-t", ""],
  ];
  const runs = await Promise.all(cases.map((c) => wiresight(["capture", "-i", "lo", ...c])));
  for (const [i, r] of runs.entries()) {
    const what = cases[i].join(" ");
    assertEquals(r.code, 2, `${what}: ${r.stderr}`);
    assertIncludes(r.stderr, "takes a number of seconds above 0", what);
    assert(!r.stderr.includes("capturing on"), what);
  }
});

Deno.test("small rates keep their decimals: the Average line against capinfos' packet rate", async () => {
  for (const name of ["OSPFv3_with_AH.pcap", "arista_ether.pcap", "sv-dns-over-http2.pcap"]) {
    const path = corpusFile(name);
    const [r, cap] = await Promise.all([
      wiresight(["read", path]),
      run("capinfos", ["-T", "-r", "-x", path]),
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(cap.code, 0, cap.stderr);
    const theirs = Number(cap.stdout.trim().split("\t")[1]);
    assert(theirs > 0 && theirs < 1, `${name}: ${theirs} packets/s is not a small rate`);
    const ours = r.stdout.match(/^ {2}Average {4}([\d.,]+) pkt\/s/m)?.[1];
    assert(ours, r.stdout);
    // capinfos prints two decimals; ours has two significant digits.
    assert(Math.abs(Number(ours) - theirs) <= 0.006, `${name}: ${ours} pkt/s, capinfos ${theirs}`);
  }
});

Deno.test("on a terminal, the progress bar is erased before an alert line: the alert starts its own line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_bar_" });
  try {
    // A first file to draw the bar, then the one that raises the alert. `script` gives the run a
    // terminal (stdout goes to a file, so only stderr is on it).
    const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
    const command = [Deno.execPath(), "run", ...taskFlags(), MAIN, "read", corpusFile("afs.pcap"), ALERTING]
      .map(quote).join(" ") +
      ` ${DETECT.map(quote).join(" ")} --report json > ${quote(`${dir}/report.json`)}`;
    const r = await run("script", ["-qec", command, "/dev/null"], { env: { NO_COLOR: "1" } });
    assertEquals(r.code, 0, r.stdout);
    assert(/\] +\d+% .* MB\/s /.test(r.stdout), `no progress bar drawn: ${JSON.stringify(r.stdout)}`);
    const alerts = r.stdout.split("\n").filter((l) => l.includes("tls.self_signed"));
    assert(alerts.length > 0, JSON.stringify(r.stdout));
    for (const line of alerts) {
      // What the terminal shows of that line: the text after the last carriage return (the
      // terminal ends each line with \r\n).
      const text = line.replace(/\r$/, "");
      const shown = text.slice(text.lastIndexOf("\r") + 1).replaceAll("\x1b[K", "");
      assert(shown.startsWith("[medium] "), `the alert shares the bar's line: ${JSON.stringify(line)}`);
    }
    assert(JSON.parse(await Deno.readTextFile(`${dir}/report.json`)).alerts.length > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
