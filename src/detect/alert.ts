// The alert model: what the detectors raise and every alert sink (terminal, EVE, report) shows.
// An alert is about a subject (a host, a pair of hosts, a flow, a domain) named by its detector's
// key; raising it again for the same key updates it (last seen, count, evidence) instead of
// adding a new one, so a scan of 1000 ports is one alert, not a thousand. Severity `info` marks a
// notice: a fact worth listing (a service off its usual port, a self-signed certificate) that is
// no alert on its own; reports list notices apart from alerts (notices.ts promotes them).

export const SEVERITIES = ["info", "low", "medium", "high", "critical"] as const;
export type Severity = typeof SEVERITIES[number];

/** The flow (or the hosts, when no single flow) an alert is about. */
export interface AlertSubject {
  flowId: number | null;
  src: string | null;
  srcPort: number | null;
  dst: string | null;
  dstPort: number | null;
  /** IP protocol number, null when the alert spans protocols. */
  proto: number | null;
}

export interface Alert extends AlertSubject {
  /** Stable: the same detector, key and capture give the same id in every run. */
  id: string;
  /** "port_scan.vertical", "dns_tunnel", ... (detector, then variant). */
  type: string;
  severity: Severity;
  /** Capture time, epoch seconds. */
  firstSeen: number;
  lastSeen: number;
  /** Times it was raised (a repeat of the same subject updates the first). */
  count: number;
  /** One line for a person. */
  message: string;
  /** Every host it names (sources first). */
  hosts: string[];
  /** Flows it is about (the first few). */
  flows: number[];
  /** Counts, the thresholds crossed, the offending string. */
  evidence: Record<string, unknown>;
}

/** What a detector hands the engine. */
export interface AlertInput extends Partial<AlertSubject> {
  type: string;
  severity: Severity;
  /** What makes two raises the same alert (with the type). */
  key: string;
  ts: number;
  message: string;
  evidence: Record<string, unknown>;
  hosts?: string[];
  /** The kind of incident it names, for the engine's one alert per incident (incidents.ts). */
  incident?: IncidentKind;
}

/**
 * scan: a host probing many ports or hosts; flood: many connection attempts to one service;
 * host_rate: a host's own packet or SYN rate; periodic: connections at a steady period.
 */
export type IncidentKind = "scan" | "flood" | "host_rate" | "periodic";

const MAX_FLOWS_PER_ALERT = 16;

/** FNV-1a, 64 bits, as 16 hex digits: stable across runs and machines. */
export function stableId(text: string): string {
  let h = 0xcbf29ce484222325n;
  const bytes = new TextEncoder().encode(text);
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h.toString(16).padStart(16, "0");
}

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/**
 * The alerts raised so far, one per (type, key), at most `capacity` (more are counted in
 * `dropped`, never kept: memory stays bounded whatever the traffic).
 */
export class AlertBook {
  readonly #byKey = new Map<string, Alert>();
  dropped = 0;

  constructor(private readonly capacity: number) {}

  /** The alert and whether it is new; null when the book is full. */
  raise(input: AlertInput): { alert: Alert; isNew: boolean } | null {
    const k = `${input.type}|${input.key}`;
    const old = this.#byKey.get(k);
    if (old) {
      old.count++;
      old.lastSeen = Math.max(old.lastSeen, input.ts);
      old.firstSeen = Math.min(old.firstSeen, input.ts);
      old.evidence = input.evidence;
      old.message = input.message;
      if (severityRank(input.severity) > severityRank(old.severity)) old.severity = input.severity;
      if (
        input.flowId != null && old.flows.length < MAX_FLOWS_PER_ALERT && !old.flows.includes(input.flowId)
      ) {
        old.flows.push(input.flowId);
      }
      return { alert: old, isNew: false };
    }
    if (this.#byKey.size >= this.capacity) {
      this.dropped++;
      return null;
    }
    const alert: Alert = {
      id: stableId(k),
      type: input.type,
      severity: input.severity,
      firstSeen: input.ts,
      lastSeen: input.ts,
      count: 1,
      message: input.message,
      flowId: input.flowId ?? null,
      src: input.src ?? null,
      srcPort: input.srcPort ?? null,
      dst: input.dst ?? null,
      dstPort: input.dstPort ?? null,
      proto: input.proto ?? null,
      hosts: input.hosts ?? [input.src, input.dst].filter((h): h is string => !!h),
      flows: input.flowId != null ? [input.flowId] : [],
      evidence: input.evidence,
    };
    this.#byKey.set(k, alert);
    return { alert, isNew: true };
  }

  all(): Alert[] {
    return [...this.#byKey.values()];
  }

  get size(): number {
    return this.#byKey.size;
  }
}
