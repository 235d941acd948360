// Large outbound transfers: a flow whose initiator sent at least `min_bytes` and at least
// `min_ratio` times what it received (uploads, not downloads). Judged on flow records, and on
// the records a long flow emits at each active timeout.
import type { DetectConfig } from "../config.ts";
import { type Detector, flowSubject, type Raise, seconds } from "../detector.ts";

export function exfil(cfg: DetectConfig["exfil"], raise: Raise): Detector {
  return {
    flow(f) {
      const ratio = f.bytesAtoB / Math.max(f.bytesBtoA, 1);
      if (f.bytesAtoB < cfg.min_bytes || ratio < cfg.min_ratio) return;
      raise({
        type: "exfil",
        severity: f.bytesAtoB >= 10 * cfg.min_bytes ? "high" : "medium",
        key: `${f.id}`,
        ...flowSubject(f, seconds(f.lastSec, f.lastNsec)),
        message: `${f.src} sent ${f.bytesAtoB} bytes to ${f.dst}:${f.dstPort} and received ${f.bytesBtoA} ` +
          `(ratio ${Math.round(ratio)})`,
        evidence: {
          bytes_out: f.bytesAtoB,
          bytes_in: f.bytesBtoA,
          ratio: Math.round(ratio * 10) / 10,
          min_bytes: cfg.min_bytes,
          min_ratio: cfg.min_ratio,
          duration_s: Math.round((seconds(f.lastSec, f.lastNsec) - seconds(f.firstSec, f.firstNsec)) * 1000) /
            1000,
        },
      });
    },
  };
}
