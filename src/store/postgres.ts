// The shared store: PostgreSQL through the `postgres` driver, for several sensors writing one
// history. Statements keep their `?` placeholders up to here and become $1, $2 ... with the
// values sent separately (the extended protocol), never spliced into the text.
import postgres from "postgres";
import { POSTGRES } from "./schema.ts";
import type { Db, Param, Statement } from "./sql_store.ts";

/** PostgreSQL takes at most 65535 parameters per statement. */
const MAX_PARAMS = 60000;

/** `?` -> `$n` (the store's SQL has no `?` inside string literals). */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

type Sql = ReturnType<typeof postgres>;
type Runner = Pick<Sql, "unsafe">;

export class PostgresDb implements Db {
  readonly dialect = POSTGRES;
  readonly #sql: Sql;

  constructor(url: string) {
    this.#sql = postgres(url, {
      max: 4,
      onnotice: () => {},
      // Counters are BIGINT: read them as numbers (exact up to 2^53), not strings.
      types: {
        bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
      },
    });
  }

  async all(sql: string, params: Param[]): Promise<Record<string, unknown>[]> {
    return [...await this.#sql.unsafe(numbered(sql), params)];
  }

  async batch(statements: Statement[]): Promise<void> {
    await this.#sql.begin(async (tx: Runner) => {
      for (const s of statements) await tx.unsafe(numbered(s.sql), s.params);
    });
  }

  async insertMany(table: string, columns: readonly string[], rows: Param[][]): Promise<void> {
    const perStatement = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
    const head = `INSERT INTO ${table} (${columns.map((c) => `"${c}"`).join(", ")}) VALUES `;
    const tuple = `(${columns.map(() => "?").join(", ")})`;
    await this.#sql.begin(async (tx: Runner) => {
      for (let i = 0; i < rows.length; i += perStatement) {
        const chunk = rows.slice(i, i + perStatement);
        await tx.unsafe(numbered(head + chunk.map(() => tuple).join(", ")), chunk.flat());
      }
    });
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }
}

/** The URL as it may be shown: without its password. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgres://(unparsable URL)";
  }
}
