// Analyses capture files into a stored session with the pipeline `wiresight read` runs: the
// same decoder settings, application summary and report, plus the session's rows and timeline.
import { Session } from "../pipeline/session.ts";
import type { Report } from "../report/report.ts";
import { DEFAULT_LIMITS, SessionRecorder, type StoreLimits } from "../store/recorder.ts";
import type { SessionWriter } from "../store/types.ts";
import { alertRow, type EngineFactory } from "./detection.ts";
import { GeoIp } from "../enrich/geo.ts";

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

/**
 * Decodes `files` into session `sessionId` and closes it as done (or failed, with the reason,
 * when no file could be decoded). Returns the report, as `wiresight read --report json` gives it.
 */
export async function analyzeIntoSession(
  store: SessionWriter,
  sessionId: number,
  files: string[],
  opts: AnalysisOptions = {},
): Promise<Report> {
  const recorder = new SessionRecorder(store, sessionId, opts.limits ?? DEFAULT_LIMITS);
  const engine = opts.detection?.();
  try {
    const session = await Session.open({
      files,
      decoder: { packets: { payloadMax: 0 } },
      top: opts.top,
      detection: engine,
      sinks: [recorder],
      progress: opts.progress && ((done, total) => opts.progress!(done, total)),
      geo: GeoIp.bundled(),
    });
    const steps = session.steps();
    let step = await steps.next();
    for (; !step.done; step = await steps.next()) await recorder.step();
    if (engine) recorder.alerts(engine.alerts().map(alertRow));
    const { report, decoded } = step.value;
    const shown = renamed(report, files, opts.displayName);
    const fatal = decoded.files.every((f) => f.problem?.fatal && !f.format);
    const problem = decoded.files.find((f) => f.problem?.fatal)?.problem;
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
