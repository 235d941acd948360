// One capture file analysis, in a worker so that decoding never stalls the server's main thread
// (pages, API and events keep answering). The worker does not open the store: it sends its rows
// in batches and the main thread writes them through the one store connection it already has
// (SQLite writers would otherwise wait on each other's locks, and this works for PostgreSQL
// alike). The worker waits for each batch to be written before it goes on, so at most one batch
// per analysis is in flight.
import type { Report } from "../report/report.ts";
import type { StoreLimits } from "../store/recorder.ts";
import type { AlertRow, RecordKind, SessionUpdate, SessionWriter } from "../store/types.ts";
import type { Row } from "../base/columns.ts";
import { analyzeIntoSession } from "./analysis.ts";
import { engineFactory } from "./detection.ts";

export interface AnalysisJob {
  sessionId: number;
  files: string[];
  top: number;
  limits: StoreLimits;
  displayName?: string;
  /** Run the detectors, with this config file (null: the defaults); undefined: no detectors. */
  detectConfig?: string | null;
}

/** What the analysis writes: one store call, its rows at most WRITE_BATCH. */
export type StoreWrite =
  | { op: "updateSession"; update: SessionUpdate }
  | { op: "addFlows"; rows: Row[] }
  | { op: "addPackets"; rows: Row[] }
  | { op: "addRecords"; kind: RecordKind; rows: Row[] }
  | { op: "setAlerts"; rows: AlertRow[] };

export type ToWorker =
  | { type: "analyse"; job: AnalysisJob }
  | { type: "written"; error: string | null };

export type FromWorker =
  | { type: "write"; write: StoreWrite }
  | { type: "progress"; bytes: number }
  | { type: "done"; report: Report }
  | { type: "failed"; message: string };

/** Rows per message: 2000 flow rows took the main thread 25 ms (median; 88 ms at most) on a loaded machine. */
export const WRITE_BATCH = 1000;
/** Least time between progress messages. */
const PROGRESS_MS = 200;

const scope = self as unknown as {
  postMessage(m: FromWorker): void;
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
  close(): void;
};
const post = (m: FromWorker) => scope.postMessage(m);

let written: ((error: string | null) => void) | null = null;

/** Sends one write and waits until the main thread has done it. */
function write(w: StoreWrite): Promise<void> {
  const done = new Promise<string | null>((resolve) => written = resolve);
  post({ type: "write", write: w });
  return done.then((error) => {
    if (error !== null) throw new Error(error);
  });
}

async function inBatches(rows: Row[], send: (batch: Row[]) => StoreWrite): Promise<void> {
  for (let i = 0; i < rows.length; i += WRITE_BATCH) await write(send(rows.slice(i, i + WRITE_BATCH)));
}

const forwarded: SessionWriter = {
  updateSession: (_id, update) => write({ op: "updateSession", update }),
  addFlows: (_id, rows) => inBatches(rows, (b) => ({ op: "addFlows", rows: b })),
  addPackets: (_id, rows) => inBatches(rows, (b) => ({ op: "addPackets", rows: b })),
  addRecords: (_id, kind, rows) => inBatches(rows, (b) => ({ op: "addRecords", kind, rows: b })),
  setAlerts: (_id, rows) => write({ op: "setAlerts", rows }),
};

async function analyse(job: AnalysisJob): Promise<void> {
  try {
    const detection = job.detectConfig === undefined
      ? undefined
      : await engineFactory(job.detectConfig ?? undefined);
    let last = 0;
    const report = await analyzeIntoSession(forwarded, job.sessionId, job.files, {
      top: job.top,
      limits: job.limits,
      displayName: job.displayName,
      detection,
      progress: (bytes) => {
        const now = Date.now();
        if (now - last < PROGRESS_MS) return;
        last = now;
        post({ type: "progress", bytes });
      },
    });
    post({ type: "done", report });
  } catch (e) {
    post({ type: "failed", message: (e as Error).message });
  }
}

scope.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === "written") {
    const resolve = written;
    written = null;
    resolve?.(m.error);
  } else analyse(m.job);
};
