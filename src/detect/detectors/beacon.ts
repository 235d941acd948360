// Beaconing, scored in the manner of RITA's (legacy, documented) score: for each pair of hosts
// and server port, the intervals between connections and the sizes of the connections are each
// scored on their skew (Bowley), dispersion (median absolute deviation) and, for intervals,
// how much of the capture the connections cover; for sizes, their smallness. The score is the
// mean of the interval and size scores. Dispersion is taken relative to the median, so the
// score does not depend on the beacon's period (RITA's legacy score used absolute seconds).
// A beacon's period must also stand well above the capture's mean packet spacing: a flood's
// connections are as regular as a beacon's, but follow each other as fast as the packets do (the
// engine also drops a beacon to a service under a flood, or from a scanner).
import type { DetectConfig } from "../config.ts";
import { type Detector, protoName, type Raise, seconds, TCP, UDP } from "../detector.ts";
import { BoundedTable } from "../../base/bounded_table.ts";

interface Series {
  times: number[];
  sizes: number[];
  src: string;
  dst: string;
  port: number;
  proto: number;
  lastFlow: number;
  /** Connections seen (the series keeps the latest max_timestamps). */
  seen: number;
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * 1 - |Bowley skew| of the values: 1 for a symmetric distribution. As in RITA, a median equal to
 * a quartile counts as no skew: mostly-identical sizes with a few odd ones (a retransmission, an
 * extra ACK) would otherwise score as maximally skewed.
 */
function skewScore(sorted: number[]): number {
  const q1 = quantile(sorted, 0.25), q2 = quantile(sorted, 0.5), q3 = quantile(sorted, 0.75);
  if (q2 === q1 || q2 === q3) return 1;
  return 1 - Math.min(1, Math.abs((q1 + q3 - 2 * q2) / (q3 - q1)));
}

/** 1 - MADM / median: 1 when the values agree, 0 when they spread as far as the median itself. */
function dispersionScore(sorted: number[]): number {
  const median = quantile(sorted, 0.5);
  if (median <= 0) return 0;
  const dev = sorted.map((x) => Math.abs(x - median)).sort((a, b) => a - b);
  return Math.max(0, 1 - quantile(dev, 0.5) / median);
}

function mode(values: number[]): number {
  const counts = new Map<number, number>();
  let best = values[0], bestCount = 0;
  for (const v of values) {
    const c = (counts.get(v) ?? 0) + 1;
    counts.set(v, c);
    if (c > bestCount) [best, bestCount] = [v, c];
  }
  return best;
}

export interface BeaconScore {
  score: number;
  interval: { skew: number; dispersion: number; coverage: number; median_s: number };
  size: { skew: number; dispersion: number; smallness: number; mode_bytes: number };
}

/** The score of connections at `times` (seconds) carrying `sizes` bytes; `span` is the capture's length. */
export function beaconScore(times: number[], sizes: number[], span: number): BeaconScore {
  const t = [...times].sort((a, b) => a - b);
  const intervals = t.slice(1).map((x, i) => x - t[i]).sort((a, b) => a - b);
  const median = quantile(intervals, 0.5);
  // The share of the capture the connections cover at their own cadence.
  const coverage = span > 0 ? Math.min(1, (t[t.length - 1] - t[0] + median) / span) : 1;
  const iv = { skew: skewScore(intervals), dispersion: dispersionScore(intervals), coverage };
  const s = [...sizes].sort((a, b) => a - b);
  const m = mode(sizes);
  const sz = { skew: skewScore(s), dispersion: dispersionScore(s), smallness: Math.max(0, 1 - m / 65535) };
  const tsScore = (iv.skew + iv.dispersion + iv.coverage) / 3;
  const dsScore = (sz.skew + sz.dispersion + sz.smallness) / 3;
  return {
    score: (tsScore + dsScore) / 2,
    interval: { ...iv, median_s: median },
    size: { ...sz, mode_bytes: m },
  };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * A period this long passes whatever the packet spacing: in a capture of nothing but a beacon of
 * one or two packets (a UDP check-in), the period is only twice the spacing, and no flood keeps
 * its connections a second apart.
 */
const SLOW_PERIOD_S = 1;

export function beacon(cfg: DetectConfig["beacon"], raise: Raise, maxEntries: number): Detector {
  const pairs = new BoundedTable<Series>("beacon", maxEntries);
  let first = Infinity, last = -Infinity, packets = 0;

  const judge = (s: Series) => {
    if (s.times.length < Math.max(cfg.min_connections, 4)) return;
    if (Math.max(...s.times) - Math.min(...s.times) < cfg.min_duration_s) return;
    const r = beaconScore(s.times, s.sizes, last - first);
    const spacing = (last - first) / Math.max(packets, 1);
    const period = r.interval.median_s;
    if (r.score < cfg.min_score || period < Math.min(cfg.min_spacing_ratio * spacing, SLOW_PERIOD_S)) return;
    raise({
      type: "beacon",
      severity: r.score >= 0.95 ? "high" : r.score >= 0.9 ? "medium" : "low",
      incident: "periodic",
      key: `${s.src}>${s.dst}:${s.port}/${protoName(s.proto)}`,
      ts: Math.max(...s.times),
      flowId: s.lastFlow,
      src: s.src,
      dst: s.dst,
      dstPort: s.port,
      proto: s.proto,
      message: `${s.src} connects to ${s.dst}:${s.port} every ~${round(r.interval.median_s)} s ` +
        `(${s.times.length} connections, beacon score ${round(r.score)})`,
      evidence: {
        score: round(r.score),
        connections: s.times.length,
        min_score: cfg.min_score,
        packet_spacing_ms: Math.round(spacing * 1e6) / 1e3,
        interval: Object.fromEntries(Object.entries(r.interval).map(([k, v]) => [k, round(v)])),
        size: Object.fromEntries(Object.entries(r.size).map(([k, v]) => [k, round(v)])),
      },
    });
  };

  return {
    tables: [pairs],
    flow(f) {
      const ts = seconds(f.firstSec, f.firstNsec);
      first = Math.min(first, ts);
      last = Math.max(last, seconds(f.lastSec, f.lastNsec));
      packets += f.packetsAtoB + f.packetsBtoA;
      // A continuation record (active timeout) is the same connection.
      if (f.seq !== 0 || (f.ipProto !== TCP && f.ipProto !== UDP) || cfg.ignore_ports.includes(f.dstPort)) {
        return;
      }
      const key = `${f.src}>${f.dst}:${f.dstPort}/${f.ipProto}`;
      const s = pairs.upsert(key, () => ({
        times: [],
        sizes: [],
        src: f.src,
        dst: f.dst,
        port: f.dstPort,
        proto: f.ipProto,
        lastFlow: f.id,
        seen: 0,
      }));
      s.times.push(ts);
      s.sizes.push(f.bytesAtoB + f.bytesBtoA);
      s.lastFlow = f.id;
      s.seen++;
      if (s.times.length > cfg.max_timestamps) {
        s.times.shift();
        s.sizes.shift();
      }
      // Scoring sorts the series: for long ones, every 8th connection is enough until the end.
      if (s.times.length <= 2 * cfg.min_connections || s.seen % 8 === 0) judge(s);
    },
    finish() {
      // The capture's span is known only now: judge every pair again with it.
      for (const s of pairs.values()) judge(s);
    },
  };
}
