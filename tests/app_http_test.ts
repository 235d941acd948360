// HTTP/1.x extracted by wiresight: against tshark's http.* fields frame by frame on every corpus
// capture, and end to end with real clients (curl, and a client that sends its request in small
// TCP segments) talking to a local server on loopback while tcpdump captures.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import * as abi from "../src/decoder/abi.ts";
import { type HttpMessage, httpMessage } from "../src/app/http/message.ts";
import { corpusFile, corpusFiles, corpusRoot } from "./helpers/corpus.ts";
import { appEvents, tsharkFields } from "./helpers/app.ts";
import { type Capture, captureLoopback, freePort, run } from "./helpers/capture.ts";
import { readReport, runCli } from "./helpers/run_cli.ts";
import { pool } from "./helpers/util.ts";
import { waitFor } from "./helpers/wait.ts";

const KINDS = [abi.AK_HTTP_REQUEST, abi.AK_HTTP_RESPONSE];
const FIELDS = [
  "http.request.method",
  "http.request.uri",
  "http.host",
  "http.user_agent",
  "http.response.code",
];
/**
 * By default tshark reassembles bodies too and shows a message at the frame that completes its
 * body; wiresight skips bodies and reports a message at the frame that completes its headers,
 * which is what tshark does with body reassembly off (checked below to still differ).
 */
const HEADERS_ONLY = ["-o", "http.desegment_body:FALSE"];

function row(ms: HttpMessage[]): string {
  const join = (xs: (string | number | null)[]) => xs.filter((x) => x !== null).join("|");
  return [
    join(ms.map((m) => m.method)),
    join(ms.map((m) => m.uri)),
    join(ms.map((m) => m.host)),
    join(ms.map((m) => m.userAgent)),
    join(ms.map((m) => m.status)),
  ].join(" / ");
}

/** wiresight's and tshark's HTTP rows of a capture, by frame. */
async function rows(path: string, prefs: string[]) {
  const [theirs, ours] = await Promise.all([
    tsharkFields(path, "http", FIELDS, prefs),
    appEvents(path, KINDS, (e) => ({ frame: e.frame, m: httpMessage(e) })),
  ]);
  const byFrame = new Map<number, HttpMessage[]>();
  // HTTP/2 is tshark's http2 protocol, compared in app_http2_test.ts.
  for (const o of ours.filter((o) => o.m.version !== "HTTP/2")) {
    byFrame.set(o.frame, [...(byFrame.get(o.frame) ?? []), o.m]);
  }
  // tshark also matches frames that only carry HTTP state (a CONNECT tunnel's later frames).
  const tsharkRows = new Map(
    theirs.filter((t) => t.values.some((v) => v.length)).map((t) => [
      t.frame,
      t.values.map((v) => v.join("|")).join(" / "),
    ]),
  );
  return { ours: new Map([...byFrame].map(([f, ms]) => [f, row(ms)])), theirs: tsharkRows };
}

/** What differs between the two views: frames whose values differ, frames only tshark has. */
function differences(r: { ours: Map<number, string>; theirs: Map<number, string> }) {
  const diffs: string[] = [];
  for (const [frame, row] of r.ours) {
    if (r.theirs.get(frame) !== row) {
      diffs.push(`frame ${frame}: wiresight "${row}", tshark "${r.theirs.get(frame)}"`);
    }
  }
  return { diffs, onlyTshark: [...r.theirs.keys()].filter((f) => !r.ours.has(f)) };
}

Deno.test("HTTP fields agree with tshark, frame by frame, on every corpus capture", async () => {
  const results = await pool(corpusFiles(), navigator.hardwareConcurrency || 2, async (path) => {
    const name = path.split("/").pop()!;
    const r = await rows(path, HEADERS_ONLY);
    const { diffs, onlyTshark } = differences(r);
    if (onlyTshark.length) diffs.push(`only tshark decodes frames ${onlyTshark}`);
    return { name, diffs, compared: r.ours.size };
  });
  assertEquals(results.filter((x) => x.diffs.length).map((x) => `${x.name}: ${x.diffs.join("; ")}`), []);
  // Messages were really compared: keep-alive (curl), chunked, CONNECT, one TSO segment.
  const compared = new Map(results.map((x) => [x.name, x.compared]));
  const files = [
    "gen_http_methods.pcap",
    "sv-http-evader-http-evader-000.pcap",
    "sv-http-connect-http-connect-tls.pcap",
    "ipv4_tcp_http_xml_tso.pcap",
  ];
  assertEquals(files.map((f) => compared.get(f)), [32, 2, 2, 1]);
  assert(results.filter((x) => x.compared).length >= 10);
});

Deno.test("tshark still shows a response at the end of its body unless body reassembly is off", async () => {
  const path = corpusFile("sv-http-all-headers.pcap");
  const [byDefault, headersOnly] = await Promise.all([rows(path, []), rows(path, HEADERS_ONLY)]);
  // The 18 kB response: headers complete in frame 6, the body in frame 29.
  assertEquals([...byDefault.theirs.keys()], [4, 29]);
  assertEquals([...headersOnly.theirs.keys()], [4, 6]);
  assertEquals([...byDefault.ours.keys()], [4, 6]);
});

Deno.test("HTTP values Suricata's tests expect from the sv-http captures", async () => {
  const expected = JSON.parse(await Deno.readTextFile(`${corpusRoot()}/public/sv-expected.json`)) as Record<
    string,
    { field: string; value: string | number }[]
  >;
  let checked = 0;
  for (const [file, values] of Object.entries(expected)) {
    const http = values.filter((v) => v.field.startsWith("http."));
    if (!http.length) continue;
    const ms = await appEvents(corpusFile(file), KINDS, httpMessage);
    const pick: Record<string, (m: HttpMessage) => string | number | null> = {
      "http.hostname": (m) => m.host,
      "http.http_method": (m) => m.method,
      "http.status": (m) => m.status,
    };
    for (const { field, value } of http) {
      assert(ms.map(pick[field]).includes(value), `${file} ${field}: expected ${value}`);
      checked++;
    }
  }
  assertEquals(checked, 5);
});

// ---- real clients on loopback ------------------------------------------------------------------

const CUSTOM_UA = "wiresight-test/1.0 (keep-alive)";
const TINY_UA = "tiny-client/0.1";
const SECRET = "s3cr3t-token-value";

/** A small server with fixed answers: plain files, a chunked body, a form post, a 404. */
function handler(req: Request): Response | Promise<Response> {
  const headers = { server: "wiresight-test-server", "content-type": "text/plain" };
  const path = new URL(req.url).pathname;
  if (path === "/a.txt") return new Response("hello\n", { headers });
  if (path === "/b.txt") return new Response("bee\n", { headers });
  if (path === "/chunked") {
    const parts = ["one,", "two,", "three"];
    const body = new ReadableStream({
      pull(c) {
        const p = parts.shift();
        if (p === undefined) c.close();
        else c.enqueue(new TextEncoder().encode(p));
      },
    });
    return new Response(body, { headers });
  }
  if (path === "/submit" && req.method === "POST") {
    return req.text().then(() => new Response("created\n", { status: 201, headers }));
  }
  return new Response("not found\n", { status: 404, headers });
}

/** Waits until the kernel has sent, and the peer acknowledged, all that local port `port` wrote. */
async function waitAcked(port: number): Promise<void> {
  let line = "";
  await waitFor(`the segments from port ${port} acknowledged`, async () => {
    line = (await run("ss", ["-Htn", `( sport = :${port} )`])).trim();
    // State Recv-Q Send-Q Local Peer: Send-Q counts the bytes not yet acknowledged. (After the
    // last piece the server answers and closes: the socket leaves ESTAB, its Send-Q still says.)
    return line.split(/\s+/)[2] === "0";
  }, { everyMs: 5, detail: () => line });
}

/**
 * Sends a request in many small TCP segments (Nagle off, each write acknowledged before the next:
 * nothing left to coalesce); returns them.
 */
async function splitRequest(port: number): Promise<{ pieces: string[]; clientPort: number; reply: string }> {
  const request = `GET /a.txt?split=1 HTTP/1.1\r\nHost: split.example\r\nUser-Agent: ${TINY_UA}\r\n` +
    "Connection: close\r\n\r\n";
  // One byte per segment at first: no segment alone says HTTP, the stream does.
  const cuts = [1, 2, 3, 4, 8, 20, ...Array.from({ length: 10 }, (_, i) => 21 + i), 45, 70, request.length];
  const pieces = cuts.map((end, i) => request.slice(i ? cuts[i - 1] : 0, end));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const clientPort = (conn.localAddr as Deno.NetAddr).port;
  try {
    conn.setNoDelay(true);
    const enc = new TextEncoder();
    for (const p of pieces) {
      await conn.write(enc.encode(p));
      await waitAcked(clientPort);
    }
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(4096);
    for (let n; (n = await conn.read(buf)) !== null;) chunks.push(buf.slice(0, n));
    const reply = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
    return { pieces, clientPort, reply };
  } finally {
    conn.close();
  }
}

Deno.test("curl and a slow client against a local server: what they sent, what tshark sees", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_http_" });
  const port = freePort();
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, handler);
  let capture: Capture | undefined;
  try {
    capture = await captureLoopback(dir, "http.pcap", `tcp port ${port}`);
    const base = `http://127.0.0.1:${port}`;
    const curl = (args: string[]) => run("curl", ["-s", "-o", "/dev/null", "--max-time", "5", ...args]);
    // One curl call, one connection: three requests kept alive, one body chunked.
    await curl(["-A", CUSTOM_UA, `${base}/a.txt`, `${base}/chunked`, `${base}/b.txt`]);
    await curl([
      "-X",
      "POST",
      "-d",
      "name=value&x=1",
      "-H",
      `Authorization: Bearer ${SECRET}`,
      `${base}/submit`,
    ]);
    // HEAD then GET on the same connection: the HEAD response's Content-Length announces no body.
    await curl(["-I", `${base}/a.txt`, "--next", `${base}/b.txt`]);
    await curl([`${base}/missing`]);
    const split = await splitRequest(port);
    const path = await capture.stop();
    capture = undefined;
    assert(split.reply.startsWith("HTTP/1.1 200"), split.reply);

    const curlUa = `curl/${(await run("curl", ["--version"])).split(" ")[1]}`;
    const host = `127.0.0.1:${port}`;
    const events = await appEvents(path, KINDS, (e) => ({ flow: e.flowId, m: httpMessage(e) }));
    const requests = events.filter((e) => e.m.kind === "request");
    const responses = events.filter((e) => e.m.kind === "response");
    assertEquals(requests.map((e) => [e.m.method, e.m.uri, e.m.host, e.m.userAgent]), [
      ["GET", "/a.txt", host, CUSTOM_UA],
      ["GET", "/chunked", host, CUSTOM_UA],
      ["GET", "/b.txt", host, CUSTOM_UA],
      ["POST", "/submit", host, curlUa],
      ["HEAD", "/a.txt", host, curlUa],
      ["GET", "/b.txt", host, curlUa],
      ["GET", "/missing", host, curlUa],
      ["GET", "/a.txt?split=1", "split.example", TINY_UA],
    ]);
    assertEquals(responses.map((e) => e.m.status), [200, 200, 200, 201, 200, 200, 404, 200]);
    assertEquals(responses.map((e) => e.m.server), new Array(8).fill("wiresight-test-server"));
    assertEquals(responses.map((e) => e.m.contentLength), ["6", null, "4", "8", "6", "4", "10", "6"]);
    const post = requests[3].m;
    assertEquals(
      [post.contentType, post.contentLength, post.authScheme],
      ["application/x-www-form-urlencoded", "14", "Bearer"],
    );
    // Keep-alive: the first three requests share a connection, so do the HEAD and the GET after it.
    const flows = requests.map((e) => e.flow);
    assertEquals(new Set(flows.slice(0, 3)).size, 1);
    assertEquals(flows[4], flows[5]);
    assertEquals(new Set(flows).size, 5);
    // Every message of every connection was read: each response follows its request in its flow.
    for (const f of new Set(flows)) {
      const kinds = events.filter((e) => e.flow === f).map((e) => e.m.kind);
      assertEquals(kinds.filter((k) => k === "request").length, kinds.filter((k) => k === "response").length);
    }

    // The slow client's request really went out in pieces, and tshark reads the same values.
    const segments = await run("tshark", ["-r", path, "-Y", `tcp.srcport==${split.clientPort} && tcp.len>0`]);
    assertEquals(segments.trim().split("\n").length, split.pieces.length);
    const d = differences(await rows(path, [...HEADERS_ONLY, "-d", `tcp.port==${port},http`]));
    assertEquals([d.diffs, d.onlyTshark], [[], []]);

    // The CLI: the report's HTTP section and the http export, with no credentials anywhere.
    const exportPath = `${dir}/http.json`;
    const report = await readReport([path, "--export", exportPath, "--export-type", "http"]);
    const http = report.http as Record<string, unknown>;
    assertEquals(
      [http.requests, http.responses, http.methods, http.status_codes],
      [8, 8, { GET: 6, HEAD: 1, POST: 1 }, { "200": 6, "201": 1, "404": 1 }],
    );
    assertEquals(http.top_hosts, [{ host, count: 7 }, { host: "split.example", count: 1 }]);
    assertEquals(http.top_user_agents, [
      { user_agent: curlUa, count: 4 },
      { user_agent: CUSTOM_UA, count: 3 },
      { user_agent: TINY_UA, count: 1 },
    ]);
    const exported = await Deno.readTextFile(exportPath);
    const exportRows = JSON.parse(exported) as Record<string, unknown>[];
    assertEquals(exportRows.length, 16);
    assertEquals(exportRows[6], {
      ...exportRows[6],
      kind: "request",
      method: "POST",
      uri: "/submit",
      auth_scheme: "Bearer",
      content_length: 14,
      dst_port: port,
    });
    assert(!exported.includes(SECRET), "credentials in the export");
    // Flows are named by the Host their requests asked for.
    const flowsPath = `${dir}/flows.json`;
    const r = await runCli(["read", path, "--quiet", "--export", flowsPath, "--export-type", "flows"]);
    assertEquals(r.code, 0, r.stderr);
    const names = (JSON.parse(await Deno.readTextFile(flowsPath)) as { server_name: string | null }[])
      .map((f) => f.server_name);
    assertEquals(names.sort(), ["127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1", "split.example"]);
  } finally {
    await capture?.stop();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
