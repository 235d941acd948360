// What every session store must do, run against SQLite and PostgreSQL alike: sessions analysed
// from real corpus captures, lists sorted, filtered and paged, hostile filter strings kept as
// values, migrations (and a database made by an older wiresight upgraded), retention.
import assert from "node:assert/strict";
import { analyzeIntoSession } from "../../src/server/analysis.ts";
import {
  type Db,
  migrate,
  SqlStore,
  storedFlowColumns,
  StoreVersionError,
} from "../../src/store/sql_store.ts";
import { addColumns, type Migration, MIGRATIONS } from "../../src/store/schema.ts";
import { RECORD_KINDS, STALE_AFTER_MS } from "../../src/store/types.ts";
import { SessionRecorder } from "../../src/store/recorder.ts";
import type { Row } from "../../src/base/columns.ts";
import { corpusFile } from "./corpus.ts";
import { run } from "./cli.ts";

/** A fresh, empty database each call. */
export type FreshDb = () => Promise<Db>;

const HOSTILE = [
  "'; DROP TABLE flows; --",
  '" OR 1=1 --',
  "' OR '1'='1",
  "%",
  "_",
  "\\",
  "x'); DELETE FROM sessions; --",
  "１２７",
];

async function tsharkCount(file: string, filter: string): Promise<number> {
  const r = await run("tshark", ["-n", "-r", file, "-Y", filter, "-T", "fields", "-e", "frame.number"]);
  if (r.code !== 0) throw new Error(`tshark failed: ${r.stderr}`);
  return r.stdout.split("\n").filter((l) => l.trim()).length;
}

async function withStore<T>(
  fresh: FreshDb,
  fn: (store: SqlStore, db: Db) => Promise<T>,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<T> {
  const db = await fresh();
  await migrate(db, migrations);
  const store = new SqlStore(db, "test", migrations);
  try {
    return await fn(store, db);
  } finally {
    await store.close();
  }
}

const ALL = { limit: 1000, offset: 0 };
const SAMPLE = new URL("../../samples/sample.pcapng", import.meta.url).pathname;

/** A session's lists as the store gives them back. */
async function lists(store: SqlStore, id: number) {
  const q = { limit: 100_000, offset: 0 };
  const records: Record<string, Row[]> = {};
  for (const kind of RECORD_KINDS) records[kind] = (await store.records(id, kind, q)).rows;
  return {
    flows: (await store.flows(id, { ...q, sort: "flow_id" })).rows,
    packets: (await store.packets(id, q)).rows,
    records,
    alerts: (await store.alerts(id, q)).rows,
  };
}

const pick = (row: Row, columns: readonly string[]) => Object.fromEntries(columns.map((c) => [c, row[c]]));

/**
 * A database written by a wiresight that knew only OLD is opened by one that knows CURRENT: the
 * migrations after OLD run, the old session reads back as it was (columns added since hold null),
 * and a new session is stored as in a database made by CURRENT from the start.
 */
async function upgradeFrom(fresh: FreshDb, old: readonly Migration[], current: readonly Migration[]) {
  const want = await withStore(fresh, async (store) => {
    const id = await store.createSession({ kind: "file", name: "sample", sensor: "test" });
    await analyzeIntoSession(store, id, [SAMPLE]);
    return await lists(store, id);
  }, current);
  assert.ok(want.flows.length && want.packets.length && want.records.dns.length);
  const db = await fresh();
  try {
    await migrate(db, old);
    const before = new SqlStore(db, "old", old);
    const oldId = await before.createSession({ kind: "file", name: "old", sensor: "test" });
    await analyzeIntoSession(before, oldId, [SAMPLE]);
    const stored = await lists(before, oldId);
    const oldColumns = storedFlowColumns(old);
    const newColumns = storedFlowColumns(current).filter((c) => !oldColumns.includes(c));
    assert.deepEqual(stored.flows.map((r) => Object.keys(r)), stored.flows.map(() => oldColumns));

    const later = current.map((m) => m.version).filter((v) => !old.some((m) => m.version === v));
    assert.deepEqual(await migrate(db, current), later);
    const after = new SqlStore(db, "current", current);
    const back = await lists(after, oldId);
    assert.deepEqual(
      back.flows.map((r) => pick(r, oldColumns)),
      stored.flows.map((r) => pick(r, oldColumns)),
      "old flows read back",
    );
    for (const r of back.flows) {
      for (const c of newColumns) assert.equal(r[c], null, `${c}, added after the old session`);
    }
    assert.deepEqual({ ...back, flows: [] }, { ...stored, flows: [] }, "old packets, records, alerts");
    assert.equal((await after.session(oldId))!.name, "old");

    const newId = await after.createSession({ kind: "file", name: "new", sensor: "test" });
    await analyzeIntoSession(after, newId, [SAMPLE]);
    assert.deepEqual(await lists(after, newId), want, "a new session as in a new database");
  } finally {
    await db.close();
  }
}

export function storeContract(t: Deno.TestContext, fresh: FreshDb) {
  return {
    async sessionsFromCorpus() {
      await t.step(
        "a corpus capture analysed into a session: counts match tshark",
        () =>
          withStore(fresh, async (store) => {
            const file = corpusFile("dns_udp.pcap");
            const id = await store.createSession({ kind: "file", name: "dns_udp.pcap", sensor: "test" });
            const report = await analyzeIntoSession(store, id, [file]);
            const s = (await store.session(id))!;
            assert.equal(s.status, "done");
            assert.equal(s.packets, await tsharkCount(file, "frame"));
            assert.equal(s.packets, report.packets);
            assert.equal(s.bytes, report.bytes);
            assert.equal(s.flows, report.flows);
            assert.deepEqual((s.report as Record<string, unknown>).top_talkers, report.top_talkers);
            const packets = await store.packets(id, ALL);
            assert.equal(packets.total, s.packets);
            const dns = await store.records(id, "dns", ALL);
            assert.equal(dns.total, await tsharkCount(file, "dns"));
            const flows = await store.flows(id, ALL);
            assert.equal(flows.total, report.flow_table.records);
            assert.equal(flows.rows.reduce((n, f) => n + Number(f.packets), 0), report.packets);
            assert.equal(s.timeline.reduce((n, p) => n + p.packets, 0), report.packets);
          }),
      );
    },

    async listsQueries() {
      await t.step(
        "flows sort, filter, search and page on the server",
        () =>
          withStore(fresh, async (store) => {
            const id = await store.createSession({ kind: "file", name: "sample", sensor: "test" });
            await analyzeIntoSession(store, id, [
              new URL("../../samples/sample.pcapng", import.meta.url).pathname,
            ]);
            const all = await store.flows(id, ALL);
            assert.equal(all.total, 26);
            const sorted = await store.flows(id, { ...ALL, sort: "bytes", order: "desc" });
            const bytes = sorted.rows.map((r) => Number(r.bytes));
            assert.deepEqual(bytes, [...bytes].sort((a, b) => b - a));
            const udp = await store.flows(id, { ...ALL, where: { protocol: "UDP" } });
            assert.equal(udp.total, all.rows.filter((r) => r.protocol === "UDP").length);
            assert.ok(udp.total > 0 && udp.rows.every((r) => r.protocol === "UDP"));
            const port = await store.flows(id, { ...ALL, port: 8080 });
            assert.equal(
              port.total,
              all.rows.filter((r) => r.src_port === 8080 || r.dst_port === 8080).length,
            );
            const http = await store.flows(id, { ...ALL, q: "HTTP" });
            assert.ok(http.total > 0);
            assert.ok(
              http.rows.every((r) => [r.app, r.server_name, r.service].some((v) => /http/i.test(String(v)))),
            );
            const pages: Row[] = [];
            for (let offset = 0; offset < all.total; offset += 7) {
              pages.push(...(await store.flows(id, { limit: 7, offset, sort: "flow_id" })).rows);
            }
            assert.deepEqual(
              pages.map((r) => r.flow_id),
              all.rows.map((r) => r.flow_id).sort((a, b) => Number(a) - Number(b)),
            );
            await assert.rejects(
              () => store.flows(id, { ...ALL, sort: "bytes; DROP TABLE flows" }),
              RangeError,
            );
            await assert.rejects(
              () => store.flows(id, { ...ALL, where: { "1=1 OR protocol": "x" } }),
              RangeError,
            );
          }),
      );
    },

    async hostileStrings() {
      await t.step("hostile strings are values, never SQL", () =>
        withStore(fresh, async (store) => {
          const id = await store.createSession({ kind: "upload", name: HOSTILE[0], sensor: HOSTILE[6] });
          await analyzeIntoSession(store, id, [
            new URL("../../samples/sample.pcapng", import.meta.url).pathname,
          ]);
          for (const s of HOSTILE) {
            const byText = await store.flows(id, { ...ALL, q: s });
            // Only the literal characters match: '%' and '_' appear in no address or name here.
            assert.equal(byText.total, 0, `search ${JSON.stringify(s)}`);
            assert.equal((await store.flows(id, { ...ALL, where: { protocol: s } })).total, 0);
            assert.equal((await store.flows(id, { ...ALL, host: s })).total, 0);
            assert.equal((await store.records(id, "dns", { ...ALL, q: s })).total, 0);
          }
          assert.equal((await store.flows(id, ALL)).total, 26, "flows intact");
          const s = (await store.session(id))!;
          assert.equal(s.name, HOSTILE[0]);
          assert.equal(s.sensor, HOSTILE[6]);
          const alerts = HOSTILE.map((h, i) => ({
            id: `a${i}`,
            type: h,
            severity: "high",
            first_seen: "2024-01-01T00:00:00Z",
            last_seen: "2024-01-01T00:00:01Z",
            src: h,
            dst: null,
            evidence: { note: h, n: i },
          }));
          await store.setAlerts(id, alerts.slice(0, 2));
          await store.setAlerts(id, alerts);
          const back = await store.alerts(id, { ...ALL, sort: "first_seen" });
          assert.deepEqual(
            back.rows.sort((a, b) => a.id.localeCompare(b.id)),
            alerts.sort((a, b) => a.id.localeCompare(b.id)),
          );
          assert.equal((await store.alerts(id, { ...ALL, where: { type: HOSTILE[2] } })).total, 1);
          assert.equal((await store.alerts(id, { ...ALL, q: "%" })).total, 1, "'%' matches itself only");
        }));
    },

    async deletionAndRetention() {
      await t.step(
        "deleting a session and retention remove its rows",
        () =>
          withStore(fresh, async (store, db) => {
            const sample = new URL("../../samples/sample.pcapng", import.meta.url).pathname;
            const old = await store.createSession({ kind: "file", name: "old", sensor: "test" });
            await analyzeIntoSession(store, old, [sample]);
            const running = await store.createSession({ kind: "capture", name: "running", sensor: "test" });
            await new Promise((r) => setTimeout(r, 20));
            const cut = Date.now();
            await new Promise((r) => setTimeout(r, 20));
            const recent = await store.createSession({ kind: "file", name: "recent", sensor: "test" });
            await analyzeIntoSession(store, recent, [sample]);
            assert.equal(await store.deleteBefore(cut), 1);
            assert.deepEqual((await store.sessions()).map((s) => s.id).sort(), [running, recent].sort());
            for (const table of ["flows", "records", "packets"]) {
              const left = await db.all(`SELECT COUNT(*) AS n FROM ${table} WHERE session_id = ?`, [old]);
              assert.equal(Number(left[0].n), 0, `${table} of the old session`);
            }
            assert.equal((await store.flows(recent, ALL)).total, 26);
            assert.equal(await store.deleteSession(recent), true);
            assert.equal(await store.deleteSession(recent), false);
            assert.equal(await store.session(recent), null);
            const left = await db.all("SELECT COUNT(*) AS n FROM flows", []);
            assert.equal(Number(left[0].n), 0);
          }),
      );
    },

    async sensorsAndStaleness() {
      await t.step(
        "sensors: sessions per sensor, running captures by heartbeat, a silent one stale and deletable",
        () =>
          withStore(fresh, async (store, db) => {
            const done = await store.createSession({ kind: "file", name: "a file", sensor: "alpha" });
            await analyzeIntoSession(store, done, [SAMPLE]);
            const live = await store.createSession({
              kind: "capture",
              name: "capture on eth0",
              sensor: "alpha",
            });
            const dead = await store.createSession({
              kind: "capture",
              name: "capture on eth1",
              sensor: "beta",
            });
            // The live one's heartbeat: its counts so far (what a page shows while it runs).
            const recorder = new SessionRecorder(store, live);
            recorder.timeline.add(1, 100);
            await recorder.heartbeat();
            assert.deepEqual((await store.session(live))!.timeline, [{
              t: 1,
              width_s: 1,
              packets: 1,
              bytes: 100,
            }]);
            // The dead one stopped beating (killed) longer ago than the staleness rule allows.
            await db.batch([{
              sql: "UPDATE sessions SET updated_ms = ? WHERE id = ?",
              params: [Date.now() - STALE_AFTER_MS - 1000, dead],
            }]);
            const byId = new Map((await store.sessions()).map((s) => [s.id, s]));
            assert.equal(byId.get(done)!.status, "done");
            assert.equal(byId.get(live)!.status, "running");
            assert.equal(byId.get(dead)!.status, "stale");
            assert.equal((await store.session(dead))!.status, "stale");
            assert.deepEqual((await store.sessions(10, "alpha")).map((s) => s.id), [live, done]);
            assert.deepEqual((await store.sessions(10, "beta")).map((s) => s.id), [dead]);
            assert.deepEqual(await store.sessions(10, "nobody"), []);
            const sensors = await store.sensors();
            assert.deepEqual(
              sensors.map((s) => [s.name, s.sessions, s.running.map((r) => r.id)]),
              [["alpha", 2, [live]], ["beta", 1, []]],
            );
            assert.ok(sensors[0].last_seen_ms >= byId.get(live)!.updated_ms);
            // Retention keeps a running capture, not a stale one.
            assert.equal(await store.deleteBefore(Date.now() + 1000), 2);
            assert.deepEqual((await store.sessions()).map((s) => s.id), [live]);
          }),
      );
    },

    async sizeAndRetentionBySize() {
      await t.step(
        "each session's size grows with what it holds; retention by size keeps the newest that fit",
        () =>
          withStore(fresh, async (store) => {
            const small = await store.createSession({ kind: "file", name: "small", sensor: "test" });
            await analyzeIntoSession(store, small, [SAMPLE]);
            const big = await store.createSession({ kind: "file", name: "big", sensor: "test" });
            await analyzeIntoSession(store, big, [SAMPLE, SAMPLE]);
            const again = await store.createSession({ kind: "file", name: "again", sensor: "test" });
            await analyzeIntoSession(store, again, [SAMPLE]);
            const running = await store.createSession({ kind: "capture", name: "running", sensor: "test" });
            const size = async (id: number) => (await store.session(id))!.stored_bytes;
            const [s1, s2, s3] = [await size(small), await size(big), await size(again)];
            // The sample holds 192 packets, each stored as a row of a few hundred bytes at least.
            assert.ok(s1 > 192 * 100, `size ${s1}`);
            assert.equal(s3, s1, "the same capture, the same size");
            assert.ok(s2 > s1 * 1.5, `twice the packets: ${s2} against ${s1}`);
            assert.deepEqual(
              (await store.sessions()).map((s) => [s.id, s.stored_bytes]),
              [[running, 0], [again, s3], [big, s2], [small, s1]],
            );
            assert.equal(await store.deleteBeyond(s3 + s2 + s1), 0, "all fit");
            assert.equal(await store.deleteBeyond(s3 + s2), 1, "the oldest goes");
            assert.deepEqual((await store.sessions()).map((s) => s.id), [running, again, big]);
            assert.equal(await store.deleteBeyond(0), 2, "a running capture stays whatever the size");
            assert.deepEqual((await store.sessions()).map((s) => s.id), [running]);
          }),
      );
    },

    async upgrade() {
      await t.step("a database made by migration 1 only is migrated, read back and written", () => {
        const first = MIGRATIONS.filter((m) => m.version === 1);
        return upgradeFrom(fresh, first, MIGRATIONS);
      });
      // The same with a migration that adds flow columns (as one will): here, migration 1 as if it
      // had no app and server_name (the sample's flows have them), and a migration 2 that adds them.
      await t.step("a migration adding flow columns: old rows read back with null there", () => {
        const v1 = MIGRATIONS.find((m) => m.version === 1)!;
        const later = ["app", "server_name"];
        const flows = Object.entries(v1.columns!.flows);
        const earlier: Migration = {
          ...v1,
          columns: { flows: Object.fromEntries(flows.filter(([c]) => !later.includes(c))) },
          statements: (
            d,
          ) => [...v1.statements(d), ...later.map((c) => `ALTER TABLE flows DROP COLUMN "${c}"`)],
        };
        const v2 = addColumns(2, "test: app and server name", {
          flows: Object.fromEntries(flows.filter(([c]) => later.includes(c))),
        });
        return upgradeFrom(fresh, [earlier], [earlier, v2]);
      });
    },

    async migrations() {
      await t.step("migrations: applied once, in order, atomically; a newer schema is refused", async () => {
        const db = await fresh();
        try {
          assert.deepEqual(await migrate(db), MIGRATIONS.map((m) => m.version));
          assert.deepEqual(await migrate(db), []);
          const store = new SqlStore(db, "test");
          const id = await store.createSession({ kind: "file", name: "kept", sensor: "test" });
          const next = MIGRATIONS.length + 1;
          const v2 = {
            version: next,
            description: "test: a column added later",
            statements: () => ["ALTER TABLE sessions ADD COLUMN note TEXT"],
          };
          assert.deepEqual(await migrate(db, [...MIGRATIONS, v2]), [next]);
          assert.equal((await store.session(id))!.name, "kept");
          const broken = {
            version: next + 1,
            description: "test: fails half way",
            statements: () => ["CREATE TABLE half_done (x INTEGER)", "THIS IS NOT SQL"],
          };
          await assert.rejects(() => migrate(db, [...MIGRATIONS, v2, broken]));
          const versions = await db.all("SELECT version FROM schema_migrations ORDER BY version", []);
          assert.deepEqual(versions.map((r) => Number(r.version)), [
            ...MIGRATIONS.map((m) => m.version),
            next,
          ]);
          await assert.rejects(
            () => db.all("SELECT * FROM half_done", []),
            "the failed migration left nothing",
          );
          // This wiresight does not know the test migration: the store is ahead of it.
          await assert.rejects(() => migrate(db), StoreVersionError);
        } finally {
          await db.close();
        }
      });
    },
  };
}
