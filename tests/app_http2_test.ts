// HTTP/2 in cleartext and DNS over HTTPS extracted by wiresight against tshark: header fields per
// frame and stream (http2.*), DoH messages (dns.*) on every corpus capture that carries h2c or
// DoH, and end to end with real clients (curl with prior knowledge, dig +http-plain) talking to
// nghttpd on loopback. tshark does not decode a DoH GET's dns= parameter: those queries are
// decoded by Node's base64url and tshark reads them from a pcap text2pcap writes.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as abi from "../src/decoder/abi.ts";
import type { AppEvent } from "../src/decoder/app_event.ts";
import { type HttpMessage, httpMessage } from "../src/app/http/message.ts";
import { type DnsMessage, dnsMessage } from "../src/app/dns/message.ts";
import { dnsTypeName } from "../src/app/names.ts";
import { corpusFile, corpusFiles, corpusRoot } from "./helpers/corpus.ts";
import { appEvents, tsharkFields } from "./helpers/app.ts";
import { captureLoopback, freePort, run } from "./helpers/capture.ts";
import { runTool } from "./helpers/tool.ts";
import { waitFor } from "./helpers/wait.ts";

/** Bytes only a capture with h2c or DoH in the clear holds. */
const MARKERS = ["PRI * HTTP/2.0", "Upgrade: h2c", "application/dns-message"];

function h2Captures(): string[] {
  const zeek = `${corpusRoot()}/zeek`;
  const files = [...corpusFiles()];
  for (const e of Deno.readDirSync(zeek)) {
    if (e.isFile && /\.(pcap|pcapng|cap)$/.test(e.name)) files.push(`${zeek}/${e.name}`);
  }
  const latin1 = new TextDecoder("latin1");
  return files.filter((f) => {
    const text = latin1.decode(Deno.readFileSync(f));
    return MARKERS.some((m) => text.includes(m));
  });
}

interface Events {
  http: { frame: number; m: HttpMessage }[];
  dns: { frame: number; m: DnsMessage }[];
  /** Server ports of the HTTP/2 connections (tshark is told to read them as HTTP/2). */
  ports: number[];
}

async function ours(path: string): Promise<Events> {
  // Events are views into the decoder's buffer: read what is needed while they last.
  const evs = await appEvents(
    path,
    [abi.AK_HTTP_REQUEST, abi.AK_HTTP_RESPONSE, abi.AK_DNS],
    (e: AppEvent) => ({
      frame: e.frame,
      dstPort: e.dstPort,
      http: e.kind === abi.AK_DNS ? null : httpMessage(e),
      dns: e.kind === abi.AK_DNS ? dnsMessage(e) : null,
    }),
  );
  const http = evs.flatMap((x) => x.http?.version === "HTTP/2" ? [{ frame: x.frame, m: x.http }] : []);
  const dns = evs.flatMap((x) => x.dns ? [{ frame: x.frame, m: x.dns }] : []);
  const ports = evs.filter((x) => x.http?.kind === "request" && x.http.version === "HTTP/2").map((x) =>
    x.dstPort
  );
  return { http, dns, ports: [...new Set(ports)] };
}

const decodeAs = (ports: number[]) => ports.flatMap((p) => ["-d", `tcp.port==${p},http2`]);

/** One message as compared: stream, then request or response fields ("-" when absent). */
function httpRow(
  stream: number | null,
  f: {
    method?: string | null;
    path?: string | null;
    authority?: string | null;
    ua?: string | null;
    status?: string | number | null;
    ctype?: string | null;
    clen?: string | null;
    server?: string | null;
  },
): string {
  const v = (x: string | number | null | undefined) => x ?? "-";
  return f.method
    ? `${stream} ${v(f.method)} ${v(f.path)} ${v(f.authority)} ua=${v(f.ua)} ct=${v(f.ctype)} cl=${v(f.clen)}`
    : `${stream} ${v(f.status)} ct=${v(f.ctype)} cl=${v(f.clen)} server=${v(f.server)}`;
}

/**
 * tshark's header blocks per frame: the names and values of all blocks of a frame come in one
 * list, a block begins with its pseudo-headers; the streams are those of the frame's HEADERS.
 */
async function tsharkHttp(path: string, ports: number[]): Promise<Map<number, string[]>> {
  const rows = await tsharkFields(path, "http2.header", [
    "http2.type",
    "http2.streamid",
    "http2.header.name",
    "http2.header.value",
  ], decodeAs(ports));
  const out = new Map<number, string[]>();
  for (const { frame, values: [types, streams, names, values] } of rows) {
    const headerStreams = streams.filter((_, i) => types[i] === "1").map(Number);
    const blocks: Map<string, string>[] = [];
    names.forEach((name, i) => {
      const last = blocks[blocks.length - 1];
      const pseudo = name.startsWith(":");
      if (!last || (pseudo && ([...last.keys()].some((n) => !n.startsWith(":")) || last.has(name)))) {
        blocks.push(new Map());
      }
      const block = blocks[blocks.length - 1];
      if (!block.has(name)) block.set(name, values[i]);
    });
    assertEquals(blocks.length, headerStreams.length, `frame ${frame}: one block per HEADERS frame`);
    out.set(
      frame,
      blocks.map((b, i) =>
        httpRow(headerStreams[i], {
          method: b.get(":method"),
          path: b.get(":path"),
          authority: b.get(":authority") ?? b.get("host"),
          ua: b.get("user-agent"),
          status: b.get(":status"),
          ctype: b.get("content-type"),
          clen: b.get("content-length"),
          server: b.get("server"),
        })
      ),
    );
  }
  return out;
}

function ourHttp(ev: Events): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const { frame, m } of ev.http) {
    const row = httpRow(m.streamId, {
      method: m.method,
      path: m.uri,
      authority: m.host,
      ua: m.userAgent,
      status: m.status,
      ctype: m.contentType,
      clen: m.contentLength,
      server: m.server,
    });
    out.set(frame, [...(out.get(frame) ?? []), row]);
  }
  return out;
}

/** A DNS message as compared: id, QR, questions, then every record but OPT as name/type. */
function dnsRow(id: string, qr: string, questions: string[], records: string[]): string {
  return `${id} qr=${qr} ${questions.join(",")} | ${records.join(",")}`;
}

const DNS_FIELDS = [
  "dns.id",
  "dns.flags.response",
  "dns.qry.name",
  "dns.qry.type",
  "dns.resp.name",
  "dns.resp.type",
];

function tsharkDnsRow([ids, qr, qnames, qtypes, rnames, rtypes]: string[][]): string {
  const records = rnames.map((n, i) => [n, rtypes[i]]).filter(([, t]) => t !== "41");
  return dnsRow(
    ids[0],
    qr[0],
    qnames.map((n, i) => `${n}/${dnsTypeName(Number(qtypes[i]))}`),
    records.map(([n, t]) => `${n}/${dnsTypeName(Number(t))}`),
  );
}

function ourDnsRow(m: DnsMessage): string {
  return dnsRow(
    `0x${m.id.toString(16).padStart(4, "0")}`,
    m.response ? "1" : "0",
    m.questions.map((q) => `${q.name}/${q.type}`),
    m.records.filter((r) => r.type !== "OPT").map((r) => `${r.name}/${r.type}`),
  );
}

/** tshark's reading of DNS messages given as bytes: one UDP datagram each, via text2pcap. */
async function tsharkDnsOf(messages: Uint8Array[], dir: string): Promise<string[]> {
  if (!messages.length) return [];
  const hex = messages.map((m) => `000000 ${[...m].map((b) => b.toString(16).padStart(2, "0")).join(" ")}\n`);
  await Deno.writeTextFile(`${dir}/doh.txt`, hex.join(""));
  await runTool("text2pcap", ["-q", "-u", "53,53", `${dir}/doh.txt`, `${dir}/doh.pcap`]);
  const rows = await tsharkFields(`${dir}/doh.pcap`, "dns", DNS_FIELDS);
  return rows.map((r) => tsharkDnsRow(r.values));
}

/** Every HTTP/2 message and DoH message of a capture against tshark; returns what was compared. */
async function compare(path: string) {
  const ev = await ours(path);
  const [theirsHttp, theirsDns] = await Promise.all([
    tsharkHttp(path, ev.ports),
    tsharkFields(path, "dns", DNS_FIELDS, decodeAs(ev.ports)),
  ]);
  assertEquals(ourHttp(ev), theirsHttp, `${path}: HTTP/2 header fields per frame`);
  const doh = ev.dns.filter((d) => d.m.transport === "doh");
  // Messages tshark decodes itself (POST bodies, responses), frame by frame.
  const tsharkDns = new Map(theirsDns.map((r) => [r.frame, tsharkDnsRow(r.values)]));
  const seen = doh.filter((d) => tsharkDns.has(d.frame));
  assertEquals(
    new Map(seen.map((d) => [d.frame, ourDnsRow(d.m)])),
    tsharkDns,
    `${path}: DoH messages tshark decodes`,
  );
  // GET queries: the dns= parameters of the requests, in order.
  const params = ev.http.flatMap(({ m }) => {
    const p = m.method === "GET" && m.uri ? new URL(m.uri, "http://x").searchParams.get("dns") : null;
    return p ? [Buffer.from(p, "base64url")] : [];
  });
  const dir = await Deno.makeTempDir({ prefix: "wiresight_doh_" });
  try {
    const gets = doh.filter((d) => !tsharkDns.has(d.frame)).map((d) => ourDnsRow(d.m));
    assertEquals(gets, await tsharkDnsOf(params, dir), `${path}: DoH GET queries`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return {
    http: ev.http.length,
    doh: doh.length,
    names: doh.flatMap((d) => d.m.questions.map((q) => q.name)),
  };
}

Deno.test("HTTP/2 headers and DoH agree with tshark on every corpus capture with h2c or DoH", async () => {
  const files = h2Captures();
  assertEquals(files.map((f) => f.split("/").pop()), ["sv-dns-over-http2.pcap"]);
  const r = await compare(files[0]);
  // Four requests and four responses on streams 1, 3, 5, 7; eight DoH messages (four GETs).
  assertEquals([r.http, r.doh], [8, 8]);
});

Deno.test("the DNS names Suricata's tests expect from sv-dns-over-http2.pcap are in the dns export", async () => {
  const expected = JSON.parse(await Deno.readTextFile(`${corpusRoot()}/public/sv-expected.json`))[
    "sv-dns-over-http2.pcap"
  ] as { yaml_key: string; value: string }[];
  const dir = await Deno.makeTempDir({ prefix: "wiresight_doh_" });
  try {
    const out = `${dir}/dns.json`;
    await runTool("npx", [
      "-y",
      "deno@2.9.6",
      "task",
      "-q",
      "wiresight",
      "read",
      corpusFile("sv-dns-over-http2.pcap"),
      "--export",
      out,
      "--export-type",
      "dns",
    ]);
    const rows = JSON.parse(await Deno.readTextFile(out)) as Record<string, unknown>[];
    assert(rows.length === 8 && rows.every((r) => r.transport === "doh"), JSON.stringify(rows[0]));
    // Query names are export columns; the authority record's name is in the decoded message
    // (the export's record sections come with issue 16.1).
    const authorities = (await ours(corpusFile("sv-dns-over-http2.pcap"))).dns.flatMap(({ m }) =>
      m.records.filter((r) => r.section === "authority").map((r) => r.name)
    );
    const found = (e: { yaml_key: string; value: string }) =>
      e.yaml_key.startsWith("dns.queries")
        ? rows.some((r) => r.qname === e.value)
        : authorities.includes(e.value);
    assertEquals(expected.filter((e) => !found(e)), []);
    assertEquals(expected.length, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("curl and dig over h2c against nghttpd: what they sent, what tshark sees", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_h2_" });
  await Deno.writeTextFile(`${dir}/index.html`, "hello\n");
  const port = freePort();
  const server = new Deno.Command("nghttpd", {
    args: ["--no-tls", "-d", dir, String(port)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitFor("nghttpd to listen", async () => {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return true;
    });
    const capture = await captureLoopback(dir, "h2.pcap", `tcp port ${port}`);
    const base = `http://127.0.0.1:${port}`;
    // One connection per request: curl 7.88 fails a second request on a reused h2c connection.
    for (const target of ["/index.html", "/missing?x=1"]) {
      await run("curl", [
        "-s",
        "-o",
        "/dev/null",
        "--max-time",
        "5",
        "--http2-prior-knowledge",
        "-A",
        "h2-test/1",
        base + target,
      ]);
    }
    // dig's DNS over plain HTTP/2: a POST, then a GET; nghttpd answers 404, the queries are what counts.
    const dig = (extra: string[]) =>
      runTool("dig", ["@127.0.0.1", "-p", String(port), "+tries=1", "+timeout=3", ...extra], {
        okCodes: [9],
      });
    await dig(["+http-plain", "post.example.com", "A"]);
    await dig(["+http-plain-get", "get.example.org", "AAAA"]);
    const path = await capture.stop();

    const r = await compare(path);
    const ev = await ours(path);
    const requests = ev.http.filter((x) => x.m.kind === "request").map((
      x,
    ) => [x.m.method, x.m.uri, x.m.userAgent]);
    assertEquals(requests.slice(0, 2), [["GET", "/index.html", "h2-test/1"], [
      "GET",
      "/missing?x=1",
      "h2-test/1",
    ]]);
    assertEquals(requests.slice(2).map(([method, uri]) => [method, uri?.split("?")[0]]), [
      ["POST", "/dns-query"],
      ["GET", "/dns-query"],
    ]);
    assertEquals(ev.http.filter((x) => x.m.kind === "response").map((x) => x.m.status), [200, 404, 404, 404]);
    assertEquals(r.names, ["post.example.com", "get.example.org"]);
  } finally {
    server.kill();
    await server.status;
    await Deno.remove(dir, { recursive: true });
  }
});
