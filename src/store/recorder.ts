// Turns one analysis or capture into a stored session: flow, DNS/HTTP/TLS and (a bounded number
// of) packet rows are collected as the pipeline hands them out and written in batches between
// pipeline steps, so memory holds at most one step's rows whatever the capture's size. While it
// runs, the session's counts and updated_ms are rewritten every HEARTBEAT_MS: readers of a shared
// store see it grow, and tell a running writer from one that died (types.ts, STALE_AFTER_MS).
import type { AppEvent } from "../decoder/app_event.ts";
import type { PacketRecord } from "../decoder/records.ts";
import type { AppExport } from "../app/protocol.ts";
import { APP_EXPORTS } from "../app/registry.ts";
import type { Row } from "../base/columns.ts";
import { FLOW_ROWS, type FlowView, PACKET_ROWS } from "../sinks/rows.ts";
import type { Report } from "../report/report.ts";
import { Timeline } from "./timeline.ts";
import {
  type AlertRow,
  HEARTBEAT_MS,
  RECORD_KINDS,
  type RecordKind,
  type SessionStatus,
  type SessionWriter,
} from "./types.ts";

export interface StoreLimits {
  /** Packets kept per session (0: none). */
  packets: number;
  /** Flow records kept per session. */
  flows: number;
  /** DNS, HTTP and TLS records kept per session, each. */
  records: number;
}

export const DEFAULT_LIMITS: StoreLimits = { packets: 10_000, flows: 1_000_000, records: 200_000 };

/** The stored record kinds are application exports (those the schema has tables for). */
const RECORD_EXPORTS = Object.fromEntries(RECORD_KINDS.map((k) => [k, APP_EXPORTS[k]])) as Record<
  RecordKind,
  AppExport
>;
const KIND_OF_EVENT = new Map<number, RecordKind>(
  Object.entries(RECORD_EXPORTS).flatMap(([kind, x]) => x.kinds.map((k) => [k, kind as RecordKind])),
);

/** Rows waiting for the next flush beyond which the pipeline should stop and write. */
export const FLUSH_ROWS = 5000;
/** At most this long between writes of what is pending (a live capture's rows show within it). */
export const FLUSH_MS = 1000;

export class SessionRecorder {
  readonly timeline = new Timeline();
  #flows: Row[] = [];
  #packets: Row[] = [];
  /** The alerts to store at the next flush (they replace those stored). */
  #alerts: AlertRow[] | null = null;
  readonly #records = new Map<RecordKind, Row[]>();
  /** Rows stored or pending, per list, and those left out by the limits. */
  readonly kept = { flows: 0, packets: 0, dns: 0, http: 0, tls: 0, alerts: 0 };
  readonly dropped = { flows: 0, packets: 0, dns: 0, http: 0, tls: 0 };
  /** Packets and bytes seen so far (the heartbeat's counts). */
  #seen = { packets: 0, bytes: 0 };
  #lastFlush = Date.now();
  #lastBeat = Date.now();

  constructor(
    private readonly store: SessionWriter,
    readonly sessionId: number,
    private readonly limits: StoreLimits = DEFAULT_LIMITS,
  ) {}

  packet(p: PacketRecord): void {
    this.timeline.add(p.tsSec + p.tsNsec / 1e9, p.wirelen);
    this.#seen.packets++;
    this.#seen.bytes += p.wirelen;
    if (this.kept.packets < this.limits.packets) {
      this.kept.packets++;
      this.#packets.push(PACKET_ROWS.row(p));
    } else this.dropped.packets++;
  }

  flow(view: FlowView): void {
    if (this.kept.flows < this.limits.flows) {
      this.kept.flows++;
      this.#flows.push(FLOW_ROWS.row(view));
    } else this.dropped.flows++;
  }

  app(e: AppEvent): void {
    const kind = KIND_OF_EVENT.get(e.kind);
    if (!kind) return;
    if (this.kept[kind] >= this.limits.records) {
      this.dropped[kind]++;
      return;
    }
    this.kept[kind]++;
    let list = this.#records.get(kind);
    if (!list) this.#records.set(kind, list = []);
    list.push(RECORD_EXPORTS[kind].row(e));
  }

  /** The session's alerts now (a detector updates an alert as it goes on). */
  alerts(rows: AlertRow[]): void {
    this.kept.alerts = rows.length;
    this.#alerts = rows;
  }

  get pending(): number {
    let n = this.#flows.length + this.#packets.length + (this.#alerts?.length ?? 0);
    for (const rows of this.#records.values()) n += rows.length;
    return n;
  }

  /** Writes what is pending. */
  async flush(): Promise<void> {
    const [flows, packets, alerts] = [this.#flows, this.#packets, this.#alerts];
    const records = [...this.#records];
    this.#flows = [];
    this.#packets = [];
    this.#alerts = null;
    this.#records.clear();
    const id = this.sessionId;
    await inChunks(flows, (rows) => this.store.addFlows(id, rows));
    await inChunks(packets, (rows) => this.store.addPackets(id, rows));
    if (alerts) await this.store.setAlerts(id, alerts);
    for (const [kind, list] of records) await inChunks(list, (rows) => this.store.addRecords(id, kind, rows));
  }

  /**
   * Between pipeline steps: writes what is pending once FLUSH_ROWS wait or FLUSH_MS passed (with
   * the alerts as they stand, when `alerts` is given), and beats the heartbeat when due.
   */
  async step(alerts?: () => AlertRow[]): Promise<void> {
    const now = Date.now();
    if (this.pending < FLUSH_ROWS && now - this.#lastFlush < FLUSH_MS) return;
    const current = alerts?.();
    if (current?.length) this.alerts(current);
    await this.flush();
    this.#lastFlush = now;
    if (now - this.#lastBeat >= HEARTBEAT_MS) await this.heartbeat();
  }

  /** The session's counts so far, and its updated_ms: it is alive. */
  async heartbeat(): Promise<void> {
    this.#lastBeat = Date.now();
    await this.store.updateSession(this.sessionId, {
      packets: this.#seen.packets,
      bytes: this.#seen.bytes,
      flows: this.kept.flows + this.dropped.flows,
      timeline: this.timeline.points(),
    });
  }

  /** Writes the rest and closes the session with its report. */
  async finish(report: Report, status: SessionStatus = "done", error: string | null = null): Promise<void> {
    await this.flush();
    await this.store.updateSession(this.sessionId, {
      status,
      error,
      packets: report.packets,
      bytes: report.bytes,
      flows: report.flows,
      start_epoch: report.start_epoch,
      end_epoch: report.end_epoch,
      report: { ...report, stored: { kept: this.kept, dropped: this.dropped } },
      timeline: this.timeline.points(),
    });
  }
}

/**
 * Writes `rows` FLUSH_ROWS at a time, letting go of each chunk once written: one pipeline step can
 * hand out a whole flow table (the flows still open at the end), and the store's statements for
 * all of it at once would take several times the rows' own memory.
 */
async function inChunks(rows: Row[], write: (chunk: Row[]) => Promise<void>): Promise<void> {
  for (let i = 0; i < rows.length; i += FLUSH_ROWS) {
    const chunk = rows.slice(i, i + FLUSH_ROWS);
    rows.fill(null as unknown as Row, i, i + FLUSH_ROWS);
    await write(chunk);
  }
}
