// `read --store` and `capture --store`: the session goes straight into the history (the SQLite file
// --db names, or PostgreSQL by DATABASE_URL), tagged with --sensor, written by the recorder the
// web view's own analyses and captures use. Several sensors may write one PostgreSQL store;
// `serve` on it shows them all.
import { hostname } from "node:os";
import type { DetectionEngine } from "../detect/engine.ts";
import type { Report } from "../report/report.ts";
import { alertRow } from "../server/detection.ts";
import { openStore, StoreOpenError } from "../store/open.ts";
import { DEFAULT_LIMITS, SessionRecorder } from "../store/recorder.ts";
import type { SessionKind, SessionStatus, SessionStore } from "../store/types.ts";
import { intOption, type Options } from "./args.ts";
import { UsageError } from "./errors.ts";
import { callerPath } from "./paths.ts";

/** Where the history is and who writes it (shared with serve). */
export const HISTORY_OPTIONS: Options = {
  db: { type: "string" },
  sensor: { type: "string" },
  "store-packets": { type: "string" },
};

export const STORE_OPTIONS: Options = { store: { type: "boolean" }, ...HISTORY_OPTIONS };

export const STORE_HELP = `History store (many sensors, one store: see 'wiresight serve --help'):
      --store                  write the session (flows, DNS/HTTP/TLS records, alerts, a sample of
                               packets, report, timeline) into the history as it goes
      --db PATH                SQLite history file (default: the one serve uses);
                               DATABASE_URL=postgres://... writes to PostgreSQL instead
      --sensor NAME            this machine's name in the history (default: the host name)
      --store-packets N        packets kept for the packets page (default ${DEFAULT_LIMITS.packets}; 0: none)`;

export interface StoreTarget {
  dbPath?: string;
  sensor: string;
  packets: number;
}

/** A sensor name: what the page shows and filters by. */
export function sensorName(value: string | undefined): string {
  const name = value ?? hostname();
  if (!/^[\x21-\x7e][\x20-\x7e]{0,63}$/.test(name) || name.trim() !== name) {
    throw new UsageError(`--sensor takes 1 to 64 printable characters, not '${value}'`);
  }
  return name;
}

/** --store and its options, validated (undefined without --store; its options then are errors). */
export function storeFrom(v: Record<string, unknown>): StoreTarget | undefined {
  if (!v.store) {
    const given = Object.keys(HISTORY_OPTIONS).filter((k) => v[k] !== undefined).map((k) => `--${k}`);
    if (given.length) throw new UsageError(`${given.join(", ")}: only with --store`);
    return undefined;
  }
  return {
    dbPath: callerPath(v.db as string | undefined),
    sensor: sensorName(v.sensor as string | undefined),
    packets: intOption(v["store-packets"] as string | undefined, "store-packets", 0, 10_000_000) ??
      DEFAULT_LIMITS.packets,
  };
}

/** One session being written into the history: `recorder` is the pipeline's sink. */
export class StoreRecording {
  private constructor(
    private readonly store: SessionStore,
    readonly recorder: SessionRecorder,
    private readonly engine: DetectionEngine | undefined,
  ) {}

  /** Opens (and migrates) the store and creates the session, running; a store that cannot open is a usage error. */
  static async open(
    target: StoreTarget,
    session: { kind: SessionKind; name: string },
    engine?: DetectionEngine,
  ): Promise<StoreRecording> {
    let store: SessionStore;
    try {
      store = await openStore({
        dbPath: target.dbPath,
        databaseUrl: Deno.env.get("DATABASE_URL") || undefined,
      });
    } catch (e) {
      if (e instanceof StoreOpenError) throw new UsageError(e.message);
      throw e;
    }
    try {
      const id = await store.createSession({ ...session, sensor: target.sensor });
      const recorder = new SessionRecorder(store, id, { ...DEFAULT_LIMITS, packets: target.packets });
      console.error(
        `wiresight: storing as session ${id} of sensor ${target.sensor} in ${store.kind} ${store.location}`,
      );
      return new StoreRecording(store, recorder, engine);
    } catch (e) {
      await store.close().catch(() => {});
      throw new Error(`history store ${store.location}: ${(e as Error).message}`);
    }
  }

  get sessionId(): number {
    return this.recorder.sessionId;
  }

  /** Between pipeline steps: pending rows, alerts so far, heartbeat (when due). */
  step(): Promise<void> {
    const engine = this.engine;
    return this.recorder.step(engine && (() => engine.alerts().map(alertRow)));
  }

  /** Writes the rest and the report, closes the session and the store. */
  async finish(report: Report, status: SessionStatus, error: string | null): Promise<void> {
    try {
      if (this.engine) this.recorder.alerts(this.engine.alerts().map(alertRow));
      await this.recorder.finish(report, status, error);
    } finally {
      await this.store.close();
    }
  }

  /** The pipeline failed: the session says why; the store is closed. */
  async fail(e: unknown): Promise<void> {
    try {
      await this.store.updateSession(this.sessionId, { status: "failed", error: (e as Error).message })
        .catch(() => {});
    } finally {
      await this.store.close();
    }
  }
}
