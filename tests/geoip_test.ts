// Country and AS, offline: the public addresses of corpus captures get theirs in the report's
// talkers, the flow exports and the EVE flow events; the answers agree with the CSV editions of
// the same data read here by a plain scan (not the mmdb, not the binary search); private and
// special addresses are classed and never looked up; --geoip DIR takes MaxMind-format files and
// refuses a bad directory or file with a clear message.
import assert from "node:assert/strict";
import { parse as parseCsv } from "csv-parse/sync";
import countryCsvPackage from "@ip-location-db/geo-whois-asn-country/package.json" with { type: "json" };
import { GeoIp } from "../src/enrich/geo.ts";
import { ipv4Number } from "../src/enrich/address_words.ts";
import { AsnTable } from "../src/enrich/asn_table.ts";
import { corpusFile } from "./helpers/corpus.ts";
import { runCli } from "./helpers/run_cli.ts";

const tmp = Deno.makeTempDirSync({ prefix: "wiresight-geoip-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

type Row = Record<string, unknown>;

async function read(args: string[]): Promise<string> {
  const r = await runCli(["read", "--no-progress", ...args]);
  if (r.code !== 0) throw new Error(`wiresight read ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const ndjson = (text: string): Row[] => text.split("\n").filter(Boolean).map((l) => JSON.parse(l));
const packageFile = (pkg: string, file: string) =>
  new URL(file, import.meta.resolve(`${pkg}/package.json`)).pathname;

/** The row "first,last,value..." of a CSV whose IPv4 bounds are numbers that holds N: a plain scan. */
function scanV4(path: string): (n: number) => string[] | null {
  const lines = Deno.readTextFileSync(path).split("\n").filter(Boolean);
  const bounds = lines.map((l) => l.split(",", 2).map(Number));
  return (n) => {
    const i = bounds.findIndex(([first, last]) => first <= n && n <= last);
    return i < 0 ? null : (parseCsv(lines[i])[0] as string[]).slice(2);
  };
}

const GOOGLE_DNS = "sv-dns-dns-tcp-www-google-com.pcap";

Deno.test("8.8.4.4 is US, AS15169 Google, in the talkers, the flow export and the EVE flow events", async () => {
  const file = corpusFile(GOOGLE_DNS);
  const report = JSON.parse(await read([file, "--report", "json"]));
  const google = report.top_talkers.find((t: Row) => t.address === "8.8.4.4");
  assert.equal(google.country, "US");
  assert.equal(google.asn, 15169);
  assert.match(google.as_org, /Google/);
  // Its private peer is classed, with no AS.
  const local = report.top_talkers.find((t: Row) => t.address !== "8.8.4.4");
  assert.deepEqual([local.country, local.asn, local.as_org], ["private", null, null]);

  const flows = ndjson(
    await read([file, "-q", "--export", "-", "--export-format", "ndjson", "--export-type", "flows"]),
  );
  assert.ok(flows.length > 0);
  for (const f of flows) {
    const [google, other] = f.dst === "8.8.4.4" ? ["dst", "src"] : ["src", "dst"];
    assert.equal(f[`${google}_country`], "US");
    assert.equal(f[`${google}_asn`], 15169);
    assert.match(f[`${google}_as_org`] as string, /Google/);
    assert.equal(f[`${other}_country`], "private");
  }
  const csv = parseCsv(
    await read([file, "-q", "--export", "-", "--export-format", "csv", "--export-type", "flows"]),
    { columns: true },
  ) as Record<string, string>[];
  assert.deepEqual(
    csv.map((r) => [r.dst_country, r.dst_asn]),
    flows.map((f) => [f.dst_country, String(f.dst_asn)]),
  );

  const eve = ndjson(await read([file, "-q", "--alerts", "-"])).filter((e) => e.event_type === "flow");
  assert.ok(eve.length > 0);
  for (const e of eve) {
    const w = e.wiresight as Row;
    const google = e.dest_ip === "8.8.4.4" ? w.dest_geo : w.src_geo;
    assert.deepEqual({ ...google as Row, as_org: "-" }, { country: "US", asn: 15169, as_org: "-" });
  }

  const text = await read([file]);
  assert.match(text, /8\.8\.4\.4 .*\bUS\s+AS15169 Google/);
});

Deno.test("--no-geoip: the columns are there and empty; the text report has no Country column", async () => {
  const file = corpusFile(GOOGLE_DNS);
  const flows = ndjson(
    await read([
      file,
      "-q",
      "--no-geoip",
      "--export",
      "-",
      "--export-format",
      "ndjson",
      "--export-type",
      "flows",
    ]),
  );
  for (const f of flows) assert.deepEqual([f.src_country, f.dst_asn, f.dst_as_org], [null, null, null]);
  assert.doesNotMatch(await read([file, "--no-geoip"]), /Country/);
});

Deno.test("the bundled answers agree with the CSV editions of the same data, scanned row by row", async () => {
  // Every public IPv4 talker of captures from several networks.
  const addresses = new Set<string>();
  for (const name of [GOOGLE_DNS, "afs.pcap", "sv-ja4-quic.pcap", "sv-ssh-hassh.pcap"]) {
    const report = JSON.parse(await read([corpusFile(name), "--report", "json", "--top", "50"]));
    for (const t of report.top_talkers as Row[]) {
      if (
        ipv4Number(t.address as string) !== null &&
        !/^(private|loopback|link-local|multicast|special)$/.test(String(t.country))
      ) {
        addresses.add(t.address as string);
      }
    }
  }
  assert.ok(addresses.size >= 10, `public IPv4 talkers: ${[...addresses]}`);
  const country = scanV4(
    packageFile("@ip-location-db/geo-whois-asn-country", "geo-whois-asn-country-ipv4-num.csv"),
  );
  const asn = scanV4(packageFile("@ip-location-db/asn", "asn-ipv4-num.csv"));
  const geo = GeoIp.bundled();
  for (const a of addresses) {
    const n = ipv4Number(a)!;
    const got = geo.lookup(a);
    assert.equal(got.country, country(n)?.[0] ?? null, `${a} country (CSV ${countryCsvPackage.version})`);
    const as = asn(n);
    assert.equal(got.asn, as ? Number(as[0]) : null, `${a} AS`);
    assert.equal(got.as_org, as ? as[1] : null, `${a} AS organisation`);
  }
  // And two known ones, IPv6 and IPv4-mapped included.
  for (const a of ["2001:4860:4860::8844", "::ffff:8.8.4.4"]) {
    assert.deepEqual([geo.lookup(a).country, geo.lookup(a).asn], ["US", 15169], a);
  }
});

Deno.test("private and special addresses are classed and never looked up", () => {
  const geo = GeoIp.bundled();
  const before = geo.lookups;
  const classes: [string, string][] = [
    ["10.1.2.3", "private"],
    ["172.31.255.255", "private"],
    ["192.168.0.1", "private"],
    ["100.64.0.1", "private"],
    ["100.127.255.254", "private"],
    ["fd12:3456::1", "private"],
    ["fc00::1", "private"],
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["::1", "loopback"],
    ["169.254.10.1", "link-local"],
    ["fe80::1", "link-local"],
    ["febf::1", "link-local"],
    ["224.0.0.251", "multicast"],
    ["239.255.255.250", "multicast"],
    ["ff02::fb", "multicast"],
    ["0.0.0.0", "special"],
    ["0.1.2.3", "special"],
    ["192.0.2.1", "special"],
    ["198.51.100.7", "special"],
    ["203.0.113.200", "special"],
    ["198.18.0.1", "special"],
    ["240.0.0.1", "special"],
    ["255.255.255.255", "special"],
    ["2001:db8::1", "special"],
    ["::", "special"],
    ["::ffff:192.168.1.1", "private"],
  ];
  for (const [a, scope] of classes) {
    assert.deepEqual(geo.lookup(a), { country: scope, asn: null, as_org: null }, a);
  }
  assert.equal(geo.lookups, before, "a private or special address went to the database");
  // The ranges' neighbours are public, and are looked up.
  for (const a of ["11.0.0.1", "172.32.0.1", "100.128.0.1", "192.169.0.1", "fec0::1"]) {
    geo.lookup(a);
  }
  assert.equal(geo.lookups, before + 4, "fec0::1 is outside 2000::/3: special");
  assert.equal(geo.lookup("fec0::1").country, "special");
  assert.equal(geo.lookup("not an address").country, null);
});

Deno.test("--geoip DIR: MaxMind-format files are used; a missing directory, no files or a corrupt file is a clear error", async () => {
  const file = corpusFile(GOOGLE_DNS);
  // The bundled country database is itself a MaxMind DB: under GeoLite2's name it is the user's.
  const dir = `${tmp}/own`;
  Deno.mkdirSync(dir);
  Deno.copyFileSync(
    packageFile("@ip-location-db/geo-whois-asn-country-mmdb", "geo-whois-asn-country.mmdb"),
    `${dir}/GeoLite2-Country.mmdb`,
  );
  const report = JSON.parse(await read([file, "--report", "json", "--geoip", dir]));
  const google = report.top_talkers.find((t: Row) => t.address === "8.8.4.4");
  assert.deepEqual([google.country, google.asn], ["US", null], "no GeoLite2-ASN.mmdb: no AS");

  const refused = async (args: string[], message: RegExp) => {
    const r = await runCli(["read", "--no-progress", file, ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, "");
  };
  await refused(["--geoip", `${tmp}/nowhere`], /--geoip .*nowhere.*(No such file|not found)/i);
  Deno.mkdirSync(`${tmp}/empty`);
  await refused(
    ["--geoip", `${tmp}/empty`],
    /none of GeoLite2-Country\.mmdb, GeoLite2-City\.mmdb, GeoLite2-ASN\.mmdb/,
  );
  Deno.mkdirSync(`${tmp}/corrupt`);
  Deno.writeTextFileSync(`${tmp}/corrupt/GeoLite2-ASN.mmdb`, "this is not a database\n".repeat(100));
  await refused(["--geoip", `${tmp}/corrupt`], /GeoLite2-ASN\.mmdb: not a MaxMind DB file/);
  // A truncated real one: its metadata is gone.
  Deno.mkdirSync(`${tmp}/truncated`);
  const real = Deno.readFileSync(`${dir}/GeoLite2-Country.mmdb`);
  Deno.writeFileSync(`${tmp}/truncated/GeoLite2-Country.mmdb`, real.subarray(0, real.length >> 1));
  await refused(["--geoip", `${tmp}/truncated`], /GeoLite2-Country\.mmdb: not a MaxMind DB file/);
  await refused(["--geoip", dir, "--no-geoip"], /contradict/);
});

Deno.test("the AS table: rows found by binary search over the file; a file of another shape is refused", () => {
  const file = (name: string, text: string) => {
    Deno.writeTextFileSync(`${tmp}/${name}`, text);
    return `${tmp}/${name}`;
  };
  // Rows longer than a 4 KiB block, so that lines straddle blocks.
  const long = "x".repeat(5000);
  const v4 = AsnTable.open(
    file(
      "v4.csv",
      `16777216,16777471,13335,"Cloudflare, Inc."\n16778240,16779263,38803,"A ""quoted"" org"\n` +
        `16779264,16779300,64512,${long}\n16779301,16779400,64513,after\n`,
    ),
    1,
  );
  assert.deepEqual(v4.lookup("1.0.0.1"), { asn: 13335, org: "Cloudflare, Inc." });
  assert.deepEqual(v4.lookup("1.0.4.0"), { asn: 38803, org: 'A "quoted" org' });
  assert.deepEqual(v4.lookup("1.0.8.1"), { asn: 64512, org: long });
  assert.deepEqual(v4.lookup("1.0.8.50"), { asn: 64513, org: "after" });
  assert.equal(v4.lookup("1.0.1.0"), null, "between rows");
  assert.equal(v4.lookup("0.255.255.255"), null, "before the first");
  assert.equal(v4.lookup("1.0.9.0"), null, "after the last");
  const v6 = AsnTable.open(
    file("v6.csv", "2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project\r\n"),
    4,
  );
  assert.deepEqual(v6.lookup("2001:200:1b9::1"), { asn: 2500, org: "WIDE Project" });
  assert.equal(v6.lookup("2001:200:1ba::"), null);
  const refused = (text: string, width: 1 | 4, message: RegExp) =>
    assert.throws(() => AsnTable.open(file("bad.csv", text), width), message);
  refused("<html>not a table</html>\n", 1, /bad\.csv: byte 0: fewer than four fields/);
  refused("x,1,2,org\n", 1, /bad\.csv: byte 0: 'x' is not an IPv4 address number/);
  refused("1.2.3.4,::1,2,org\n", 4, /'1\.2\.3\.4' is not an IPv6 address/);
  refused("", 1, /bad\.csv: empty/);
});
