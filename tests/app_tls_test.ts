// TLS handshakes: per frame against tshark on every corpus capture (message types, SNI, JA3 and
// its string, ALPN, hello versions, JA3S string, certificate chain length and leaf), against
// Suricata's expected answers for the sv-* captures, JA3/JA4 against published and hand-built
// hellos, and real clients: curl over TLS 1.2 and 1.3 against openssl s_server, captured by tcpdump.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { createHash } from "node:crypto";
import * as abi from "../src/decoder/abi.ts";
import type { AppEvent } from "../src/decoder/app_event.ts";
import { type HelloParams, ja3, ja3String, ja4, ja4r } from "../src/app/tls/fingerprint.ts";
import { type TlsRecord, tlsRecord } from "../src/app/tls/message.ts";
import { certInfo } from "../src/app/tls/x509.ts";
import { analyze } from "../mod.ts";
import { corpusFile, corpusFiles, corpusRoot } from "./helpers/corpus.ts";
import { appEvents, tsharkFields } from "./helpers/app.ts";
import { captureLoopback, inNetns, run, withNetns } from "./helpers/capture.ts";
import { waitTcpQuiet } from "./helpers/live.ts";
import { waitFor } from "./helpers/wait.ts";
import { pool } from "./helpers/util.ts";

const TLS_KINDS = [abi.AK_TLS_CLIENT_HELLO, abi.AK_TLS_SERVER_HELLO, abi.AK_TLS_CERTIFICATE];
const TYPE_OF: Record<number, string> = {
  [abi.AK_TLS_CLIENT_HELLO]: "1",
  [abi.AK_TLS_SERVER_HELLO]: "2",
  [abi.AK_TLS_CERTIFICATE]: "11",
};

interface Ours {
  frame: number;
  kind: number;
  quic: boolean;
  helloVersion: number | undefined;
  rec: TlsRecord;
  /** SHA-256 of the leaf DER. */
  leaf: string | null;
}

const hex4 = (v: number | undefined) => `0x${(v ?? 0).toString(16).padStart(4, "0")}`;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function take(e: AppEvent): Ours {
  const der = e.bytes(abi.F_TLS_CERT);
  return {
    frame: e.frame,
    kind: e.kind,
    quic: e.num(abi.F_TLS_QUIC) === 1,
    helloVersion: e.num(abi.F_TLS_VERSION),
    rec: tlsRecord(e),
    leaf: der ? sha256(der) : null,
  };
}

export function tlsEvents(path: string): Promise<Ours[]> {
  return appEvents(path, TLS_KINDS, take);
}

const FIELDS = [
  "tls.handshake.type",
  "tls.handshake.extensions_server_name",
  "tls.handshake.ja3",
  "tls.handshake.ja3_full",
  "tls.handshake.extensions_alpn_str",
  "tls.handshake.version",
  "tls.handshake.ja3s_full",
  "tls.handshake.certificate",
];

/** One frame as the fields above, from our events. */
function row(events: Ours[]): string[][] {
  const hellos = events.filter((o) => o.kind === abi.AK_TLS_CLIENT_HELLO);
  const certs = events.filter((o) => o.kind === abi.AK_TLS_CERTIFICATE);
  return [
    events.map((o) => TYPE_OF[o.kind]),
    hellos.flatMap((o) => (o.rec.sni === null ? [] : [o.rec.sni])),
    // No JA3 for an SSLv2-compatible hello (tshark computes none either).
    hellos.flatMap((o) => (o.rec.ja3 === null ? [] : [o.rec.ja3])),
    hellos.flatMap((o) => (o.rec.ja3_string === null ? [] : [o.rec.ja3_string])),
    events.filter((o) => o.kind !== abi.AK_TLS_CERTIFICATE).flatMap((o) => o.rec.alpn),
    events.filter((o) => o.kind !== abi.AK_TLS_CERTIFICATE).map((o) => hex4(o.helloVersion)),
    events.filter((o) => o.kind === abi.AK_TLS_SERVER_HELLO).map((o) => o.rec.ja3s_string!),
    // tshark lists every certificate of the chain: compare the count and the leaf.
    certs.length ? [String(certs.reduce((n, o) => n + o.rec.cert_count!, 0)), certs[0].leaf ?? "?"] : [],
  ];
}

/** The same from tshark's fields (handshake types other than hellos and certificates left out). */
function tsharkRow(values: string[][]): string[][] {
  const [types, ...rest] = values;
  const certs = rest[6];
  return [
    types.filter((t) => t === "1" || t === "2" || t === "11"),
    ...rest.slice(0, 6),
    certs.length ? [String(certs.length), sha256(fromHex(certs[0].replaceAll(":", "")))] : [],
  ];
}

const fromHex = (h: string) => new Uint8Array(h.match(/../g)?.map((b) => parseInt(b, 16)) ?? []);

/** Where wiresight and tshark legitimately differ, and why (checked to still differ). */
const KNOWN: Record<string, { why: string; onlyTshark?: number[] }> = {};

/** Suricata's expected values (sv-expected.json) for TLS and QUIC. */
interface Expected {
  field: string;
  value: string | number;
  alt_values?: string[];
}
const SV: Record<string, Expected[]> = JSON.parse(
  Deno.readTextFileSync(`${corpusRoot()}/public/sv-expected.json`),
);

/** Checks our values for one capture against Suricata's expected answers. */
function checkSuricata(name: string, ours: Ours[]): void {
  for (const x of SV[name] ?? []) {
    const tcp = ours.filter((o) => !o.quic).map((o) => o.rec);
    const got: Record<string, (string | null)[]> = {
      "tls.sni": tcp.map((r) => r.sni),
      "tls.ja3.hash": tcp.map((r) => r.ja3),
      "tls.ja4": tcp.map((r) => r.ja4),
      "quic.ja4": ours.filter((o) => o.quic).map((o) => o.rec.ja4),
      // Suricata names the e-mail attribute "Email"; node (as OpenSSL) "emailAddress".
      "tls.subject": tcp.map((r) => r.cert?.subject?.replace("emailAddress=", "Email=") ?? null),
      "tls.issuerdn": tcp.map((r) => r.cert?.issuer?.replace("emailAddress=", "Email=") ?? null),
      "tls.version": tcp.filter((r) => r.kind === "server_hello").map((r) => r.version),
    };
    if (!(x.field in got)) continue;
    const accepted = [String(x.value), ...(x.alt_values ?? [])];
    assertEquals(
      got[x.field].some((v) => v !== null && accepted.includes(v)),
      true,
      `${name} ${x.field}: expected ${x.value}, got ${got[x.field]}`,
    );
  }
}

/** Differences with tshark on one capture; checks Suricata's values too. */
async function compare(path: string): Promise<{ name: string; diffs: string[]; compared: number }> {
  const name = path.split("/").pop()!;
  const [theirs, ours] = await Promise.all([
    tsharkFields(path, "tls.handshake.type and tcp", FIELDS),
    tlsEvents(path),
  ]);
  const byFrame = new Map<number, Ours[]>();
  for (const o of ours.filter((o) => !o.quic)) byFrame.set(o.frame, [...(byFrame.get(o.frame) ?? []), o]);
  const tsharkRows = new Map<number, string[][]>();
  for (const t of theirs) {
    const r = tsharkRow(t.values);
    if (r[0].length) tsharkRows.set(t.frame, r);
  }
  const diffs: string[] = [];
  const onlyTshark = [...tsharkRows.keys()].filter((f) => !byFrame.has(f));
  if (String(onlyTshark) !== String(KNOWN[name]?.onlyTshark ?? [])) {
    diffs.push(`only tshark decodes ${onlyTshark}`);
  }
  for (const [frame, events] of byFrame) {
    const [a, b] = [JSON.stringify(row(events)), JSON.stringify(tsharkRows.get(frame))];
    if (a !== b) diffs.push(`frame ${frame}: wiresight ${a}, tshark ${b}`);
  }
  checkSuricata(name, ours);
  return { name, diffs, compared: byFrame.size };
}

Deno.test("TLS handshakes agree with tshark, frame by frame, on every corpus capture", async () => {
  const results = await pool(corpusFiles(), navigator.hardwareConcurrency || 2, compare);
  assertEquals(results.filter((x) => x.diffs.length).map((x) => `${x.name}: ${x.diffs.join("; ")}`), []);
  // Handshakes were really compared: hellos cut across segments, TLS 1.3 drafts, two hellos in a row.
  const compared = new Map(results.map((x) => [x.name, x.compared]));
  const files = [
    "sv-tls-tls-client-hello-frag-01.pcap",
    "sv-tls-tls13-draft28.pcap",
    "sv-tls-duplicate-hello.pcap",
  ];
  assertEquals(files.map((f) => compared.get(f)), [3, 4, 3]);
  assertEquals(results.filter((x) => x.compared).length >= 10, true);
});

Deno.test("an SSLv2-compatible ClientHello: version, record version and TLS cipher specs as tshark reads them", async () => {
  const path = corpusFile("public/sv-sslv2-tls-upgrade-01.pcap");
  const fields = ["tls.record.version", "tls.handshake.version", "tls.handshake.cipherspec"];
  const [theirs] = await tsharkFields(path, "tls.handshake.cipherspec", fields);
  const hellos = await appEvents(path, [abi.AK_TLS_CLIENT_HELLO], (e) => ({
    frame: e.frame,
    recordVersion: hex4(e.num(abi.F_TLS_RECORD_VERSION)),
    version: hex4(e.num(abi.F_TLS_VERSION)),
    ciphers: e.u16s(abi.F_TLS_CIPHERS),
    rec: tlsRecord(e),
  }));
  assertEquals(hellos.length, 1);
  const [h] = hellos;
  const [recordVersion, version, specs] = theirs.values;
  assertEquals([h.frame, h.recordVersion, h.version], [theirs.frame, recordVersion[0], version[0]]);
  // Specs 0x00XXXX are TLS suites; the others exist in SSL 2.0 only.
  const tlsSuites = specs.map((s) => parseInt(s, 16)).filter((s) => s < 0x10000);
  assertEquals(h.ciphers, tlsSuites);
  assertEquals(tlsSuites.length, 20);
  assertEquals([h.rec.sslv2, h.rec.version, h.rec.sni, h.rec.ja3], [true, "TLS 1.0", null, null]);
});

Deno.test("every TLS and QUIC value Suricata expects is checked", () => {
  const fields = new Set(["tls.sni", "tls.ja3.hash", "tls.ja4", "quic.ja4", "tls.subject", "tls.issuerdn"]);
  fields.add("tls.version");
  const all = Object.values(SV).flat().filter((x) => /^(tls|quic)\./.test(x.field));
  assertEquals(all.filter((x) => !fields.has(x.field)).map((x) => x.field), []);
  assertEquals(all.length >= 10, true);
});

// ---- fingerprints from published values and hand-built hellos --------------------------------

/** FoxIO's README example (ja4_r given there), with GREASE added where Chrome puts it. */
function foxioHello(): HelloParams {
  return {
    quic: false,
    version: 0x0303,
    ciphers: [0x1a1a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014]
      .concat([0x009c, 0x009d, 0x002f, 0x0035]),
    extensions: [
      0x4a4a,
      0x0000,
      0x0017,
      0xff01,
      0x000a,
      0x000b,
      0x0023,
      0x0010,
      0x0005,
      0x000d,
      0x0012,
      0x0033,
    ]
      .concat([0x002d, 0x002b, 0x001b, 0x0015, 0x4469, 0x2a2a]),
    sni: "example.com",
    alpn: [new TextEncoder().encode("h2"), new TextEncoder().encode("http/1.1")],
    supportedVersions: [0x3a3a, 0x0304, 0x0303],
    groups: [0x8a8a, 0x001d, 0x0017, 0x0018],
    pointFormats: [0],
    sigAlgs: [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601],
  };
}

Deno.test("JA4 of FoxIO's published example", () => {
  const h = foxioHello();
  assertEquals(ja4(h), "t13d1516h2_8daaf6152771_e5627efa2ab1");
  assertEquals(
    ja4r(h),
    "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_" +
      "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_" +
      "0403,0804,0401,0503,0805,0501,0806,0601",
  );
  // A later Chrome: padding gone, ECH (fe0d) and the new ALPS code point (44cd) in.
  const chrome = { ...h, extensions: h.extensions.filter((e) => e !== 0x0015 && e !== 0x4469) };
  chrome.extensions.push(0x44cd, 0xfe0d);
  assertEquals(ja4(chrome), "t13d1516h2_8daaf6152771_d8a2da3f94cd");
});

Deno.test("JA4 edge cases: counts, SNI, ALPN, versions, empty lists", () => {
  const base = foxioHello();
  const a = (h: Partial<HelloParams>) => ja4({ ...base, ...h }).split("_")[0];
  const alpn = (...bytes: number[][]) => bytes.map((b) => new Uint8Array(b));
  assertEquals(a({ quic: true, sni: null }), "q13i1516h2");
  assertEquals(a({ sni: "192.0.2.1" }), "t13i1516h2", "an IP address in SNI counts as none");
  assertEquals(a({ alpn: [] }), "t13d151600");
  assertEquals(a({ alpn: alpn([0x68]) }), "t13d1516hh", "one character is first and last");
  assertEquals(a({ alpn: alpn([0xab, 0x68, 0xcd]) }), "t13d1516ad", "not alphanumeric: the hex form's ends");
  assertEquals(a({ alpn: alpn([0x68, 0x32, 0x00]) }), "t13d151660");
  assertEquals(a({ supportedVersions: [] }), "t12d1516h2", "no supported_versions: the hello's version");
  assertEquals(a({ supportedVersions: [], version: 0x0300 }), "ts3d1516h2");
  assertEquals(a({ supportedVersions: [0x7f1c] }), "t00d1516h2", "a draft version has no code");
  const many = Array.from({ length: 120 }, (_, i) => 0x0100 + i);
  assertEquals(a({ ciphers: many, extensions: many }), "t13d9999h2", "counts stop at 99");
  const none = ja4({ ...base, ciphers: [], extensions: [0x0000, 0x0010] });
  assertEquals(none, "t13d0002h2_000000000000_000000000000");
  assertEquals(
    ja4({ ...base, sigAlgs: [] }).split("_")[2],
    createHash("sha256").update(
      "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01",
    ).digest("hex").slice(0, 12),
    "no signature algorithms: no underscore",
  );
});

Deno.test("JA3 of Salesforce's example, GREASE left out", () => {
  const h: HelloParams = {
    ...foxioHello(),
    version: 769,
    ciphers: [0x0a0a, 47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4],
    extensions: [0, 10, 0xfafa, 11],
    groups: [0x2a2a, 23, 24, 25],
    pointFormats: [0],
  };
  assertEquals(ja3String(h), "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0");
  assertEquals(ja3(h), "ada70206e40642a3e4461f35503241d5");
  assertEquals(ja3String({ ...h, groups: [], pointFormats: [] }).endsWith(",0-10-11,,"), true);
});

Deno.test("certificates that do not parse keep their fingerprint", () => {
  const c = certInfo(new Uint8Array([0x30, 0x03, 1, 2, 3]));
  assertEquals([c.subject, c.self_signed, c.sha256.length], [null, false, 64]);
});

Deno.test("the sv-ja4-tls capture gives Suricata's JA4 through the whole pipeline", async () => {
  const ours = await tlsEvents(corpusFile("sv-ja4-tls.pcap"));
  assertEquals(ours.filter((o) => o.rec.ja4).map((o) => o.rec.ja4), ["t12i1810s1_27d4652c4487_06a4338d0495"]);
});

// ---- real clients -----------------------------------------------------------------------------

Deno.test("curl over TLS 1.2 and 1.3 with SNI against openssl s_server", () =>
  withNetns(async (netns) => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight_tls_" });
    const host = "wiresight.test";
    try {
      await run("openssl", [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        `/CN=${host}/O=wiresight tests`,
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
      ]);
      const [cmd, args] = inNetns(netns, "openssl", [
        "s_server",
        "-accept",
        "443",
        "-cert",
        `${dir}/cert.pem`,
        "-key",
        `${dir}/key.pem`,
        "-alpn",
        "http/1.1",
        "-www",
        "-quiet",
      ]);
      const server = new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).spawn();
      try {
        const curl = (versions: string[]) =>
          run(...inNetns(netns, "curl", [
            "-sk",
            "--max-time",
            "5",
            "-o",
            "/dev/null",
            ...versions,
            "--resolve",
            `${host}:443:127.0.0.1`,
            `https://${host}/`,
          ]));
        // The server answers before the capture starts (its probe's connection closed).
        await waitFor("openssl s_server to answer", () => curl([]));
        await waitTcpQuiet(netns);
        const capture = await captureLoopback(dir, "tls.pcap", "tcp port 443", netns);
        await curl(["--tlsv1.2", "--tls-max", "1.2"]);
        await curl(["--tlsv1.3"]);
        const path = await capture.stop();

        const [ours, theirs] = await Promise.all([
          tlsEvents(path),
          tsharkFields(path, "tls.handshake.type == 1", [
            "tls.handshake.ja3",
            "tls.handshake.extensions_server_name",
          ]),
        ]);
        const recs = ours.map((o) => o.rec);
        const hellos = recs.filter((r) => r.kind === "client_hello");
        assertEquals(hellos.map((r) => r.sni), [host, host]);
        assertEquals(hellos.map((r) => r.version), ["TLS 1.2", "TLS 1.3"]);
        assertEquals(hellos.every((r) => r.alpn.includes("http/1.1")), true);
        assertEquals(hellos.map((r) => r.ja3), theirs.map((t) => t.values[0][0]));
        assertEquals(hellos.map((r) => r.ja4!.slice(0, 4)), ["t12d", "t13d"]);
        const servers = recs.filter((r) => r.kind === "server_hello");
        // TLS 1.3 sends the chosen ALPN in EncryptedExtensions, after the ServerHello.
        assertEquals(servers.map((r) => [r.version, r.alpn]), [["TLS 1.2", ["http/1.1"]], ["TLS 1.3", []]]);
        // TLS 1.3 encrypts the certificate: only the TLS 1.2 connection shows it.
        const certs = recs.filter((r) => r.kind === "certificate");
        assertEquals(certs.length, 1);
        assertEquals(certs[0].cert?.subject, `CN=${host}, O=wiresight tests`);
        assertEquals([certs[0].cert?.self_signed, certs[0].expired, certs[0].cert_count], [true, false, 1]);

        const report = await analyze(path);
        const tls = report.tls!;
        assertEquals([tls.client_hellos, tls.server_hellos, tls.certificates], [2, 2, 1]);
        assertEquals(tls.versions, { "TLS 1.2": 1, "TLS 1.3": 1 });
        assertEquals(tls.top_sni, [{ sni: host, count: 2 }]);
        assertEquals(tls.server_certificates.map((c) => [c.subject, c.self_signed]), [[
          `CN=${host}, O=wiresight tests`,
          true,
        ]]);
      } finally {
        server.kill();
        await server.status;
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }));
