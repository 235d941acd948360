// The history's tables, as numbered migrations written once for SQLite and PostgreSQL (the
// dialect fills in the few types that differ). A store is migrated when opened; one written by a
// newer wiresight is refused rather than misread. A migration, once released, never changes: the
// columns it creates are written out here, not taken from the exports (a new export column comes
// with a new migration that adds it; tests/store_schema_test.ts checks that one does).
import type { ColumnType } from "../base/columns.ts";

export interface Dialect {
  name: "sqlite" | "postgres";
  /** An auto-numbered primary key. */
  id: string;
  /** 64-bit integers. */
  int: string;
  real: string;
}

export const SQLITE: Dialect = {
  name: "sqlite",
  id: "INTEGER PRIMARY KEY AUTOINCREMENT",
  int: "INTEGER",
  real: "REAL",
};
export const POSTGRES: Dialect = {
  name: "postgres",
  id: "BIGSERIAL PRIMARY KEY",
  int: "BIGINT",
  real: "DOUBLE PRECISION",
};

/** The SQL type of a column (booleans are stored as 0 and 1, lists as JSON text). */
function sqlType(type: ColumnType, d: Dialect): string {
  return type === "integer" || type === "boolean" ? d.int : type === "real" ? d.real : "TEXT";
}

/** Typed columns of a table, in order. */
export type TableColumns = Readonly<Record<string, ColumnType>>;

export interface Migration {
  version: number;
  description: string;
  statements(d: Dialect): string[];
  /** The typed columns it creates or adds, per table (those the store fills from an export). */
  columns?: Readonly<Record<string, TableColumns>>;
}

/** A migration that adds COLUMNS (per table) to existing tables: old rows hold null there. */
export function addColumns(
  version: number,
  description: string,
  columns: Readonly<Record<string, TableColumns>>,
): Migration {
  return {
    version,
    description,
    columns,
    statements: (d) =>
      Object.entries(columns).flatMap(([table, cols]) =>
        Object.entries(cols).map(([c, type]) => `ALTER TABLE ${table} ADD COLUMN "${c}" ${sqlType(type, d)}`)
      ),
  };
}

/** The flows table as migration 1 created it: the flow export's columns of that time. */
const FLOWS_V1: TableColumns = {
  flow_id: "integer",
  record_seq: "integer",
  start: "text",
  end: "text",
  duration_s: "real",
  ip_version: "integer",
  protocol: "text",
  src: "text",
  src_port: "integer",
  dst: "text",
  dst_port: "integer",
  service: "text",
  vlan: "integer",
  iface: "integer",
  packets_a_to_b: "integer",
  bytes_a_to_b: "integer",
  packets_b_to_a: "integer",
  bytes_b_to_a: "integer",
  packets: "integer",
  bytes: "integer",
  tcp_flags_a: "text",
  tcp_flags_b: "text",
  tcp_state: "text",
  end_reason: "text",
  fragments: "integer",
  app: "text",
  server_name: "text",
  pid: "integer",
  process: "text",
  exe: "text",
  user: "text",
};

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "sessions, flows, application records, packets, alerts",
    columns: { flows: FLOWS_V1 },
    statements: (d) => [
      `CREATE TABLE sessions (
        id ${d.id},
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        sensor TEXT NOT NULL,
        status TEXT NOT NULL,
        error TEXT,
        created_ms ${d.int} NOT NULL,
        updated_ms ${d.int} NOT NULL,
        packets ${d.int} NOT NULL DEFAULT 0,
        bytes ${d.int} NOT NULL DEFAULT 0,
        flows ${d.int} NOT NULL DEFAULT 0,
        start_epoch ${d.real},
        end_epoch ${d.real},
        report TEXT,
        timeline TEXT
      )`,
      `CREATE INDEX sessions_created ON sessions (created_ms)`,
      `CREATE TABLE flows (
        id ${d.id},
        session_id ${d.int} NOT NULL,
        ${Object.entries(FLOWS_V1).map(([c, type]) => `"${c}" ${sqlType(type, d)}`).join(",\n        ")}
      )`,
      `CREATE INDEX flows_session ON flows (session_id)`,
      `CREATE TABLE records (
        id ${d.id},
        session_id ${d.int} NOT NULL,
        kind TEXT NOT NULL,
        time TEXT,
        flow_id ${d.int},
        src TEXT,
        src_port ${d.int},
        dst TEXT,
        dst_port ${d.int},
        name TEXT,
        row TEXT NOT NULL
      )`,
      `CREATE INDEX records_session ON records (session_id, kind)`,
      `CREATE TABLE packets (
        id ${d.id},
        session_id ${d.int} NOT NULL,
        frame ${d.int} NOT NULL,
        time TEXT,
        protocol TEXT,
        src TEXT,
        src_port ${d.int},
        dst TEXT,
        dst_port ${d.int},
        len ${d.int},
        row TEXT NOT NULL
      )`,
      `CREATE INDEX packets_session ON packets (session_id, frame)`,
      `CREATE TABLE alerts (
        id ${d.id},
        session_id ${d.int} NOT NULL,
        alert_id TEXT NOT NULL,
        type TEXT NOT NULL,
        severity TEXT NOT NULL,
        first_seen TEXT,
        last_seen TEXT,
        src TEXT,
        dst TEXT,
        evidence TEXT NOT NULL
      )`,
      `CREATE INDEX alerts_session ON alerts (session_id)`,
    ],
  },
  addColumns(2, "flows: the responder's process (both ends of a local connection)", {
    flows: {
      responder_pid: "integer",
      responder_process: "text",
      responder_exe: "text",
      responder_user: "text",
    },
  }),
  addColumns(3, "sessions: the bytes its rows take (a session's size, --retain by size)", {
    sessions: { stored_bytes: "integer" },
  }),
  addColumns(4, "flows: the Community ID (joins with Zeek's and Suricata's records)", {
    flows: { community_id: "text" },
  }),
  addColumns(5, "flows: the tunnels a flow rode in (tunnel_parents) and the innermost one's kind", {
    flows: { tunnel_parents: "integers", tunnel: "text" },
  }),
  {
    version: 6,
    description: "sessions by sensor (the web view lists and filters sessions per sensor)",
    statements: () => [`CREATE INDEX sessions_sensor ON sessions (sensor, id)`],
  },
  addColumns(7, "flows: country and AS of each end (geoip)", {
    flows: {
      src_country: "text",
      src_asn: "integer",
      src_as_org: "text",
      dst_country: "text",
      dst_asn: "integer",
      dst_as_org: "text",
    },
  }),
];

/** The typed columns of TABLE once MIGRATIONS have run (those they created or added). */
export function tableColumns(table: string, migrations: readonly Migration[] = MIGRATIONS): TableColumns {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  return Object.assign({}, ...sorted.map((m) => m.columns?.[table] ?? {}));
}

/** Tables that hang off a session (deleted with it). */
export const SESSION_CHILD_TABLES = ["flows", "records", "packets", "alerts"] as const;
