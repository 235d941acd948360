// The history's tables, as numbered migrations written once for SQLite and PostgreSQL (the
// dialect fills in the few types that differ). A store is migrated when opened; one written by a
// newer wiresight is refused rather than misread.
import { FLOW_COLUMNS } from "../sinks/rows.ts";

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

export interface Migration {
  version: number;
  description: string;
  statements(d: Dialect): string[];
}

/** Flow columns that hold numbers (the rest of FLOW_COLUMNS are text). */
const FLOW_INTEGERS = new Set([
  "flow_id",
  "record_seq",
  "ip_version",
  "src_port",
  "dst_port",
  "vlan",
  "iface",
  "packets_a_to_b",
  "bytes_a_to_b",
  "packets_b_to_a",
  "bytes_b_to_a",
  "packets",
  "bytes",
  "fragments",
  "pid",
]);
const FLOW_REALS = new Set(["duration_s"]);

/** The columns of the flows table in migration 1: FLOW_COLUMNS as exported then. */
export const FLOW_TABLE_COLUMNS: readonly string[] = [...FLOW_COLUMNS];

function flowColumnType(c: string, d: Dialect): string {
  return FLOW_INTEGERS.has(c) ? d.int : FLOW_REALS.has(c) ? d.real : "TEXT";
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "sessions, flows, application records, packets, alerts",
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
        ${FLOW_TABLE_COLUMNS.map((c) => `"${c}" ${flowColumnType(c, d)}`).join(",\n        ")}
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
];

/** Tables that hang off a session (deleted with it). */
export const SESSION_CHILD_TABLES = ["flows", "records", "packets", "alerts"] as const;
