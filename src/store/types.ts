// What the history holds: one session per analysis or capture, with its flows, application
// records (DNS, HTTP, TLS), alerts, a bounded sample of packets, its report and its timeline.
import type { Row } from "../base/columns.ts";

export type SessionKind = "upload" | "file" | "capture";
export type SessionStatus = "running" | "done" | "failed";
/**
 * A session as the history shows it: "stale" is a running session whose writer has not beaten its
 * heartbeat (updated_ms) for STALE_AFTER_MS, a capture killed before it could close its session.
 */
export type SessionState = SessionStatus | "stale";

/** A running session's writer updates it at least this often, idle or not (src/store/recorder.ts). */
export const HEARTBEAT_MS = 2_000;
/** A running session not updated for this long is shown "stale" (and retention may delete it). */
export const STALE_AFTER_MS = 30_000;

/** The state a stored status shows at `nowMs` (the staleness rule). */
export function sessionState(status: SessionStatus, updatedMs: number, nowMs: number): SessionState {
  return status === "running" && nowMs - updatedMs > STALE_AFTER_MS ? "stale" : status;
}

export interface SessionInfo {
  id: number;
  kind: SessionKind;
  /** The file name, or "capture on IFACE". */
  name: string;
  /** The host that analysed or captured it (several sensors may share one PostgreSQL store). */
  sensor: string;
  status: SessionState;
  error: string | null;
  created_ms: number;
  updated_ms: number;
  packets: number;
  bytes: number;
  flows: number;
  start_epoch: number | null;
  end_epoch: number | null;
  /** What its rows take in the store: their text and 8 bytes a number (indexes and pages aside). */
  stored_bytes: number;
}

/** A sensor of the history: the hosts that wrote sessions, with their running captures. */
export interface SensorInfo {
  name: string;
  sessions: number;
  /** Its running (not stale) sessions, newest first, with their counts as last written. */
  running: SessionInfo[];
  /** When it last wrote a session (its newest updated_ms). */
  last_seen_ms: number;
}

/** A session with its report (the `read --report json` object) and its traffic over time. */
export interface SessionDetail extends SessionInfo {
  report: Record<string, unknown> | null;
  timeline: TimelinePoint[];
}

/** Traffic in one bucket of `width_s` seconds starting at `t` (Unix seconds). */
export interface TimelinePoint {
  t: number;
  width_s: number;
  packets: number;
  bytes: number;
}

/** An alert as detectors raise it. */
export interface AlertRow {
  id: string;
  type: string;
  severity: "info" | "low" | "medium" | "high" | "critical" | string;
  first_seen: string;
  last_seen: string;
  src: string | null;
  dst: string | null;
  evidence: Record<string, unknown>;
}

/** Application records kept per session. */
export type RecordKind = "dns" | "http" | "tls";
export const RECORD_KINDS: readonly RecordKind[] = ["dns", "http", "tls"];

/** The flow columns a list can be filtered by (column = value), and those of them that are numbers. */
export const FLOW_FILTERS = [
  "protocol",
  "app",
  "process",
  "responder_process",
  "service",
  "src",
  "dst",
  "src_port",
  "dst_port",
  "pid",
  "responder_pid",
  "user",
] as const;
export const FLOW_NUMERIC_FILTERS = ["src_port", "dst_port", "pid", "responder_pid"] as const;

export interface Page<T = Row> {
  total: number;
  rows: T[];
}

/** Paging and sorting every list takes; `sort` must be one of the list's sortable columns. */
export interface ListQuery {
  limit: number;
  offset: number;
  sort?: string;
  order?: "asc" | "desc";
  /** Case-insensitive substring over the list's text columns. */
  q?: string;
  /** Column = value filters (only the list's filterable columns). */
  where?: Record<string, string | number>;
  /** An address on either side. */
  host?: string;
  /** A port on either side. */
  port?: number;
}

export interface SessionUpdate {
  status?: SessionStatus;
  error?: string | null;
  packets?: number;
  bytes?: number;
  flows?: number;
  start_epoch?: number | null;
  end_epoch?: number | null;
  report?: Record<string, unknown>;
  timeline?: TimelinePoint[];
}

/** What an analysis writes: its rows and its session's state (a worker's analysis forwards these). */
export type SessionWriter = Pick<
  SessionStore,
  "updateSession" | "addFlows" | "addRecords" | "addPackets" | "setAlerts"
>;

export interface SessionStore {
  /** "sqlite" or "postgres". */
  readonly kind: string;
  /** Where it is (file path, or the database URL without its password). */
  readonly location: string;
  createSession(s: { kind: SessionKind; name: string; sensor: string }): Promise<number>;
  updateSession(id: number, u: SessionUpdate): Promise<void>;
  addFlows(id: number, rows: Row[]): Promise<void>;
  addRecords(id: number, kind: RecordKind, rows: Row[]): Promise<void>;
  addPackets(id: number, rows: Row[]): Promise<void>;
  /** The session's alerts as they stand now (replaces those stored before: alerts update). */
  setAlerts(id: number, rows: AlertRow[]): Promise<void>;
  /** The newest sessions (of one sensor when given). */
  sessions(limit?: number, sensor?: string): Promise<SessionInfo[]>;
  sensors(): Promise<SensorInfo[]>;
  session(id: number): Promise<SessionDetail | null>;
  flows(id: number, q: ListQuery): Promise<Page>;
  records(id: number, kind: RecordKind, q: ListQuery): Promise<Page>;
  packets(id: number, q: ListQuery): Promise<Page>;
  alerts(id: number, q: ListQuery): Promise<Page<AlertRow>>;
  deleteSession(id: number): Promise<boolean>;
  /** Deletes the sessions created before `beforeMs`; returns how many. */
  deleteBefore(beforeMs: number): Promise<number>;
  /** Deletes the oldest sessions (not a running capture) until all take at most `maxBytes`; returns how many. */
  deleteBeyond(maxBytes: number): Promise<number>;
  close(): Promise<void>;
}
