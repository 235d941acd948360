// Runs file analyses (uploads, `serve FILE...`) in workers, a bounded number at once, the rest
// waiting in a bounded queue: the server's main thread only writes the rows the workers send
// (analysis_worker.ts says why), so the page, the API and the events keep answering, and memory
// grows with the number of workers, not with the number of uploads.
import type { Report } from "../report/report.ts";
import type { StoreLimits } from "../store/recorder.ts";
import type { SessionStore } from "../store/types.ts";
import type { AnalysisJob, FromWorker, StoreWrite, ToWorker } from "./analysis_worker.ts";
import type { EngineFactory } from "./detection.ts";

/** No room for another analysis now: answered 503 with Retry-After. */
export class ServerBusy extends Error {
  constructor(readonly retryAfterS: number, message: string) {
    super(message);
  }
}

export interface PoolOptions {
  store: SessionStore;
  top: number;
  limits: StoreLimits;
  detection?: EngineFactory;
  /** Analyses at once (one worker each). */
  running: number;
  /** Analyses accepted beyond those running: uploads being received or waiting their turn. */
  queued: number;
}

/** A place taken for one analysis; give it back with release() when no analysis follows. */
export interface PoolTicket {
  release(): void;
}

export interface PoolJob {
  sessionId: number;
  files: string[];
  displayName?: string;
  progress?(bytes: number): void;
}

/** Seconds a refused client is told to wait. */
const RETRY_AFTER_S = 10;

export class AnalysisPool {
  #taken = 0;
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  /** Each running worker's way to stop it with a reason. */
  readonly #stops = new Set<(reason: Error) => void>();
  readonly #active = new Set<Promise<unknown>>();
  #closed = false;

  constructor(private readonly o: PoolOptions) {}

  /**
   * Takes a place (running or queued); throws ServerBusy when every place is taken, unless
   * `always` (the files given to `serve`, analysed one after another, are never refused).
   */
  reserve(always = false): PoolTicket {
    if (this.#closed || (!always && this.#taken >= this.o.running + this.o.queued)) {
      throw new ServerBusy(
        RETRY_AFTER_S,
        `the server is busy: ${this.#running} analyses running and ${
          this.#taken - this.#running
        } waiting; try again in ${RETRY_AFTER_S} s`,
      );
    }
    this.#taken++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#taken--;
      },
    };
  }

  /** Analyses the job in a worker once one is free; the ticket is released when it ends. */
  run(ticket: PoolTicket, job: PoolJob): Promise<Report> {
    const p = this.#run(ticket, job);
    const settled = p.catch(() => {}).finally(() => this.#active.delete(settled));
    this.#active.add(settled);
    return p;
  }

  async #run(ticket: PoolTicket, job: PoolJob): Promise<Report> {
    try {
      if (this.#running >= this.o.running) {
        await new Promise<void>((resolve) => this.#waiting.push(resolve));
      }
      if (this.#closed) throw new Error("the server stopped before the analysis began");
      this.#running++;
      try {
        return await this.#analyse(job);
      } finally {
        this.#running--;
        this.#waiting.shift()?.();
      }
    } catch (e) {
      await this.o.store.updateSession(job.sessionId, { status: "failed", error: (e as Error).message })
        .catch(() => {});
      throw e;
    } finally {
      ticket.release();
    }
  }

  #analyse(job: PoolJob): Promise<Report> {
    const worker = new Worker(new URL("./analysis_worker.ts", import.meta.url), { type: "module" });
    const result = Promise.withResolvers<Report>();
    this.#stops.add(result.reject);
    const send = (m: ToWorker) => worker.postMessage(m);
    worker.onmessage = async (ev: MessageEvent<FromWorker>) => {
      const m = ev.data;
      if (m.type === "write") {
        const error = await this.#write(job.sessionId, m.write).then(() => null, (e) => (e as Error).message);
        send({ type: "written", error });
      } else if (m.type === "progress") job.progress?.(m.bytes);
      else if (m.type === "done") result.resolve(m.report);
      else result.reject(new Error(m.message));
    };
    worker.onerror = (ev) => {
      ev.preventDefault();
      result.reject(new Error(`the analysis stopped: ${ev.message}`));
    };
    const analysis: AnalysisJob = {
      sessionId: job.sessionId,
      files: job.files,
      top: this.o.top,
      limits: this.o.limits,
      displayName: job.displayName,
      detectConfig: this.o.detection ? this.o.detection.configPath ?? null : undefined,
    };
    send({ type: "analyse", job: analysis });
    return result.promise.finally(() => {
      worker.terminate();
      this.#stops.delete(result.reject);
    });
  }

  #write(id: number, w: StoreWrite): Promise<void> {
    const store = this.o.store;
    switch (w.op) {
      case "updateSession":
        return store.updateSession(id, w.update);
      case "addFlows":
        return store.addFlows(id, w.rows);
      case "addPackets":
        return store.addPackets(id, w.rows);
      case "addRecords":
        return store.addRecords(id, w.kind, w.rows);
      case "setAlerts":
        return store.setAlerts(id, w.rows);
    }
  }

  /** Stops every analysis (their sessions are marked failed) and refuses new ones. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const stop of this.#stops) stop(new Error("the server stopped during the analysis"));
    for (const wake of this.#waiting.splice(0)) wake();
    await Promise.all(this.#active);
  }
}
