// The embedded history store (SQLite through node:sqlite) against the store contract, and how
// it is opened: the default file under the user's data directory, --db, bad choices.
import assert from "node:assert/strict";
import { SqliteDb } from "../src/store/sqlite.ts";
import { dataDir, openStore, StoreOpenError } from "../src/store/open.ts";
import { storeContract } from "./helpers/store_contract.ts";
import { corpusFile } from "./helpers/corpus.ts";
import { analyzeIntoSession } from "../src/server/analysis.ts";
import { existsSync } from "node:fs";
import { SAMPLE } from "./helpers/cli.ts";

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "wiresight-store-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sqlite store: the store contract", (t) =>
  withTempDir(async (dir) => {
    let n = 0;
    const contract = storeContract(t, () => Promise.resolve(new SqliteDb(`${dir}/db${++n}.sqlite`)));
    await contract.sessionsFromCorpus();
    await contract.listsQueries();
    await contract.hostileStrings();
    await contract.deletionAndRetention();
    await contract.sensorsAndStaleness();
    await contract.sizeAndRetentionBySize();
    await contract.upgrade();
    await contract.migrations();
  }));

Deno.test("sqlite store: opened under the data directory by default, or at --db", () =>
  withTempDir(async (dir) => {
    assert.equal(
      dataDir((k) => ({ HOME: "/home/u" } as Record<string, string>)[k]),
      "/home/u/.local/share/wiresight",
    );
    assert.equal(
      dataDir((k) => ({ HOME: "/home/u", XDG_DATA_HOME: "/x" } as Record<string, string>)[k]),
      "/x/wiresight",
    );
    const path = `${dir}/nested/dir/h.sqlite`;
    const store = await openStore({ dbPath: path });
    const id = await store.createSession({ kind: "file", name: "a", sensor: "s" });
    await store.close();
    const again = await openStore({ dbPath: path });
    assert.deepEqual((await again.sessions()).map((s) => s.id), [id]);
    assert.equal(again.kind, "sqlite");
    assert.equal(again.location, path);
    await again.close();
    await assert.rejects(
      () => openStore({ dbPath: `${dir}/h.sqlite`, databaseUrl: "postgres://x/y" }),
      StoreOpenError,
    );
    await assert.rejects(() => openStore({ databaseUrl: "mysql://x/y" }), /postgres:\/\//);
    await Deno.writeTextFile(
      `${dir}/not.sqlite`,
      "this is not a database, just text that is long enough to matter",
    );
    await assert.rejects(() => openStore({ dbPath: `${dir}/not.sqlite` }), StoreOpenError);
  }));

Deno.test("sqlite store: a session's size is about what it adds to the database file", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/h.sqlite`;
    const fileBytes = () =>
      [path, `${path}-wal`].reduce((n, f) => n + (existsSync(f) ? Deno.statSync(f).size : 0), 0);
    const store = await openStore({ dbPath: path });
    const id = await store.createSession({ kind: "file", name: "c", sensor: "s" });
    const before = fileBytes();
    await analyzeIntoSession(store, id, [corpusFile("dns_udp_2.pcap"), SAMPLE]);
    await store.close();
    // SQLite's own pages (checkpointed on close) against the size the store reports: within 2x
    // either way (indexes and page slack on one side, 8 bytes per small number on the other).
    const grown = fileBytes() - before;
    const again = await openStore({ dbPath: path });
    const stored = (await again.session(id))!.stored_bytes;
    await again.close();
    assert.ok(
      stored > 0 && grown / stored > 0.5 && grown / stored < 2,
      `file grew ${grown}, stored ${stored}`,
    );
  }));
