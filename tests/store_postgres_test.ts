// The shared history store (PostgreSQL through the `postgres` driver) against the same store
// contract as SQLite, on a real server these tests start (Debian's postgresql); and the web
// view's API answers the same from either store.
import { PostgresDb } from "../src/store/postgres.ts";
import { storeContract } from "./helpers/store_contract.ts";
import { withPostgres } from "./helpers/postgres.ts";
import assert from "node:assert/strict";
import { MAIN, run, SAMPLE, taskFlags } from "./helpers/cli.ts";
import { corpusFile } from "./helpers/corpus.ts";
import { curlJson, upload, withServe } from "./helpers/web.ts";

Deno.test("postgres store: the store contract on a real server", (t) =>
  withPostgres(async (pg) => {
    const contract = storeContract(t, async () => new PostgresDb(await pg.createDatabase()));
    await contract.sessionsFromCorpus();
    await contract.listsQueries();
    await contract.hostileStrings();
    await contract.deletionAndRetention();
    await contract.sensorsAndStaleness();
    await contract.sizeAndRetentionBySize();
    await contract.upgrade();
    await contract.migrations();
  }));

/** Every page's data for each session, without what differs between two stores (ids, times). */
async function everyAnswer(origin: string): Promise<unknown[]> {
  const { json } = await curlJson(`${origin}/api/captures`);
  const out: unknown[] = [];
  for (const s of json.sessions) {
    const get = async (path: string) => {
      const r = await curlJson(`${origin}/api/${path}${path.includes("?") ? "&" : "?"}session=${s.id}`);
      assert.equal(r.status, 200, `${path}: ${r.body}`);
      const { session: _, ...rest } = r.json;
      return rest;
    };
    out.push({
      name: s.name,
      sensor: s.sensor,
      status: s.status,
      counts: [s.packets, s.bytes, s.flows],
      answers: await Promise.all([
        "stats",
        "protocols",
        "timeline",
        "top-talkers",
        "ports",
        "processes",
        "flows?limit=1000&sort=flow_id",
        "flows?protocol=UDP&sort=bytes&order=desc",
        "flows?q=http&sort=flow_id",
        "packets?limit=50&offset=10",
        "dns?limit=1000",
        "http?limit=1000",
        "tls?limit=1000",
        "alerts?limit=1000",
      ].map(get)),
    });
  }
  return out;
}

Deno.test("postgres store: the same sessions read through the API from SQLite and PostgreSQL; sensors share it", () =>
  withPostgres(async (pg) => {
    const url = await pg.createDatabase();
    const dir = await Deno.makeTempDir({ prefix: "wiresight-stores-" });
    try {
      const files = [SAMPLE, corpusFile("dns_tcp.pcap"), corpusFile("sv-http-auth-bearer.pcap")];
      const args = [...files, "--listen", "127.0.0.1:0", "--sensor", "sensor-a"];
      const fromSqlite = await withServe([...args, "--db", `${dir}/h.sqlite`], (s) => everyAnswer(s.origin));
      const fromPostgres = await withServe(args, async (s) => {
        assert.match(s.log(), /history: postgres postgres:\/\/postgres@127\.0\.0\.1/);
        return await everyAnswer(s.origin);
      }, { env: { DATABASE_URL: url } });
      assert.equal(fromSqlite.length, 3);
      assert.deepEqual(fromPostgres, fromSqlite);
      // A second sensor writes into the same PostgreSQL history; both see all sessions.
      await withServe(
        [corpusFile("afs.pcap"), "--listen", "127.0.0.1:0", "--sensor", "sensor-b"],
        async (s) => {
          const sessions = (await curlJson(`${s.origin}/api/captures`)).json.sessions;
          assert.deepEqual(sessions.map((x: { sensor: string }) => x.sensor), [
            "sensor-b",
            "sensor-a",
            "sensor-a",
            "sensor-a",
          ]);
          const up = await upload(s.origin, SAMPLE, "again.pcapng");
          assert.equal(up.json.status, "done");
        },
        { env: { DATABASE_URL: url } },
      );
      await withServe(["--listen", "127.0.0.1:0"], async (s) => {
        const names = (await curlJson(`${s.origin}/api/captures`)).json.sessions.map((x: { name: string }) =>
          x.name
        );
        assert.equal(names.length, 5);
        assert.equal(names[0], "again.pcapng");
      }, { env: { DATABASE_URL: url } });
      // An unreachable server is a clear error, not a hang.
      const down = await run(Deno.execPath(), [
        "run",
        ...taskFlags(),
        MAIN,
        "serve",
        "--listen",
        "127.0.0.1:0",
      ], {
        env: { DATABASE_URL: `postgres://postgres@127.0.0.1:${pg.port + 1}/none` },
      });
      assert.equal(down.code, 1);
      assert.match(
        down.stderr,
        /history database postgres:\/\/postgres@127\.0\.0\.1:\d+\/none: .*(ECONNREFUSED|connect|refused)/i,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }));
