// Detection config: TOML and JSON files merged over the defaults, every mistake an error that
// names the offending key (exit 2 from the CLI), intel lists from files; and the beacon score on
// series whose regularity is known.
import { deepStrictEqual as assertEquals, ok as assert, rejects, throws } from "node:assert/strict";
import { ConfigError, DEFAULT_CONFIG, loadConfig, mergeConfig } from "../src/detect/config.ts";
import { loadIntel } from "../src/detect/intel.ts";
import { beaconScore } from "../src/detect/detectors/beacon.ts";
import { encodedLabel, entropy, splitDomain } from "../src/detect/detectors/dns_tunnel.ts";
import { nameMatches } from "../src/detect/detectors/tls_anomaly.ts";
import { assertIncludes, SAMPLE, wiresight } from "./helpers/cli.ts";
import { corpusFile } from "./helpers/corpus.ts";
import { BoundedTable } from "../src/base/bounded_table.ts";
import { Seeded } from "./helpers/random.ts";

Deno.test("TOML and JSON configs merge over the defaults", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/bad_ips.txt`, "# feed\n203.0.113.0/24\n2001:db8::1 # one host\n");
  await Deno.writeTextFile(
    `${dir}/d.toml`,
    `[port_scan]\nvertical_ports = 10\n[beacon]\nenabled = false\nignore_ports = [53]\n` +
      `[intel]\nip_files = ["bad_ips.txt"]\ndomains = ["evil.test"]\n`,
  );
  const toml = await loadConfig(`${dir}/d.toml`);
  assertEquals(toml.port_scan, { ...DEFAULT_CONFIG.port_scan, vertical_ports: 10 });
  assertEquals([toml.beacon.enabled, toml.beacon.ignore_ports], [false, [53]]);
  assertEquals(toml.intel.ip_files, [`${dir}/bad_ips.txt`]);
  const intel = await loadIntel(toml.intel);
  assertEquals(
    ["203.0.113.77", "203.0.114.1", "2001:db8::1", "2001:db8::2"].map((a) => intel.matchAddress(a)),
    ["203.0.113.0/24", null, "2001:db8::1", null],
  );
  assertEquals(["a.b.evil.test", "evil.test.", "notevil.test"].map((d) => intel.matchDomain(d)), [
    "evil.test",
    "evil.test",
    null,
  ]);
  await Deno.writeTextFile(`${dir}/d.json`, JSON.stringify({ exfil: { min_bytes: 5 } }));
  assertEquals((await loadConfig(`${dir}/d.json`)).exfil.min_bytes, 5);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("config mistakes name the offending key", async () => {
  const msg = (over: unknown) => {
    try {
      mergeConfig(over, "c.toml");
    } catch (e) {
      assert(e instanceof ConfigError);
      return e.message;
    }
    throw new Error("accepted");
  };
  assertIncludes(msg({ port_scann: {} }), "unknown section 'port_scann'");
  assertIncludes(msg({ port_scan: { vertical_portz: 3 } }), "unknown key 'port_scan.vertical_portz'");
  assertIncludes(msg({ port_scan: { window_s: "60" } }), "'port_scan.window_s' must be a number, got string");
  assertIncludes(msg({ beacon: { min_score: 2 } }), "'beacon.min_score' must be between 0 and 1");
  assertIncludes(msg({ syn_flood: { syns: -1 } }), "'syn_flood.syns' must be a number >= 0");
  assertIncludes(
    msg({ beacon: { ignore_ports: [70000] } }),
    "'beacon.ignore_ports' must be a list of port numbers",
  );
  assertIncludes(msg({ tls: { bad_ja3: [1] } }), "'tls.bad_ja3' must be a list of strings");
  assertIncludes(msg({ notices: { severity: "info" } }), "'notices.severity' must be one of low, medium");
  assertIncludes(msg({ notices: { promote: ["port_scan"] } }), "'notices.promote' names 'port_scan'");
  throws(() => mergeConfig([1]), ConfigError);
  await rejects(loadIntel({ ...DEFAULT_CONFIG.intel, ips: ["10.0.0.300"] }), /'10.0.0.300' is not an IP/);
});

Deno.test("the CLI turns a bad config into a usage error (exit 2) with the key", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/c.toml`, "[http]\nsqli = 1\n");
  const r = await wiresight(["read", SAMPLE, "--config", `${dir}/c.toml`, "-q"]);
  assertEquals(r.code, 2);
  assertIncludes(r.stderr, "'http.sqli' must be a boolean, got number");
  await Deno.writeTextFile(`${dir}/c.toml`, "[http\n");
  const broken = await wiresight(["read", SAMPLE, "--config", `${dir}/c.toml`, "-q"]);
  assertEquals(broken.code, 2);
  assertIncludes(broken.stderr, "not valid TOML");
  const missing = await wiresight(["read", SAMPLE, "--config", `${dir}/none.toml`, "-q"]);
  assertEquals(missing.code, 2);
  assertIncludes(missing.stderr, "cannot read config");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("beacon score: regular series score high whatever their period, irregular ones low", () => {
  const series = (n: number, period: number, jitter: number, seed: number) => {
    let x = seed;
    const rand = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    return Array.from({ length: n }, (_, i) => i * period + (rand() - 0.5) * jitter * period);
  };
  const sizes = new Array(30).fill(420);
  for (const period of [0.3, 60, 3600]) {
    const t = series(30, period, 0.3, 7);
    assert(beaconScore(t, sizes, t[29] - t[0]).score > 0.9, `period ${period}`);
  }
  // A beacon whose connections mostly carry the same bytes, a third of them a little more (an
  // extra ACK, a retransmission), is still a beacon: the sizes are not "skewed".
  const t = series(30, 0.3, 0.3, 11);
  const mostly = sizes.map((s, i) => i % 3 === 0 ? s + 52 : s);
  assert(beaconScore(t, mostly, t[29] - t[0]).size.skew === 1);
  assert(beaconScore(t, mostly, t[29] - t[0]).score > 0.9);
  let x = 3;
  const rand = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const times: number[] = [];
  for (let t = 0, i = 0; i < 30; i++) times.push(t += rand() < 0.5 ? rand() * 0.1 : rand() * 20);
  const randomSizes = times.map(() => Math.floor(rand() * 60000));
  assert(beaconScore(times, randomSizes, times[29]).score < 0.7);
});

Deno.test("DNS names: registered domain, entropy; TLS names: wildcards cover one label", () => {
  assertEquals(splitDomain("a.b.example.co.uk"), { domain: "example.co.uk", sub: "a.b" });
  assertEquals(splitDomain("x.tunnel.test."), { domain: "tunnel.test", sub: "x" });
  assertEquals(entropy("aaaa"), 0);
  assertEquals(entropy("abcd"), 2);
  assert(nameMatches("www.example.com", ["*.example.com"]));
  assert(!nameMatches("a.www.example.com", ["*.example.com"]));
  assert(!nameMatches("example.com", ["*.example.com"]));
  assert(nameMatches("Example.COM.", ["example.com"]));
});

Deno.test("notices are listed apart (report JSON, text, EVE severity 4) and [notices] promote makes them alerts", async () => {
  const dir = await Deno.makeTempDir();
  const files = ["dns_udp_8053.pcap", "sv-ja4-tls.pcap"].map(corpusFile);
  const plain = await wiresight(["read", ...files, "--detect", "--alerts", `${dir}/eve.ndjson`]);
  assertEquals(plain.code, 0, plain.stderr);
  assertIncludes(plain.stdout, "Alerts\n  none");
  assertIncludes(plain.stdout, "Notices (2)");
  const eve = (await Deno.readTextFile(`${dir}/eve.ndjson`)).trim().split("\n").map((l) => JSON.parse(l))
    .filter((e) => e.event_type === "alert");
  assertEquals(eve.map((e) => [e.wiresight.type, e.alert.severity]).sort(), [
    ["tls.self_signed", 4],
    ["unusual_port.service", 4],
  ]);
  await Deno.writeTextFile(
    `${dir}/p.toml`,
    `[notices]\npromote = ["unusual_port", "tls.self_signed"]\nseverity = "medium"\n`,
  );
  const r = await wiresight(["read", ...files, "--config", `${dir}/p.toml`, "--report", "json"]);
  assertEquals(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  const flat = (groups: { alerts: { type: string; severity: string }[] }[]) =>
    groups.flatMap((g) => g.alerts.map((a) => [a.type, a.severity])).sort();
  assertEquals(flat(report.alerts), [["tls.self_signed", "medium"], ["unusual_port.service", "medium"]]);
  assertEquals(report.notices, []);
  assertEquals([report.detection.alerts, report.detection.notices], [2, 0]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("encoded DNS labels: random hex, base32 and base64 of 40+ characters; words and hostnames are not", () => {
  const random = new Seeded(0xe4c0de);
  for (
    const alphabet of [
      "0123456789abcdef",
      "abcdefghijklmnopqrstuvwxyz234567",
      "abcdefghijklmnopqrstuvwxyz0123456789-_",
    ]
  ) {
    // A few in a thousand random labels look like words (too many vowels) and are missed.
    const found = Array.from({ length: 1000 }, () => encodedLabel(random.string(45, alphabet), 40));
    assert(found.filter(Boolean).length >= 990, `${alphabet}: ${found.filter(Boolean).length} of 1000`);
  }
  assert(!encodedLabel(random.string(39, "0123456789abcdef"), 40), "shorter than the threshold");
  for (
    const word of [
      "thisisaverylongsubdomainnameforatestsite1",
      "ip-10-0-0-1-ec2-internal-compute-amazonaws",
      "aaaaaaaaaaaaaaaaaaaaaaaa0000000000000000000",
    ]
  ) assert(!encodedLabel(word, 40), word);
});

Deno.test("--outdir writes a timestamped report and EVE file; an unwritable --alerts is a usage error", async () => {
  const dir = await Deno.makeTempDir();
  const capture = corpusFile("sv-ja4-tls.pcap");
  const r = await wiresight(["read", capture, "--outdir", `${dir}/out`, "-q"]);
  assertEquals(r.code, 0, r.stderr);
  const files = [...Deno.readDirSync(`${dir}/out`)].map((e) => e.name).sort();
  assertEquals(files.length, 2);
  assert(/^wiresight-\d{8}T\d{6}Z\.eve\.ndjson$/.test(files[0]), files[0]);
  assert(/^wiresight-\d{8}T\d{6}Z\.report\.json$/.test(files[1]), files[1]);
  const report = JSON.parse(await Deno.readTextFile(`${dir}/out/${files[1]}`));
  assertEquals(report.notices[0].alerts[0].type, "tls.self_signed");
  const eve = (await Deno.readTextFile(`${dir}/out/${files[0]}`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assertEquals(eve.filter((e) => e.event_type === "alert").map((e) => e.wiresight.type), ["tls.self_signed"]);
  const bad = await wiresight(["read", capture, "--alerts", `${dir}/missing/eve.ndjson`, "-q"]);
  assertEquals(bad.code, 2);
  assertIncludes(bad.stderr, "cannot write --alerts");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("detector tables evict the least recently used entry and count it", () => {
  const t = new BoundedTable<number>("t", 3);
  for (const k of ["a", "b", "c"]) t.upsert(k, () => k.charCodeAt(0));
  assertEquals(t.get("a"), 97); // a is now the most recent: b goes first.
  t.upsert("d", () => 100);
  assertEquals([...t.entries()], [["c", 99], ["a", 97], ["d", 100]]);
  assertEquals(t.evictions, 1);
  t.delete("a");
  assertEquals([...t.values()], [99, 100]);
  const big = new BoundedTable<number>("big", 1000);
  for (let i = 0; i < 100_000; i++) big.upsert(`k${i}`, () => i);
  assertEquals([big.size, big.evictions, big.get("k99999"), big.get("k98999")], [
    1000,
    99_000,
    99_999,
    undefined,
  ]);
});
