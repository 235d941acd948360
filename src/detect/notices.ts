// Notices: what detectors raise with severity `info` (a service off its usual port, a self-signed
// certificate, a request without a user agent) because it is routine on a developer's machine or a lab network, listed apart from
// alerts. `[notices] promote` turns chosen notice types into alerts of `[notices] severity`.
import type { AlertInput } from "./alert.ts";
import type { DetectConfig } from "./config.ts";

/** The alert types raised as notices. */
export const NOTICE_TYPES = [
  "unusual_port.service",
  "unusual_port.high_port",
  "tls.self_signed",
  "http.empty_user_agent",
];

/** Whether a `promote` entry names `type`: the type itself, or its detector ("unusual_port"). */
export function coversType(entry: string, type: string): boolean {
  return type === entry || type.startsWith(`${entry}.`);
}

/** The input as raised: a promoted notice gets the configured severity. */
export function promoter(cfg: DetectConfig["notices"]): (a: AlertInput) => AlertInput {
  return (a) =>
    a.severity === "info" && cfg.promote.some((entry) => coversType(entry, a.type))
      ? { ...a, severity: cfg.severity as AlertInput["severity"] }
      : a;
}
