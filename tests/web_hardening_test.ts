// The web server against hostile and careless clients, with raw sockets (node:net) so every byte
// is the test's: slow request heads and bodies are cut after the timeout, connections past the
// limit are refused, the token redirect never leaves the server, a malformed Host gets 400 with
// the security headers, an aborted upload is one log line, and bind errors are one line, exit 1.
import assert from "node:assert/strict";
import net from "node:net";
import { assertIncludes, capinfos, SAMPLE, wiresight } from "./helpers/cli.ts";
import { curl, type Served, withServe } from "./helpers/web.ts";
import { sleep, waitFor } from "./helpers/wait.ts";

const TOKEN = "hardening-token-0123456789";

async function tempDb(): Promise<[string, () => Promise<void>]> {
  const dir = await Deno.makeTempDir({ prefix: "wiresight-hardening-" });
  return [`${dir}/h.sqlite`, () => Deno.remove(dir, { recursive: true })];
}

function portOf(s: Served): number {
  return Number(new URL(s.origin).port);
}

/** A raw connection: what the server sent, and when it closed (ms after opening). */
interface RawClient {
  socket: net.Socket;
  received(): string;
  closed: Promise<number>;
}

function connect(port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    let data = "";
    const ended = Promise.withResolvers<number>();
    const socket = net.connect(
      port,
      "127.0.0.1",
      () => resolve({ socket, received: () => data, closed: ended.promise }),
    );
    socket.on("data", (d) => data += d.toString("latin1"));
    socket.on("error", () => {/* a reset is a close here */});
    socket.on("close", () => ended.resolve(Date.now() - t0));
    socket.once("error", reject);
  });
}

/** Sends `bytes` one piece every `everyMs` until the server closes or `maxMs` passes. */
async function trickle(c: RawClient, bytes: string, pieceLen: number, everyMs: number, maxMs: number) {
  const t0 = Date.now();
  let open = true;
  c.closed.then(() => open = false);
  for (let i = 0; open && Date.now() - t0 < maxMs; i += pieceLen) {
    c.socket.write(bytes.slice(i % bytes.length, i % bytes.length + pieceLen), "latin1");
    await sleep(everyMs);
  }
  const closedAt = await Promise.race([c.closed, sleep(2000).then(() => null)]);
  c.socket.destroy();
  return closedAt;
}

/** One request as raw bytes; the answer's status line and headers. */
async function raw(port: number, request: string): Promise<{ status: number; head: string }> {
  const c = await connect(port);
  c.socket.end(request);
  await Promise.race([c.closed, sleep(10_000)]);
  c.socket.destroy();
  const head = c.received().split("\r\n\r\n")[0];
  return { status: Number(head.split(" ")[1]), head: head.toLowerCase() };
}

/** Each byte as one character (what node:net's "latin1" writes back as that byte). */
const bytesAsText = (b: Uint8Array) => Array.from(b, (x) => String.fromCharCode(x)).join("");

const header = (head: string, name: string) => head.match(new RegExp(`\\r\\n${name}: ([^\\r]*)`))?.[1];

Deno.test("web hardening: slow heads and bodies are cut after the timeout; an aborted upload is one log line", async () => {
  const [db, cleanup] = await tempDb();
  try {
    const args = ["--listen", "127.0.0.1:0", "--db", db, "--header-timeout", "1", "--body-timeout", "1"];
    await withServe(args, async (s) => {
      const port = portOf(s);
      // 1 byte per 200 ms of headers (slowloris): cut with 408 about 1 s in.
      const slowHead = await connect(port);
      const headAt = await trickle(
        slowHead,
        "GET /api/captures HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + "a".repeat(500),
        1,
        200,
        8000,
      );
      assert.ok(headAt !== null && headAt < 4000, `slow head cut after ${headAt} ms`);
      assert.match(slowHead.received(), /^HTTP\/1.1 408/);
      // A connection that sends nothing at all is cut the same way.
      const silent = await connect(port);
      const silentAt = await Promise.race([silent.closed, sleep(6000).then(() => null)]);
      assert.ok(silentAt !== null && silentAt < 4000, `silent connection cut after ${silentAt} ms`);

      // An upload's body at 10 bytes every 100 ms (100 B/s): cut about 1 s in.
      const capture = await Deno.readFile(SAMPLE);
      const slowBody = await connect(port);
      slowBody.socket.write(
        `POST /api/upload?name=slow.pcapng HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `Content-Type: application/octet-stream\r\nContent-Length: ${capture.length}\r\n\r\n`,
      );
      const bodyAt = await trickle(slowBody, bytesAsText(capture), 10, 100, 8000);
      assert.ok(bodyAt !== null && bodyAt < 5000, `slow body cut after ${bodyAt} ms`);

      // A client that goes away mid-upload.
      const gone = await connect(port);
      gone.socket.write(
        `POST /api/upload?name=gone.pcapng HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `Content-Length: ${capture.length}\r\n\r\n`,
      );
      gone.socket.write(capture.subarray(0, 20_000));
      await sleep(300);
      gone.socket.destroy();

      const log = () => s.log().split("\n");
      await waitFor(
        "the aborted upload's log line",
        () => log().some((l) => l.includes("'gone.pcapng' aborted")),
        {
          timeoutMs: 10_000,
        },
      );
      for (const name of ["slow.pcapng", "gone.pcapng"]) {
        const lines = log().filter((l) => l.includes(name));
        assert.equal(lines.length, 1, `one line for ${name}: ${lines.join(" | ")}`);
        assert.match(lines[0], /^wiresight: web: upload '.*' aborted after \d+ bytes: /);
      }
      assert.ok(!/^\s+at /m.test(s.log()), `no stack trace in the log:\n${s.log()}`);
      // A normal client is served as before.
      const ok = await curl(`${s.origin}/api/captures`);
      assert.equal(ok.status, 200);
    });
  } finally {
    await cleanup();
  }
});

Deno.test("web hardening: chunked bodies and keep-alive requests pass the guard, pauses between them too", async () => {
  const [db, cleanup] = await tempDb();
  try {
    const args = ["--listen", "127.0.0.1:0", "--db", db, "--header-timeout", "1", "--body-timeout", "1"];
    await withServe(args, async (s) => {
      const c = await connect(portOf(s));
      const capture = await Deno.readFile(SAMPLE);
      const chunks = [];
      for (let i = 0; i < capture.length; i += 7000) {
        const piece = capture.subarray(i, i + 7000);
        chunks.push(
          `${piece.length.toString(16)};ext=1\r\n`,
          bytesAsText(piece),
          "\r\n",
        );
      }
      const get = `GET /api/captures HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
      // A chunked upload with a trailer, and a request pipelined right behind it.
      c.socket.write(
        `POST /api/upload?name=chunked.pcapng&wait=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `Transfer-Encoding: chunked\r\n\r\n${chunks.join("")}0\r\nX-Trailer: 1\r\n\r\n${get}`,
        "latin1",
      );
      const answers = () => c.received().match(/HTTP\/1.1 \d+/g) ?? [];
      await waitFor("two answers on one connection", () => answers().length >= 2, { timeoutMs: 30_000 });
      // Longer than the head and body timeouts between requests: not cut (the answer came).
      await sleep(2500);
      c.socket.write(get);
      await waitFor("a third answer after the pause", () => answers().length >= 3, { timeoutMs: 10_000 });
      assert.deepEqual(answers(), ["HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 200"]);
      assert.match(c.received(), /"name":"chunked.pcapng".*"status":"done"/s);
      const stored = Number(c.received().match(/"packets":(\d+)/)?.[1]);
      assert.equal(stored, (await capinfos(SAMPLE)).packets, "the chunked upload arrived whole");
      c.socket.destroy();
    });
  } finally {
    await cleanup();
  }
});

Deno.test("web hardening: connections past the limit get 503 with Retry-After; a freed one is served", async () => {
  const [db, cleanup] = await tempDb();
  try {
    const args = ["--listen", "127.0.0.1:0", "--db", db, "--max-connections", "3", "--header-timeout", "60"];
    await withServe(args, async (s) => {
      const held = await Promise.all([0, 1, 2].map(() => connect(portOf(s))));
      await sleep(300);
      const refused = await curl(`${s.origin}/api/captures`);
      assert.equal(refused.status, 503);
      assert.ok(Number(refused.headers["retry-after"]) > 0, "Retry-After");
      assertIncludes(refused.body, "connections open");
      held[0].socket.destroy();
      await held[0].closed;
      const served = await waitFor("a request served once a connection is free", async () => {
        const r = await curl(`${s.origin}/api/captures`);
        return r.status === 200 ? r : null;
      }, { timeoutMs: 5000 });
      assertIncludes(served.body, "sessions");
      for (const h of held) h.socket.destroy();
    });
  } finally {
    await cleanup();
  }
});

Deno.test("web hardening: the token redirect only goes to this server's paths; a malformed Host gets 400", async () => {
  const [db, cleanup] = await tempDb();
  try {
    await withServe(["--listen", "127.0.0.1:0", "--db", db, "--token", TOKEN], async (s) => {
      const port = portOf(s);
      const get = (target: string, host = `127.0.0.1:${port}`) =>
        raw(port, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      for (
        const target of [
          "//evil.example/x",
          "/\\evil.example/x",
          "/%2F%2Fevil.example/x",
          "/%2f/evil.example",
          "/%5Cevil.example/x",
          "/%5C%5Cevil.example",
          "/%09/evil.example",
          "/\\/evil.example",
        ]
      ) {
        const r = await get(`${target}?token=${TOKEN}`);
        assert.equal(r.status, 400, `${target}: ${r.head}`);
        assert.equal(header(r.head, "location"), undefined, `${target}: no Location`);
        assert.ok(header(r.head, "content-security-policy"), `${target}: security headers`);
      }
      // The oracle for "same origin": how a browser (WHATWG URL) resolves the Location.
      for (const [target, expected] of [["/", "/"], ["/api/captures?limit=5", "/api/captures?limit=5"]]) {
        const sep = target.includes("?") ? "&" : "?";
        const r = await get(`${target}${sep}token=${TOKEN}`);
        assert.equal(r.status, 303, `${target}: ${r.head}`);
        const location = header(r.head, "location")!;
        assert.equal(location, expected);
        assert.equal(new URL(location, s.origin).origin, s.origin);
      }
      for (const host of ["127.0.0.1:abc", "127.0.0.1:99999", "a b", "evil.example/x", ""]) {
        const r = await get("/api/captures", host);
        assert.equal(r.status, 400, `Host '${host}': ${r.head}`);
        assert.ok(header(r.head, "content-security-policy"), `Host '${host}': security headers`);
        assert.equal(header(r.head, "x-frame-options"), "deny");
      }
      const bracketed = await raw(
        port,
        `GET /api/captures HTTP/1.1\r\nHost: [::1]:${port}\r\nAuthorization: Bearer ${TOKEN}\r\n` +
          "Connection: close\r\n\r\n",
      );
      assert.equal(bracketed.status, 200, `an IPv6 Host is well-formed: ${bracketed.head}`);
    });
  } finally {
    await cleanup();
  }
});

Deno.test("serve: an address the host lacks or a port in use is one line on stderr, exit 1; bad limits are usage errors", async () => {
  const [db, cleanup] = await tempDb();
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const cases: [string, RegExp][] = [
      ["192.0.2.77:8080", /^wiresight: cannot listen on 192\.0\.2\.77:8080: this host has no such address/],
      [`127.0.0.1:${busy.addr.port}`, /^wiresight: cannot listen on 127\.0\.0\.1:\d+: the port is in use/],
    ];
    for (const [listen, message] of cases) {
      const r = await wiresight(["serve", "--listen", listen, "--db", db]);
      assert.equal(r.code, 1, `${listen}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, `one line for ${listen}: ${r.stderr}`);
      assert.match(lines[0], message);
      assert.equal(r.stdout, "");
    }
    for (
      const bad of [["--header-timeout", "0"], ["--body-timeout", "x"], ["--analyses", "0"], [
        "--max-connections",
        "0",
      ]]
    ) {
      const r = await wiresight(["serve", ...bad, "--db", db]);
      assert.equal(r.code, 2, `${bad.join(" ")} is a usage error: ${r.stderr}`);
    }
  } finally {
    busy.close();
    await cleanup();
  }
});
