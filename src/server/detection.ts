// Alerts for the web view's sessions: the detection engine `--detect` runs (default settings,
// or serve's --config file), one engine per session, its alerts kept as the store's rows.
import type { Alert } from "../detect/alert.ts";
import { DEFAULT_CONFIG, loadConfig } from "../detect/config.ts";
import { DetectionEngine } from "../detect/engine.ts";
import { loadIntel } from "../detect/intel.ts";
import { alertJson } from "../report/alerts.ts";
import type { AlertRow } from "../store/types.ts";

/**
 * Makes a fresh engine for each session; `configPath` is the file it was loaded from (none: the
 * defaults), so an analysis worker can load the same.
 */
export type EngineFactory = (() => DetectionEngine) & { readonly configPath?: string };

/** Loads the config (and its intel lists) once; throws ConfigError when they are wrong. */
export async function engineFactory(configPath?: string): Promise<EngineFactory> {
  const config = configPath ? await loadConfig(configPath) : structuredClone(DEFAULT_CONFIG);
  const intel = await loadIntel(config.intel);
  return Object.assign(() => new DetectionEngine(config, intel), { configPath });
}

/** The alert as the store keeps it: times and fields as `read --detect --report json` gives them. */
export function alertRow(a: Alert): AlertRow {
  const { id, type, severity, first_seen, last_seen, evidence, ...rest } = alertJson(a);
  return {
    id,
    type,
    severity,
    first_seen,
    last_seen,
    src: a.src,
    dst: a.dst,
    evidence: { ...rest, ...evidence, src_port: a.srcPort, dst_port: a.dstPort, proto: a.proto },
  };
}
