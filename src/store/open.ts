// Which store to use: PostgreSQL when DATABASE_URL names one, else the SQLite file given by --db
// or kept under the user's data directory. Opening migrates the schema.
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { PostgresDb, redactedUrl } from "./postgres.ts";
import { SqliteDb } from "./sqlite.ts";
import { type Db, migrate, SqlStore } from "./sql_store.ts";
import type { SessionStore } from "./types.ts";

/** The store could not be opened: says which and why, with what to do. */
export class StoreOpenError extends Error {}

/** The per-user data directory (XDG on Linux, Application Support on macOS, LOCALAPPDATA on Windows). */
export function dataDir(env: (name: string) => string | undefined = (n) => Deno.env.get(n)): string {
  const home = env("HOME") ?? env("USERPROFILE") ?? ".";
  if (Deno.build.os === "windows") {
    return join(env("LOCALAPPDATA") ?? join(home, "AppData", "Local"), "wiresight");
  }
  if (Deno.build.os === "darwin") return join(home, "Library", "Application Support", "wiresight");
  return join(env("XDG_DATA_HOME") || join(home, ".local", "share"), "wiresight");
}

export const DEFAULT_DB_NAME = "history.sqlite";

export interface StoreChoice {
  /** --db PATH (SQLite). */
  dbPath?: string;
  /** DATABASE_URL (postgres:// or postgresql://). */
  databaseUrl?: string;
}

export async function openStore(choice: StoreChoice): Promise<SessionStore> {
  const url = choice.databaseUrl;
  if (url && !/^postgres(ql)?:\/\//.test(url)) {
    throw new StoreOpenError(
      `DATABASE_URL must start with postgres:// or postgresql://, not '${redactedUrl(url)}'`,
    );
  }
  if (url && choice.dbPath) {
    throw new StoreOpenError("give either --db PATH (SQLite) or DATABASE_URL (PostgreSQL), not both");
  }
  let db: Db;
  let location: string;
  if (url) {
    location = redactedUrl(url);
    db = new PostgresDb(url);
  } else {
    location = choice.dbPath ?? join(dataDir(), DEFAULT_DB_NAME);
    try {
      mkdirSync(dirname(location), { recursive: true });
      db = new SqliteDb(location);
    } catch (e) {
      throw new StoreOpenError(`cannot open the history database ${location}: ${(e as Error).message}`);
    }
  }
  try {
    await migrate(db);
  } catch (e) {
    await db.close().catch(() => {});
    if (e instanceof StoreOpenError) throw e;
    throw new StoreOpenError(`history database ${location}: ${(e as Error).message}`);
  }
  return new SqlStore(db, location);
}
