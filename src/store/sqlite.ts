// The embedded store: SQLite through node:sqlite (built into Deno), one file.
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { SQLITE } from "./schema.ts";
import type { Db, Param, Statement } from "./sql_store.ts";

/** node:sqlite is synchronous: its result or error as a promise, as the PostgreSQL driver gives them. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}

export class SqliteDb implements Db {
  readonly dialect = SQLITE;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    // WAL lets the page read while an analysis writes; wait rather than fail when busy.
    this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL");
  }

  #prepare(sql: string): StatementSync {
    let st = this.#statements.get(sql);
    if (!st) {
      st = this.#db.prepare(sql);
      if (this.#statements.size < 256) this.#statements.set(sql, st);
    }
    return st;
  }

  all(sql: string, params: Param[]): Promise<Record<string, unknown>[]> {
    return settle(() => this.#prepare(sql).all(...params) as Record<string, unknown>[]);
  }

  #transaction(fn: () => void): Promise<void> {
    return settle(() => {
      this.#db.exec("BEGIN");
      try {
        fn();
        this.#db.exec("COMMIT");
      } catch (e) {
        this.#db.exec("ROLLBACK");
        throw e;
      }
    });
  }

  batch(statements: Statement[]): Promise<void> {
    return this.#transaction(() => {
      for (const s of statements) this.#prepare(s.sql).run(...s.params);
    });
  }

  insertMany(table: string, columns: readonly string[], rows: Param[][]): Promise<void> {
    return this.#transaction(() => {
      const st = this.#prepare(
        `INSERT INTO ${table} (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${
          columns.map(() => "?").join(", ")
        })`,
      );
      for (const r of rows) st.run(...r);
    });
  }

  close(): Promise<void> {
    return settle(() => {
      this.#statements.clear();
      this.#db.close();
    });
  }
}
