// `--detect` and its options, shared by `read` and `capture`: the detection engine with its
// config and intel, alert lines as alerts are raised, the EVE stream (--alerts) and the
// timestamped reports of --outdir.
import type { Options } from "./args.ts";
import { UsageError } from "./errors.ts";
import { callerPath } from "./paths.ts";
import * as abi from "../decoder/abi.ts";
import { ConfigError, DEFAULT_CONFIG, loadConfig } from "../detect/config.ts";
import { DetectionEngine } from "../detect/engine.ts";
import type { MemoryPlan } from "../detect/budget.ts";
import { loadIntel } from "../detect/intel.ts";
import type { Alert } from "../detect/alert.ts";
import { EveWriter } from "../sinks/alerts_eve.ts";
import { alertLine, alertSummary } from "../sinks/alerts_terminal.ts";
import { detectionReport } from "../report/alerts.ts";
import type { Report } from "../report/report.ts";
import type { Style } from "../base/format.ts";

export const DETECT_OPTIONS: Options = {
  detect: { type: "boolean" },
  config: { type: "string" },
  alerts: { type: "string" },
  outdir: { type: "string" },
};

export const DETECT_HELP =
  `Detection (alerts on scans, floods, beaconing, DNS tunnels, web attacks, TLS, intel; one alert per
incident; unusual ports and self-signed certificates are notices, listed apart unless the config's
[notices] promote lists them):
      --detect                 run the detectors; alerts print as they are raised, a summary at the end
      --config FILE            thresholds, intel lists and detectors to run (TOML or JSON; implies --detect)
      --alerts PATH            write alerts and flow/dns/http/tls/ftp events as Suricata-EVE-like NDJSON
                               (- for stdout; implies --detect)
      --outdir DIR             write a timestamped JSON report and EVE file there (implies --detect)`;

export interface DetectChoice {
  configPath?: string;
  alertsPath?: string;
  outdir?: string;
}

/** The detection options, validated (undefined when detection is off). */
export function detectFrom(v: Record<string, unknown>): DetectChoice | undefined {
  const choice: DetectChoice = {
    configPath: callerPath(v.config as string | undefined),
    alertsPath: callerPath(v.alerts as string | undefined),
    outdir: callerPath(v.outdir as string | undefined),
  };
  if (!v.detect && !choice.configPath && !choice.alertsPath && !choice.outdir) return undefined;
  if (v["no-app"]) {
    console.error("wiresight: warning: --no-app: the DNS, HTTP, TLS and cleartext detectors see nothing");
  }
  return choice;
}

/** "20240501T100000Z" for file names. */
function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

export class DetectSession {
  readonly #eves: EveWriter[] = [];
  readonly #outdir: { dir: string; stamp: string } | undefined;

  private constructor(
    readonly engine: DetectionEngine,
    eves: EveWriter[],
    outdir?: { dir: string; stamp: string },
  ) {
    this.#eves = eves;
    this.#outdir = outdir;
  }

  /** Loads the config and intel, opens the EVE outputs; `line` prints each new alert; tables sized by `memory`. */
  static async open(
    choice: DetectChoice,
    line: (text: string) => void,
    color: boolean,
    memory: MemoryPlan,
  ): Promise<DetectSession> {
    let engine: DetectionEngine;
    try {
      const config = choice.configPath
        ? await loadConfig(choice.configPath)
        : structuredClone(DEFAULT_CONFIG);
      engine = new DetectionEngine(config, await loadIntel(config.intel), memory);
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(e.message);
      throw e;
    }
    const eves: EveWriter[] = [];
    if (choice.alertsPath) {
      try {
        eves.push(await EveWriter.open(choice.alertsPath));
      } catch (e) {
        throw new UsageError(
          `cannot write --alerts ${choice.alertsPath}: ${e instanceof Error ? e.message : e}`,
        );
      }
    }
    let outdir: { dir: string; stamp: string } | undefined;
    if (choice.outdir) {
      try {
        await Deno.mkdir(choice.outdir, { recursive: true });
      } catch (e) {
        throw new UsageError(`--outdir ${choice.outdir}: ${e instanceof Error ? e.message : e}`);
      }
      outdir = { dir: choice.outdir, stamp: stamp() };
      eves.push(await EveWriter.open(`${outdir.dir}/wiresight-${outdir.stamp}.eve.ndjson`));
    }
    const session = new DetectSession(engine, eves, outdir);
    engine.onAlert = (a: Alert) => {
      // Notices are listed in the summary, not printed as they come.
      if (a.severity !== "info") line(alertLine(a, color));
      for (const eve of eves) eve.alert(a);
    };
    return session;
  }

  /** The seed of the EVE events' Community IDs (--community-id-seed). */
  setCommunityIdSeed(seed: number): void {
    for (const eve of this.#eves) eve.communityIdSeed = seed;
  }

  /** The EVE streams, as sinks that see each event after the detectors. */
  get eveSinks(): EveWriter[] {
    return this.#eves;
  }

  /** Takes the decoder's counters of its bounded flow and host-rate tables (from the pipeline's statistics). */
  decoderStats(stats: Float64Array): void {
    this.engine.decoderOverflow = {
      flow_table: stats[abi.ST_FLOWS_EVICTED],
      host_rate_overflow: stats[abi.ST_HOST_RATE_OVERFLOW],
      host_rate_unreported: stats[abi.ST_HOST_RATE_UNREPORTED],
    };
  }

  /** The report with the detection keys added. */
  report<R extends Report>(report: R): R & ReturnType<typeof detectionReport> {
    return { ...report, ...detectionReport(report, this.engine.alerts(), this.engine.summary()) };
  }

  summaryText(st: Style, top: number): string {
    return alertSummary(this.engine.alerts(), this.engine.summary(), st, top);
  }

  /** With --outdir: the JSON report beside the EVE file; returns its path. */
  async writeOutdir(report: Report): Promise<string | undefined> {
    if (!this.#outdir) return undefined;
    const path = `${this.#outdir.dir}/wiresight-${this.#outdir.stamp}.report.json`;
    await Deno.writeTextFile(path, JSON.stringify(this.report(report), null, 2) + "\n");
    return path;
  }
}
