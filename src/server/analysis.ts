// Analyses capture files into a stored session with the pipeline `wiresight read` runs: the
// same decoder settings, application summary and report, plus the session's rows and timeline.
import type { CommentRecord, EventHandlers } from "../decoder/records.ts";
import { pipelineSteps } from "../pipeline/pipeline.ts";
import { AppSummary } from "../app/summary.ts";
import { ProcessTable } from "../report/processes.ts";
import { buildReport, type Report } from "../report/report.ts";
import { parseProcessComment } from "../proc/comment.ts";
import type { ProcessNote } from "../proc/process.ts";
import { DEFAULT_LIMITS, FLUSH_ROWS, SessionRecorder, type StoreLimits } from "../store/recorder.ts";
import type { SessionStore } from "../store/types.ts";
import { alertRow, type EngineFactory } from "./detection.ts";

export interface AnalysisOptions {
  /** Entries per top list (as `read --top`, default 10). */
  top?: number;
  limits?: StoreLimits;
  /** The name the files are shown by (an upload's temporary path is not). */
  displayName?: string;
  progress?(bytesRead: number, size: number): void;
  /** The detectors to run (none without). */
  detection?: EngineFactory;
}

/** Processes noted in a wiresight pcapng's packet comments, by flow, until the flow's record. */
class CommentOwners {
  readonly #byFlow = new Map<number, ProcessNote>();

  note(c: CommentRecord): void {
    const p = parseProcessComment(c.text);
    if (!p || !c.flowId || this.#byFlow.has(c.flowId) || this.#byFlow.size >= 65536) return;
    this.#byFlow.set(c.flowId, { pid: p.pid, name: p.name, exe: p.exe, user: p.user });
  }

  take(flowId: number): ProcessNote | null {
    const p = this.#byFlow.get(flowId) ?? null;
    this.#byFlow.delete(flowId);
    return p;
  }
}

/**
 * Decodes `files` into session `sessionId` and closes it as done (or failed, with the reason,
 * when no file could be decoded). Returns the report, as `wiresight read --report json` gives it.
 */
export async function analyzeIntoSession(
  store: SessionStore,
  sessionId: number,
  files: string[],
  opts: AnalysisOptions = {},
): Promise<Report> {
  const top = opts.top ?? 10;
  const apps = new AppSummary();
  apps.flowNames.enabled = true;
  const processes = new ProcessTable();
  const owners = new CommentOwners();
  const recorder = new SessionRecorder(store, sessionId, opts.limits ?? DEFAULT_LIMITS);
  const handlers: EventHandlers = {
    comment: (c) => {
      processes.addComment(c);
      owners.note(c);
    },
    flow: (f) => recorder.flow({ record: f, serverName: apps.flowName(f), owner: owners.take(f.id) }),
    packet: (p) => recorder.packet(p),
    app: (e) => {
      apps.add(e);
      recorder.app(e);
    },
  };
  const engine = opts.detection?.();
  const decoder = { packets: { payloadMax: 0 }, ...engine?.decoderSettings() };
  const sizes: number[] = [];
  const total = async () => {
    let n = 0;
    for (const f of files) n += (await Deno.stat(f)).size;
    return n;
  };
  const size = opts.progress ? await total() : 0;
  try {
    const steps = pipelineSteps({
      files,
      decoder,
      top,
      progress: opts.progress && ((_path, index, read, fileSize) => {
        sizes[index] = fileSize;
        opts.progress!(sizes.slice(0, index).reduce((a, b) => a + b, 0) + read, size);
      }),
    }, engine ? engine.handlers(handlers) : handlers);
    let step = await steps.next();
    for (; !step.done; step = await steps.next()) {
      if (recorder.pending >= FLUSH_ROWS) await recorder.flush();
    }
    if (engine) {
      engine.finish();
      recorder.alerts(engine.alerts().map(alertRow));
    }
    const report = buildReport(step.value, apps, top);
    if (processes.size) report.processes = processes.top(top);
    const shown = renamed(report, files, opts.displayName);
    const fatal = step.value.files.every((f) => f.problem?.fatal && !f.format);
    const problem = step.value.files.find((f) => f.problem?.fatal)?.problem;
    await recorder.finish(
      shown,
      fatal ? "failed" : "done",
      problem ? rename(problem.message, files, opts.displayName) : null,
    );
    return shown;
  } catch (e) {
    await store.updateSession(sessionId, { status: "failed", error: (e as Error).message });
    throw e;
  }
}

function rename(text: string, files: string[], name: string | undefined): string {
  return name === undefined ? text : files.reduce((t, f) => t.replaceAll(f, name), text);
}

/** The report with the files shown by their display name (never a server's temporary path). */
function renamed(report: Report, files: string[], name: string | undefined): Report {
  if (name === undefined) return report;
  return {
    ...report,
    files: report.files.map((f) => ({
      ...f,
      path: name,
      problem: f.problem && rename(f.problem, files, name),
    })),
    warnings: report.warnings.map((w) => rename(w, files, name)),
  };
}
