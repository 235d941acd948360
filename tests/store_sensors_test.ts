// Many sensors, one history: `read --store` of two corpus captures under two sensor names into
// one SQLite file, then `serve` on it: the sensors list, and every data endpoint filtered by
// sensor, with the counts each read's own report gave, and the same rows the server's own
// analysis of the same file stores (one recorder for both).
import assert from "node:assert/strict";
import { assertIncludes, wiresight } from "./helpers/cli.ts";
import { corpusFile } from "./helpers/corpus.ts";
import { curlJson, upload, withServe } from "./helpers/web.ts";

const FILES = { alpha: corpusFile("sv-http-all-headers.pcap"), beta: corpusFile("dns_udp.pcap") };
const LISTS = ["flows", "packets", "dns", "http", "tls", "alerts"];

Deno.test("read --store: two captures as two sensors in one SQLite history; the API filters by sensor", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight-sensors-" });
  try {
    const db = `${dir}/h.sqlite`;
    const reports: Record<string, Record<string, unknown>> = {};
    for (const [sensor, file] of Object.entries(FILES)) {
      const r = await wiresight([
        "read",
        file,
        "--report",
        "json",
        "--detect",
        "--store",
        "--sensor",
        sensor,
        "--db",
        db,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assertIncludes(r.stderr, `of sensor ${sensor} in sqlite ${db}`);
      reports[sensor] = JSON.parse(r.stdout);
    }
    // Store options without --store are a usage error, not silently ignored.
    const stray = await wiresight(["read", FILES.alpha, "--db", db]);
    assert.equal(stray.code, 2);
    assertIncludes(stray.stderr, "--db: only with --store");
    const strayCapture = await wiresight(["capture", "-i", "lo", "--sensor", "x"]);
    assert.equal(strayCapture.code, 2);
    assertIncludes(strayCapture.stderr, "--sensor: only with --store");
    const both = await wiresight(["capture", "-i", "lo", "--store", "--serve"]);
    assert.equal(both.code, 2);
    assertIncludes(both.stderr, "--store does not go with --serve");
    const badName = await wiresight(["read", FILES.alpha, "--store", "--db", db, "--sensor", " "]);
    assert.equal(badName.code, 2);
    assertIncludes(badName.stderr, "--sensor takes 1 to 64 printable characters");

    await withServe(
      ["--listen", "127.0.0.1:0", "--db", db, "--sensor", "local", "--no-capture"],
      async (s) => {
        const get = async (path: string, status = 200) => {
          const r = await curlJson(`${s.origin}/api/${path}`);
          assert.equal(r.status, status, `${path}: ${r.body}`);
          return r.json;
        };
        // The server's own analysis of the same files, under its own sensor.
        const own: Record<string, number> = {};
        for (const [sensor, file] of Object.entries(FILES)) {
          const up = await upload(s.origin, file, `${sensor}.pcap`);
          assert.equal(up.json.status, "done");
          own[sensor] = up.json.session;
        }
        const { sensors, local } = await get("sensors");
        assert.equal(local, "local");
        assert.deepEqual(
          sensors.map((
            x: { name: string; sessions: number; running: unknown[] },
          ) => [x.name, x.sessions, x.running]),
          [["alpha", 1, []], ["beta", 1, []], ["local", 2, []]],
        );
        for (const [sensor, report] of Object.entries(reports)) {
          const [session, ...more] = (await get(`captures?sensor=${sensor}`)).sessions;
          assert.equal(more.length, 0);
          assert.deepEqual(
            [session.sensor, session.kind, session.status, session.name, session.packets, session.flows],
            [sensor, "file", "done", FILES[sensor as keyof typeof FILES], report.packets, report.flows],
          );
          // "latest" of a sensor is its newest session: the read's, not the uploads made since.
          const stats = await get(`stats?sensor=${sensor}`);
          assert.equal(stats.session.id, session.id);
          assert.deepEqual([stats.packets, stats.bytes, stats.flows], [
            report.packets,
            report.bytes,
            report.flows,
          ]);
          const flows = await get(`flows?sensor=${sensor}&limit=1000`);
          assert.equal(flows.total, report.flows);
          for (const list of LISTS) {
            const mine = await get(`${list}?sensor=${sensor}&limit=1000`);
            const theirs = await get(`${list}?session=${own[sensor]}&limit=1000`);
            assert.equal(mine.session, session.id);
            assert.equal(mine.total, theirs.total, `${sensor} ${list}`);
            if (list !== "packets" && list !== "alerts") {
              assert.deepEqual(mine.rows, theirs.rows, `${sensor} ${list}`);
            }
          }
          // A session of another sensor is not found under this one.
          const other = sensor === "alpha" ? own.beta : own.alpha;
          await get(`stats?sensor=${sensor}&session=${other}`, 404);
          await get(`captures/${other}?sensor=${sensor}`, 404);
        }
        const http = reports.alpha.http as { requests: number; responses: number };
        assert.ok(http.requests > 0);
        assert.equal((await get("http?sensor=alpha")).total, http.requests + http.responses);
        assert.equal((await get("http?sensor=beta")).total, 0);
        assert.ok((await get("dns?sensor=beta")).total > 0);
        assert.equal((await get("dns?sensor=alpha")).total, 0);
        await get("stats?sensor=nobody", 404);
        assert.equal((await get("captures")).sessions.length, 4);
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
