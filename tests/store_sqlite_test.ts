// The embedded history store (SQLite through node:sqlite) against the store contract, and how
// it is opened: the default file under the user's data directory, --db, bad choices.
import assert from "node:assert/strict";
import { SqliteDb } from "../src/store/sqlite.ts";
import { dataDir, openStore, StoreOpenError } from "../src/store/open.ts";
import { storeContract } from "./helpers/store_contract.ts";

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
