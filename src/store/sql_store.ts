// The session store over any SQL database: every query is written once here with `?`
// placeholders and values passed apart from the text (never spliced in); the SQLite and
// PostgreSQL adapters only run statements. Sort columns and filters come from fixed lists.
import type { Row } from "../base/columns.ts";
import { FLOW_ROWS } from "../sinks/rows.ts";
import { type Dialect, type Migration, MIGRATIONS, SESSION_CHILD_TABLES, tableColumns } from "./schema.ts";
import {
  type AlertRow,
  FLOW_FILTERS,
  type ListQuery,
  type Page,
  type RecordKind,
  type SensorInfo,
  type SessionDetail,
  type SessionInfo,
  type SessionKind,
  sessionState,
  type SessionStatus,
  type SessionStore,
  type SessionUpdate,
  STALE_AFTER_MS,
} from "./types.ts";

export type Param = string | number | null;

export interface Statement {
  sql: string;
  params: Param[];
}

/** What a database adapter provides (SQLite through node:sqlite, PostgreSQL through `postgres`). */
export interface Db {
  readonly dialect: Dialect;
  all(sql: string, params: Param[]): Promise<Record<string, unknown>[]>;
  /** Runs the statements in one transaction: all or none. */
  batch(statements: Statement[]): Promise<void>;
  /** Inserts rows (values in `columns` order) in one transaction. */
  insertMany(table: string, columns: readonly string[], rows: Param[][]): Promise<void>;
  close(): Promise<void>;
}

/** The store was written by a newer wiresight (its schema is past the migrations known here). */
export class StoreVersionError extends Error {}

/** Brings the schema up to the newest migration; returns the versions applied. */
export async function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  await db.batch([{
    sql: `CREATE TABLE IF NOT EXISTS schema_migrations (version ${db.dialect.int} PRIMARY KEY, ` +
      `description TEXT NOT NULL, applied_ms ${db.dialect.int} NOT NULL)`,
    params: [],
  }]);
  const rows = await db.all("SELECT version FROM schema_migrations ORDER BY version", []);
  const done = new Set(rows.map((r) => Number(r.version)));
  const newest = Math.max(0, ...migrations.map((m) => m.version));
  const ahead = [...done].filter((v) => v > newest);
  if (ahead.length) {
    throw new StoreVersionError(
      `the history database has schema version ${Math.max(...ahead)}, newer than this wiresight knows ` +
        `(${newest}): upgrade wiresight, or point --db / DATABASE_URL at another database`,
    );
  }
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    await db.batch([
      ...m.statements(db.dialect).map((sql) => ({ sql, params: [] })),
      {
        sql: "INSERT INTO schema_migrations (version, description, applied_ms) VALUES (?, ?, ?)",
        params: [m.version, m.description, Date.now()],
      },
    ]);
    applied.push(m.version);
  }
  return applied;
}

/** How one list can be queried: its columns, which sort, which filter, which the search reads. */
interface ListSpec {
  table: string;
  select: readonly string[];
  sortable: readonly string[];
  filterable: readonly string[];
  text: readonly string[];
  defaultSort: string;
}

/**
 * The flow columns a store written by MIGRATIONS keeps: the flow export's, those the migrations
 * made (tests/store_schema_test.ts checks that they made them all, with the export's types).
 */
export function storedFlowColumns(migrations: readonly Migration[] = MIGRATIONS): readonly string[] {
  const table = tableColumns("flows", migrations);
  return FLOW_ROWS.names.filter((c) => c in table);
}

/** The flows list, but for its columns (those its store keeps). */
const FLOWS: Omit<ListSpec, "select" | "sortable"> = {
  table: "flows",
  filterable: FLOW_FILTERS,
  text: [
    "src",
    "dst",
    "app",
    "server_name",
    "process",
    "responder_process",
    "service",
    "exe",
    "responder_exe",
  ],
  defaultSort: "bytes",
};

const RECORDS: ListSpec = {
  table: "records",
  select: ["row"],
  sortable: ["time", "src", "dst", "name"],
  filterable: ["src", "dst", "src_port", "dst_port", "flow_id"],
  text: ["name", "src", "dst"],
  defaultSort: "time",
};

const PACKETS: ListSpec = {
  table: "packets",
  select: ["row"],
  sortable: ["frame", "time", "len", "protocol"],
  filterable: ["protocol", "src", "dst", "src_port", "dst_port"],
  text: ["protocol", "src", "dst"],
  defaultSort: "frame",
};

const ALERTS: ListSpec = {
  table: "alerts",
  select: ["alert_id", "type", "severity", "first_seen", "last_seen", "src", "dst", "evidence"],
  sortable: ["first_seen", "last_seen", "severity", "type"],
  filterable: ["type", "severity", "src", "dst"],
  text: ["type", "src", "dst", "evidence"],
  defaultSort: "first_seen",
};

const SESSION_COLUMNS = [
  "id",
  "kind",
  "name",
  "sensor",
  "status",
  "error",
  "created_ms",
  "updated_ms",
  "packets",
  "bytes",
  "flows",
  "start_epoch",
  "end_epoch",
  "stored_bytes",
];

/** The bytes a row's values take: text as UTF-16 length (near enough), 8 a number. */
function rowBytes(values: readonly Param[]): number {
  let n = 0;
  for (const v of values) n += typeof v === "string" ? v.length : v === null ? 0 : 8;
  return n;
}

/** `%` and `_` match themselves in a search. */
const likePattern = (s: string) => `%${s.toLowerCase().replace(/[\\%_]/g, (c) => "\\" + c)}%`;

/** The parts of a query that select a session's rows of a list, as SQL and its values. */
function whereClause(spec: ListSpec, sessionId: number, q: ListQuery, extra: Statement[] = []): Statement {
  const parts = ["session_id = ?"];
  const params: Param[] = [sessionId];
  for (const e of extra) {
    parts.push(e.sql);
    params.push(...e.params);
  }
  for (const [column, value] of Object.entries(q.where ?? {})) {
    if (!spec.filterable.includes(column)) throw new RangeError(`cannot filter ${spec.table} by '${column}'`);
    parts.push(`"${column}" = ?`);
    params.push(value);
  }
  if (q.host !== undefined) {
    parts.push("(src = ? OR dst = ?)");
    params.push(q.host, q.host);
  }
  if (q.port !== undefined) {
    parts.push("(src_port = ? OR dst_port = ?)");
    params.push(q.port, q.port);
  }
  if (q.q) {
    parts.push(`(${spec.text.map((c) => `LOWER(COALESCE("${c}", '')) LIKE ? ESCAPE '\\'`).join(" OR ")})`);
    params.push(...spec.text.map(() => likePattern(q.q!)));
  }
  return { sql: parts.join(" AND "), params };
}

export class SqlStore implements SessionStore {
  readonly #flowColumns: readonly string[];
  readonly #flows: ListSpec;
  /** Sessions have stored_bytes (migration 3): the session columns read. */
  readonly #sized: boolean;
  readonly #sessionColumns: string;

  /** MIGRATIONS: those the database has had (only tests give fewer, to write as an older store). */
  constructor(
    private readonly db: Db,
    readonly location: string,
    migrations: readonly Migration[] = MIGRATIONS,
  ) {
    this.#flowColumns = storedFlowColumns(migrations);
    this.#flows = { ...FLOWS, select: this.#flowColumns, sortable: this.#flowColumns };
    this.#sized = "stored_bytes" in tableColumns("sessions", migrations);
    this.#sessionColumns = SESSION_COLUMNS.filter((c) => this.#sized || c !== "stored_bytes").join(", ");
  }

  get kind(): string {
    return this.db.dialect.name;
  }

  async createSession(s: { kind: SessionKind; name: string; sensor: string }): Promise<number> {
    const now = Date.now();
    const rows = await this.db.all(
      "INSERT INTO sessions (kind, name, sensor, status, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?) " +
        "RETURNING id",
      [s.kind, s.name, s.sensor, "running", now, now],
    );
    return Number(rows[0].id);
  }

  async updateSession(id: number, u: SessionUpdate): Promise<void> {
    const sets: string[] = ["updated_ms = ?"];
    const params: Param[] = [Date.now()];
    const plain = ["status", "error", "packets", "bytes", "flows", "start_epoch", "end_epoch"] as const;
    for (const k of plain) {
      if (u[k] !== undefined) {
        sets.push(`${k} = ?`);
        params.push(u[k] ?? null);
      }
    }
    if (u.report !== undefined) {
      sets.push("report = ?");
      params.push(JSON.stringify(u.report));
    }
    if (u.timeline !== undefined) {
      sets.push("timeline = ?");
      params.push(JSON.stringify(u.timeline));
    }
    await this.db.batch([{
      sql: `UPDATE sessions SET ${sets.join(", ")} WHERE id = ?`,
      params: [...params, id],
    }]);
  }

  async addFlows(id: number, rows: Row[]): Promise<void> {
    if (!rows.length) return;
    await this.#insert(
      id,
      "flows",
      ["session_id", ...this.#flowColumns],
      rows.map((r) => [id, ...this.#flowColumns.map((c) => param(r[c]))]),
    );
  }

  /** Inserts a session's rows and adds their size to the session's. */
  async #insert(id: number, table: string, columns: string[], rows: Param[][]): Promise<void> {
    await this.db.insertMany(table, columns, rows);
    await this.#grow(id, rows.reduce((n, r) => n + rowBytes(r), 0));
  }

  async #grow(id: number, bytes: number): Promise<void> {
    if (!this.#sized) return;
    await this.db.batch([{
      sql: "UPDATE sessions SET stored_bytes = COALESCE(stored_bytes, 0) + ? WHERE id = ?",
      params: [bytes, id],
    }]);
  }

  async addRecords(id: number, kind: RecordKind, rows: Row[]): Promise<void> {
    if (!rows.length) return;
    const name = (r: Row) => param(kind === "dns" ? r.qname : kind === "http" ? r.host : r.sni);
    await this.#insert(
      id,
      "records",
      ["session_id", "kind", "time", "flow_id", "src", "src_port", "dst", "dst_port", "name", "row"],
      rows.map((r) => [
        id,
        kind,
        param(r.time),
        param(r.flow_id),
        param(r.src),
        param(r.src_port),
        param(r.dst),
        param(r.dst_port),
        name(r),
        JSON.stringify(r),
      ]),
    );
  }

  async addPackets(id: number, rows: Row[]): Promise<void> {
    if (!rows.length) return;
    await this.#insert(
      id,
      "packets",
      ["session_id", "frame", "time", "protocol", "src", "src_port", "dst", "dst_port", "len", "row"],
      rows.map((r) => [
        id,
        param(r.frame),
        param(r.time),
        param(r.protocol),
        param(r.src),
        param(r.src_port),
        param(r.dst),
        param(r.dst_port),
        param(r.len),
        JSON.stringify(r),
      ]),
    );
  }

  async setAlerts(id: number, rows: AlertRow[]): Promise<void> {
    // They replace those stored: the session's size loses the old ones' size.
    const columns = ["alert_id", "type", "severity", "first_seen", "last_seen", "src", "dst", "evidence"];
    const old = await this.db.all(`SELECT ${columns.join(", ")} FROM alerts WHERE session_id = ?`, [id]);
    const oldBytes = old.reduce((n, r) => n + 8 + rowBytes(columns.map((c) => param(r[c]))), 0);
    await this.db.batch([{ sql: "DELETE FROM alerts WHERE session_id = ?", params: [id] }]);
    await this.#grow(id, -oldBytes);
    await this.#insert(
      id,
      "alerts",
      ["session_id", ...columns],
      rows.map((a) => [
        id,
        a.id,
        a.type,
        a.severity,
        a.first_seen,
        a.last_seen,
        a.src,
        a.dst,
        JSON.stringify(a.evidence),
      ]),
    );
  }

  async sessions(limit = 200, sensor?: string): Promise<SessionInfo[]> {
    const rows = await this.db.all(
      `SELECT ${this.#sessionColumns} FROM sessions ${sensor === undefined ? "" : "WHERE sensor = ? "}` +
        "ORDER BY id DESC LIMIT ?",
      sensor === undefined ? [limit] : [sensor, limit],
    );
    const now = Date.now();
    return rows.map((r) => sessionInfo(r, now));
  }

  async sensors(): Promise<SensorInfo[]> {
    const now = Date.now();
    const [sensors, running] = await Promise.all([
      this.db.all(
        "SELECT sensor, COUNT(*) AS n, MAX(updated_ms) AS last_seen_ms FROM sessions GROUP BY sensor " +
          "ORDER BY sensor",
        [],
      ),
      this.db.all(
        `SELECT ${this.#sessionColumns} FROM sessions WHERE status = 'running' AND updated_ms >= ? ` +
          "ORDER BY id DESC LIMIT 1000",
        [now - STALE_AFTER_MS],
      ),
    ]);
    const live = running.map((r) => sessionInfo(r, now));
    return sensors.map((r) => ({
      name: String(r.sensor),
      sessions: Number(r.n),
      running: live.filter((s) => s.sensor === r.sensor),
      last_seen_ms: Number(r.last_seen_ms),
    }));
  }

  async session(id: number): Promise<SessionDetail | null> {
    const rows = await this.db.all(
      `SELECT ${this.#sessionColumns}, report, timeline FROM sessions WHERE id = ?`,
      [id],
    );
    if (!rows.length) return null;
    const r = rows[0];
    return {
      ...sessionInfo(r, Date.now()),
      report: r.report ? JSON.parse(String(r.report)) : null,
      timeline: r.timeline ? JSON.parse(String(r.timeline)) : [],
    };
  }

  async #list(spec: ListSpec, id: number, q: ListQuery, extra: Statement[] = []): Promise<Page> {
    const where = whereClause(spec, id, q, extra);
    const sort = q.sort ?? spec.defaultSort;
    if (!spec.sortable.includes(sort)) throw new RangeError(`cannot sort ${spec.table} by '${sort}'`);
    const order = q.order === "desc" ? "DESC" : "ASC";
    const [count, rows] = await Promise.all([
      this.db.all(`SELECT COUNT(*) AS n FROM ${spec.table} WHERE ${where.sql}`, where.params),
      this.db.all(
        `SELECT ${spec.select.map((c) => `"${c}"`).join(", ")} FROM ${spec.table} WHERE ${where.sql} ` +
          `ORDER BY "${sort}" ${order}, id ${order} LIMIT ? OFFSET ?`,
        [...where.params, q.limit, q.offset],
      ),
    ]);
    return { total: Number(count[0].n), rows: rows as Row[] };
  }

  async flows(id: number, q: ListQuery): Promise<Page> {
    const page = await this.#list(this.#flows, id, q);
    return { ...page, rows: page.rows.map(listsParsed) };
  }

  async records(id: number, kind: RecordKind, q: ListQuery): Promise<Page> {
    const page = await this.#list(RECORDS, id, q, [{ sql: "kind = ?", params: [kind] }]);
    return { total: page.total, rows: page.rows.map((r) => JSON.parse(String(r.row))) };
  }

  async packets(id: number, q: ListQuery): Promise<Page> {
    const page = await this.#list(PACKETS, id, q);
    return { total: page.total, rows: page.rows.map((r) => JSON.parse(String(r.row))) };
  }

  async alerts(id: number, q: ListQuery): Promise<Page<AlertRow>> {
    const page = await this.#list(ALERTS, id, q);
    return {
      total: page.total,
      rows: page.rows.map((r) => ({
        id: String(r.alert_id),
        type: String(r.type),
        severity: String(r.severity),
        first_seen: String(r.first_seen),
        last_seen: String(r.last_seen),
        src: r.src === null ? null : String(r.src),
        dst: r.dst === null ? null : String(r.dst),
        evidence: JSON.parse(String(r.evidence)),
      })),
    };
  }

  async deleteSession(id: number): Promise<boolean> {
    const found = await this.db.all("SELECT id FROM sessions WHERE id = ?", [id]);
    if (!found.length) return false;
    await this.db.batch([
      ...SESSION_CHILD_TABLES.map((t) => ({ sql: `DELETE FROM ${t} WHERE session_id = ?`, params: [id] })),
      { sql: "DELETE FROM sessions WHERE id = ?", params: [id] },
    ]);
    return true;
  }

  async deleteBefore(beforeMs: number): Promise<number> {
    // A capture still running is kept whatever its age (a stale one is not running).
    const old = "SELECT id FROM sessions WHERE created_ms < ? AND (status <> 'running' OR updated_ms < ?)";
    const params = [beforeMs, Date.now() - STALE_AFTER_MS];
    const n = await this.db.all(`SELECT COUNT(*) AS n FROM (${old}) AS old`, params);
    await this.db.batch([
      ...SESSION_CHILD_TABLES.map((t) => ({
        sql: `DELETE FROM ${t} WHERE session_id IN (${old})`,
        params,
      })),
      { sql: `DELETE FROM sessions WHERE id IN (${old})`, params },
    ]);
    return Number(n[0].n);
  }

  async deleteBeyond(maxBytes: number): Promise<number> {
    // Newest first: what the newer sessions (and a running capture) take is kept first.
    const rows = await this.db.all(
      `SELECT id, status, updated_ms, ${
        this.#sized ? "COALESCE(stored_bytes, 0)" : "0"
      } AS size FROM sessions ORDER BY created_ms DESC, id DESC`,
      [],
    );
    let total = 0, deleted = 0;
    const now = Date.now();
    for (const r of rows) {
      total += Number(r.size);
      const running = sessionState(r.status as SessionStatus, Number(r.updated_ms), now) === "running";
      if (total > maxBytes && !running && await this.deleteSession(Number(r.id))) {
        total -= Number(r.size);
        deleted++;
      }
    }
    return deleted;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/** Flow columns that hold a list of integers, kept as JSON text (the SQL types have no lists). */
const LIST_COLUMNS = Object.entries(tableColumns("flows")).filter(([, t]) => t === "integers").map(([c]) =>
  c
);

/** A stored flow row as the export gives it: its lists as lists again. */
function listsParsed(row: Row): Row {
  const out = { ...row };
  for (const c of LIST_COLUMNS) {
    if (typeof out[c] === "string") out[c] = JSON.parse(out[c] as string);
  }
  return out;
}

function param(v: unknown): Param {
  if (v === undefined || v === null) return null;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number" || typeof v === "string") return v;
  return JSON.stringify(v);
}

/** A session row as the history shows it at `nowMs` (a running one may be stale). */
function sessionInfo(r: Record<string, unknown>, nowMs: number): SessionInfo {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: Number(r.id),
    kind: r.kind as SessionKind,
    name: String(r.name),
    sensor: String(r.sensor),
    status: sessionState(r.status as SessionStatus, Number(r.updated_ms), nowMs),
    error: r.error === null || r.error === undefined ? null : String(r.error),
    created_ms: Number(r.created_ms),
    updated_ms: Number(r.updated_ms),
    packets: Number(r.packets),
    bytes: Number(r.bytes),
    flows: Number(r.flows),
    start_epoch: num(r.start_epoch),
    end_epoch: num(r.end_epoch),
    stored_bytes: Number(r.stored_bytes ?? 0),
  };
}
