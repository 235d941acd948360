// The web view's JSON API through a real client (curl) against `wiresight serve`: an upload's
// numbers equal `wiresight read --report json` and tshark; lists filter and page; bad uploads,
// hostile filters and path traversal are refused with clear errors; headers on every route.
import assert from "node:assert/strict";
import { assertIncludes, SAMPLE, wiresight } from "./helpers/cli.ts";
import { corpusFile } from "./helpers/corpus.ts";
import { curl, curlJson, upload, withServe } from "./helpers/web.ts";
import { parseListen } from "../src/cli/serve.ts";
import { runTool } from "./helpers/tool.ts";
import { waitFor, waitForText } from "./helpers/wait.ts";

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "wiresight-web-" });
}

async function readReport(file: string) {
  const r = await wiresight(["read", file, "--report", "json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function tsharkCount(file: string, filter: string): Promise<number> {
  const out = await runTool("tshark", ["-n", "-r", file, "-Y", filter, "-T", "fields", "-e", "frame.number"]);
  return out.stdout.split("\n").filter((l) => l.trim()).length;
}

Deno.test("web api: an uploaded capture's numbers equal read --report json and tshark", async () => {
  const dir = await tempDir();
  try {
    await withServe(["--listen", "127.0.0.1:0", "--db", `${dir}/h.sqlite`], async (s) => {
      for (const name of ["sample.pcapng", "dns_tcp.pcap", "sv-tls-alpn-log-detect-02.pcap"]) {
        const file = name === "sample.pcapng" ? SAMPLE : corpusFile(name);
        const up = await upload(s.origin, file, name);
        assert.equal(up.status, 200, up.body);
        assert.equal(up.json.status, "done");
        const id = up.json.session;
        const report = await readReport(file);
        const api = async (path: string, query = "") =>
          (await curlJson(`${s.origin}/api/${path}?session=${id}${query}`)).json;
        const stats = await api("stats");
        for (const k of ["packets", "bytes", "flows", "start", "end", "duration_s", "rates", "malformed"]) {
          assert.deepEqual(stats[k], report[k], `${name}: ${k}`);
        }
        assert.equal(stats.session.name, name);
        assert.equal(stats.packets, await tsharkCount(file, "frame"));
        const protocols = (await api("protocols")).protocols;
        assert.deepEqual(
          Object.fromEntries(protocols.map(({ name, ...p }: { name: string }) => [name, p])),
          report.protocols,
        );
        const talkers = await api("top-talkers");
        assert.deepEqual(talkers.top_talkers, report.top_talkers);
        assert.deepEqual(talkers.top_conversations, report.top_conversations);
        assert.deepEqual((await api("ports")).top_ports, report.top_ports);
        const flows = await api("flows", "&limit=1000");
        assert.equal(flows.total, report.flow_table.records);
        assert.equal(
          flows.rows.reduce((n: number, f: { packets: number }) => n + f.packets, 0),
          report.packets,
        );
        const timeline = (await api("timeline")).points;
        assert.equal(
          timeline.reduce((n: number, p: { packets: number }) => n + p.packets, 0),
          report.packets,
        );
        const packets = await api("packets", "&limit=5&offset=2");
        assert.equal(packets.total, report.packets);
        assert.deepEqual(packets.rows.map((p: { frame: number }) => p.frame), [3, 4, 5, 6, 7]);
        assert.equal((await api("dns")).total, await tsharkCount(file, "dns"));
        assert.equal(
          (await api("tls")).total,
          await tsharkCount(
            file,
            "tls.handshake.type == 1 || tls.handshake.type == 2 || tls.handshake.type == 11",
          ),
        );
      }
      const sessions = (await curlJson(`${s.origin}/api/captures`)).json.sessions;
      assert.deepEqual(sessions.map((x: { name: string }) => x.name), [
        "sv-tls-alpn-log-detect-02.pcap",
        "dns_tcp.pcap",
        "sample.pcapng",
      ]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("web api: flows filter, sort and page; hostile filter strings match nothing", async () => {
  const dir = await tempDir();
  try {
    await withServe([SAMPLE, "--listen", "127.0.0.1:0", "--db", `${dir}/h.sqlite`], async (s) => {
      const flows = async (query: string) => (await curlJson(`${s.origin}/api/flows?${query}`)).json;
      const all = await flows("limit=1000");
      assert.equal(all.total, 26);
      const dns = await flows("protocol=UDP&port=53&limit=1000");
      assert.ok(dns.total > 0);
      assert.ok(
        dns.rows.every((f: Record<string, unknown>) =>
          f.protocol === "UDP" && (f.dst_port === 53 || f.src_port === 53)
        ),
      );
      const http = await flows("app=http&sort=bytes&order=desc&limit=1000");
      const bytes = http.rows.map((f: { bytes: number }) => f.bytes);
      assert.deepEqual(bytes, [...bytes].sort((a: number, b: number) => b - a));
      assert.equal(http.total, all.rows.filter((f: { app: string }) => f.app === "http").length);
      const page1 = await flows("limit=10&offset=0&sort=flow_id");
      const page3 = await flows("limit=10&offset=20&sort=flow_id");
      assert.equal(page1.rows.length, 10);
      assert.equal(page3.rows.length, 6);
      for (const hostile of ["' OR 1=1 --", '"; DROP TABLE flows; --', "%", "_", "127.0.0.1' OR 'a'='a"]) {
        const q = encodeURIComponent(hostile);
        for (const param of ["q", "protocol", "host", "app", "process"]) {
          const r = await curlJson(`${s.origin}/api/flows?${param}=${q}`);
          assert.equal(r.status, 200);
          assert.equal(r.json.total, 0, `${param}=${hostile}`);
        }
      }
      assert.equal((await flows("limit=1000")).total, 26, "flows intact");
      const badSort = await curlJson(
        `${s.origin}/api/flows?sort=${encodeURIComponent("bytes; DROP TABLE flows")}`,
      );
      assert.equal(badSort.status, 400);
      assertIncludes(badSort.json.error, "cannot sort flows");
      for (
        const [query, part] of [
          ["limit=0", "'limit'"],
          ["port=70000", "'port'"],
          ["session=x", "'session'"],
          [
            "order=sideways",
            "'order'",
          ],
        ]
      ) {
        const r = await curlJson(`${s.origin}/api/flows?${query}`);
        assert.equal(r.status, 400, query);
        assertIncludes(r.json.error, part);
      }
      assert.equal((await curlJson(`${s.origin}/api/flows?session=999`)).status, 404);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("web api: bad uploads are refused with clear errors; nothing lands outside the server's own files", async () => {
  const dir = await tempDir();
  try {
    const text = `${dir}/notes.pcap`;
    await Deno.writeTextFile(text, "GET / HTTP/1.1\r\nHost: example\r\n\r\n");
    const sample = await Deno.readFile(SAMPLE);
    const header = `${dir}/header.pcapng`;
    await Deno.writeFile(header, sample.subarray(0, 10));
    const cut = `${dir}/cut.pcapng`;
    await Deno.writeFile(cut, sample.subarray(0, 20_000));
    const big = `${dir}/big.pcap`;
    const bigBytes = new Uint8Array(3 << 20);
    bigBytes.set(sample.subarray(0, 24));
    await Deno.writeFile(big, bigBytes);
    await withServe(
      ["--listen", "127.0.0.1:0", "--db", `${dir}/h.sqlite`, "--max-upload", "1"],
      async (s) => {
        const notCapture = await upload(s.origin, text, "notes.pcap");
        assert.equal(notCapture.status, 415);
        assertIncludes(notCapture.json.error, "not a pcap or pcapng capture (it starts with 47 45 54 20)");
        const truncated = await upload(s.origin, header, "header.pcapng");
        assert.equal(truncated.status, 422);
        assertIncludes(truncated.json.error, "truncated");
        const oversized = await upload(s.origin, big, "big.pcap");
        assert.equal(oversized.status, 413);
        assertIncludes(oversized.json.error, "over the upload limit of 1 MiB");
        // Without Content-Length (chunked), the limit holds while streaming.
        const chunked = await upload(s.origin, big, "big.pcap", ["-H", "transfer-encoding: chunked"]);
        assert.equal(chunked.status, 413);
        assertIncludes(chunked.json.error, "over the limit of 1 MiB");
        const wrongName = await upload(s.origin, SAMPLE, "sample.exe");
        assert.equal(wrongName.status, 415);
        assertIncludes(wrongName.json.error, "not a capture file name");
        // Cut mid-record: analysed up to the cut, with the reader's warning.
        const partial = await upload(s.origin, cut, "cut.pcapng");
        assert.equal(partial.status, 200);
        assert.equal(partial.json.status, "done");
        const stats = (await curlJson(`${s.origin}/api/stats?session=${partial.json.session}`)).json;
        const expected = await readReport(cut);
        assert.equal(stats.packets, expected.packets);
        assert.ok(stats.packets > 0 && stats.packets < 192);
        assert.match(stats.warnings.join("\n"), /cut\.pcapng .*cut short|cut\.pcapng .*truncated/i);
        assert.doesNotMatch(JSON.stringify(stats), /wiresight-uploads|upload-\d+/, "no server path shown");
        // A name with a path keeps only its base name; the file lands in the server's own directory.
        const traversal = await upload(s.origin, SAMPLE, "../../../../tmp/wiresight-escaped.pcapng");
        assert.equal(traversal.status, 200);
        const session = (await curlJson(`${s.origin}/api/captures/${traversal.json.session}`)).json;
        assert.equal(session.name, "wiresight-escaped.pcapng");
        await assert.rejects(() => Deno.stat("/tmp/wiresight-escaped.pcapng"), Deno.errors.NotFound);
        const sessions = (await curlJson(`${s.origin}/api/captures`)).json.sessions;
        assert.deepEqual(sessions.map((x: { name: string }) => x.name), [
          "wiresight-escaped.pcapng",
          "cut.pcapng",
        ]);
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("web api: security headers everywhere, loopback Host only, same-origin changes, no path traversal", async () => {
  const dir = await tempDir();
  try {
    await withServe(["--listen", "127.0.0.1:0", "--db", `${dir}/h.sqlite`], async (s) => {
      assert.match(s.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
      for (const path of ["/", "/assets/app.js", "/assets/app.css", "/api/stats", "/api/captures", "/nope"]) {
        const r = await curl(`${s.origin}${path}`);
        assertIncludes(r.headers["content-security-policy"] ?? "", "default-src 'none'", path);
        assertIncludes(r.headers["content-security-policy"] ?? "", "script-src 'self'", path);
        assertIncludes(r.headers["content-security-policy"] ?? "", "frame-ancestors 'none'", path);
        assert.equal(r.headers["x-content-type-options"], "nosniff", path);
        assert.equal(r.headers["x-frame-options"], "DENY", path);
        assert.equal(r.headers["referrer-policy"], "no-referrer", path);
      }
      const sse = await curl(`${s.origin}/api/events`, ["--max-time", "1"]).catch((e) => e as Error);
      // curl stops the endless stream at --max-time; the headers came before that.
      assert.ok(sse instanceof Error);
      // 28: --max-time ended the endless stream, as meant.
      const headers = await runTool(
        "curl",
        ["-sS", "-D", "-", "-o", "/dev/null", "--max-time", "1", `${s.origin}/api/events`],
        { okCodes: [28] },
      );
      const sseHeaders = headers.stdout.toLowerCase();
      assertIncludes(sseHeaders, "content-type: text/event-stream");
      assertIncludes(sseHeaders, "content-security-policy: default-src 'none'");
      const page = await curl(`${s.origin}/`);
      assert.equal(page.status, 200);
      assertIncludes(page.body, '<script type="module" src="/assets/app.js"></script>');
      // DNS rebinding: a page served under another name that resolves to 127.0.0.1.
      const rebound = await curl(`${s.origin}/api/captures`, ["-H", "Host: evil.example:80"]);
      assert.equal(rebound.status, 403);
      const crossSite = await curl(`${s.origin}/api/capture/stop`, [
        "-X",
        "POST",
        "-H",
        "Origin: http://evil.example",
      ]);
      assert.equal(crossSite.status, 403);
      for (
        const path of [
          "/assets/../../deno.json",
          "/assets/%2e%2e/%2e%2e/deno.json",
          "/..%2f..%2f..%2fetc%2fpasswd",
          "/assets/..%2f..%2fsrc%2fcli%2fmain.ts",
          "/%2e%2e/%2e%2e/etc/passwd",
          "/assets/app.js/../../../../etc/passwd",
          "/web/index.html",
          "/src/cli/main.ts",
        ]
      ) {
        const r = await curl(`${s.origin}${path}`, ["--path-as-is"]);
        assert.ok(r.status === 404 || r.status === 400, `${path}: ${r.status}`);
        assert.doesNotMatch(r.body, /root:x:0|"tasks"|import \{/, path);
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve: listens on 127.0.0.1:8080 unless told; bad options are usage errors", async () => {
  assert.deepEqual(parseListen(undefined), { hostname: "127.0.0.1", port: 8080 });
  assert.deepEqual(parseListen("9000"), { hostname: "127.0.0.1", port: 9000 });
  assert.deepEqual(parseListen("[::1]:9000"), { hostname: "::1", port: 9000 });
  assert.deepEqual(parseListen(":9000"), { hostname: "0.0.0.0", port: 9000 });
  for (
    const args of [["--listen", "1.2.3.4:99999"], ["--token", "short"], ["--max-upload", "0"], [
      "--retain",
      "x",
    ]]
  ) {
    const r = await wiresight(["serve", ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
  }
  const help = await wiresight(["serve", "--help"]);
  assert.equal(help.code, 0);
  assertIncludes(help.stdout, "--retain DAYS");
});

Deno.test("serve: --retain deletes old sessions at start", async () => {
  const dir = await tempDir();
  try {
    const db = `${dir}/h.sqlite`;
    await withServe([SAMPLE, "--listen", "127.0.0.1:0", "--db", db], async (s) => {
      assert.equal((await curlJson(`${s.origin}/api/captures`)).json.sessions.length, 1);
    });
    await new Promise((r) => setTimeout(r, 50));
    // 0.0000001 days = 8.6 ms: the session from before is older than that.
    await withServe(["--listen", "127.0.0.1:0", "--db", db, "--retain", "0.0000001"], async (s) => {
      assertIncludes(s.log(), "deleted 1 sessions older than");
      assert.deepEqual((await curlJson(`${s.origin}/api/captures`)).json.sessions, []);
      assert.equal((await curlJson(`${s.origin}/api/stats`)).status, 404);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve: each session says its size; --retain SIZE keeps the newest sessions that fit", async () => {
  const dir = await tempDir();
  try {
    const db = `${dir}/h.sqlite`;
    for (let i = 0; i < 2; i++) {
      await withServe([SAMPLE, "--listen", "127.0.0.1:0", "--db", db], async () => {});
    }
    let sessions: { id: number; stored_bytes: number }[] = [];
    await withServe(["--listen", "127.0.0.1:0", "--db", db], async (s) => {
      sessions = (await curlJson(`${s.origin}/api/captures`)).json.sessions;
    });
    assert.equal(sessions.length, 2);
    assert.ok(sessions.every((x) => x.stored_bytes > 10_000), JSON.stringify(sessions));
    // Room for the newest only (a size in bytes, as the list gives it): the older one goes.
    await withServe(
      ["--listen", "127.0.0.1:0", "--db", db, "--retain", `${sessions[0].stored_bytes}B`, "--retain", "30"],
      async (s) => {
        assertIncludes(s.log(), "deleted 1 old sessions to keep the history under");
        const left = (await curlJson(`${s.origin}/api/captures`)).json.sessions;
        assert.deepEqual(left.map((x: { id: number }) => x.id), [sessions[0].id]);
      },
    );
    for (const bad of ["5XB", "-1", "1GB,2GB"]) {
      const r = await wiresight(["serve", "--db", db, "--retain", bad]);
      assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
      assertIncludes(r.stderr, "--retain");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("web api: a session's alerts are the ones read --detect raises on the same capture", async () => {
  const dir = await tempDir();
  try {
    await withServe(["--listen", "127.0.0.1:0", "--db", `${dir}/h.sqlite`], async (s) => {
      for (const name of ["sv-http-auth-bearer.pcap", "dns_udp_8053.pcap", "sv-tls-tls-random.pcap"]) {
        const file = corpusFile(name);
        const r = await wiresight(["read", file, "--detect", "--report", "json"]);
        assert.equal(r.code, 0, r.stderr);
        const json = JSON.parse(r.stdout);
        // The store keeps alerts and notices alike.
        const expected: Record<string, unknown>[] = [...json.alerts, ...json.notices].flatMap((
          g: { alerts: Record<string, unknown>[] },
        ) => g.alerts);
        assert.ok(expected.length > 0, `${name} raises alerts`);
        const up = await upload(s.origin, file, name);
        assert.equal(up.status, 200);
        const alerts = (await curlJson(`${s.origin}/api/alerts?session=${up.json.session}&limit=1000`)).json;
        const epoch = (t: string) => Date.parse(t.replace(/(\.\d{3})\d*/, "$1").replace(/\+0000$/, "Z"));
        const shape = (a: Record<string, unknown>, evidence: Record<string, unknown>) => ({
          id: a.id,
          type: a.type,
          severity: a.severity,
          first_seen: epoch(String(a.first_seen)),
          last_seen: epoch(String(a.last_seen)),
          message: evidence.message,
          count: evidence.count,
        });
        assert.deepEqual(
          alerts.rows.map((a: Record<string, unknown>) => shape(a, a.evidence as Record<string, unknown>)),
          expected.map((a: Record<string, unknown>) => shape(a, a)),
          name,
        );
        const one = expected[0];
        const bySeverity = await curlJson(
          `${s.origin}/api/alerts?session=${up.json.session}&severity=${one.severity}`,
        );
        assert.ok(bySeverity.json.rows.every((a: { severity: string }) => a.severity === one.severity));
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("web api: upload progress and the new session reach an event-stream client", async () => {
  const dir = await tempDir();
  try {
    await withServe(["--listen", "127.0.0.1:0", "--db", `${dir}/h.sqlite`], async (s) => {
      const events = new Deno.Command("curl", {
        args: ["-sS", "-N", "--max-time", "120", `${s.origin}/api/events`],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      let text = "";
      const reading = (async () => {
        const dec = new TextDecoder();
        for await (const chunk of events.stdout) text += dec.decode(chunk, { stream: true });
      })();
      // Subscribed: the stream opens with the capture status.
      await waitForText("the event stream to open", () => text, "event: capture\n");
      const r = await curlJson(`${s.origin}/api/upload?name=afs.pcap`, [
        "-X",
        "POST",
        "--data-binary",
        `@${corpusFile("afs.pcap")}`,
      ]);
      assert.equal(r.status, 202);
      assert.equal(r.json.status, "running");
      await waitFor(
        "the analysis to finish",
        async () => (await curlJson(`${s.origin}/api/captures/${r.json.session}`)).json.status !== "running",
      );
      const parsed = () =>
        [...text.matchAll(/event: (\w+)\ndata: (.*)\n/g)].map((m) => [m[1], JSON.parse(m[2])]);
      // The last events are pushed as the analysis ends: the upload's "done", the new session.
      await waitFor("the upload's last events", () => {
        const events = parsed();
        return events.some(([e, d]) => e === "upload" && d.phase === "done") &&
          events.some(([e, d]) => e === "sessions" && d.changed === r.json.session);
      }, { detail: () => text });
      events.kill("SIGTERM");
      await events.status;
      await reading;
      const received = parsed();
      assert.equal(received[0][0], "capture", "the stream opens with the capture status");
      const progress = received.filter(([e]) => e === "upload").map(([, d]) => d);
      assert.ok(progress.length >= 1, text);
      assert.deepEqual(progress.at(-1), {
        ...progress.at(-1),
        session: r.json.session,
        name: "afs.pcap",
        phase: "done",
        bytes: r.json.size,
        size: r.json.size,
      });
      assert.ok(received.some(([e, d]) => e === "sessions" && d.changed === r.json.session));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
