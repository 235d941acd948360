// The report's detection part (`--report json` with --detect): the shape
// `{file, summary{total_flows,total_packets,total_bytes}, alerts:[{flow, alerts[]}]}` next to
// every existing report key, plus the engine's own figures under `detection`. Notices (severity
// info) are listed apart, under `notices`, in the same shape.
import type { Alert, Severity } from "../detect/alert.ts";
import type { DetectionSummary } from "../detect/engine.ts";
import { eveProto, eveTime } from "../app/eve.ts";
import type { Report } from "./report.ts";

/** The flow an alert group is about; host-level alerts (scans, floods) have no flow id or ports. */
export interface AlertFlow {
  flow_id: number | null;
  src_ip: string | null;
  src_port: number | null;
  dest_ip: string | null;
  dest_port: number | null;
  proto: string | null;
}

export interface AlertJson {
  id: string;
  type: string;
  severity: Severity;
  first_seen: string;
  last_seen: string;
  count: number;
  message: string;
  hosts: string[];
  flows: number[];
  evidence: Record<string, unknown>;
}

export interface AlertGroup {
  flow: AlertFlow;
  alerts: AlertJson[];
}

export interface DetectionReport {
  file: string;
  summary: { total_flows: number; total_packets: number; total_bytes: number };
  alerts: AlertGroup[];
  notices: AlertGroup[];
  detection: DetectionSummary;
}

const iso = (t: number) => {
  const sec = Math.floor(t);
  return eveTime(sec, Math.round((t - sec) * 1e9));
};

export function alertJson(a: Alert): AlertJson {
  return {
    id: a.id,
    type: a.type,
    severity: a.severity,
    first_seen: iso(a.firstSeen),
    last_seen: iso(a.lastSeen),
    count: a.count,
    message: a.message,
    hosts: a.hosts,
    flows: a.flows,
    evidence: a.evidence,
  };
}

/** Alerts grouped by the flow (or hosts) they are about, in the order they were first raised. */
export function groupAlerts(alerts: Alert[]): AlertGroup[] {
  const groups = new Map<string, AlertGroup>();
  for (const a of alerts) {
    const flow: AlertFlow = {
      flow_id: a.flowId !== null && a.srcPort !== null ? a.flowId : null,
      src_ip: a.src,
      src_port: a.srcPort,
      dest_ip: a.dst,
      dest_port: a.dstPort,
      proto: a.proto !== null ? eveProto(a.proto) : null,
    };
    const key = JSON.stringify(flow);
    let g = groups.get(key);
    if (!g) groups.set(key, g = { flow, alerts: [] });
    g.alerts.push(alertJson(a));
  }
  return [...groups.values()];
}

export function detectionReport(report: Report, alerts: Alert[], summary: DetectionSummary): DetectionReport {
  return {
    file: report.files.map((f) => f.path).join(", "),
    summary: { total_flows: report.flows, total_packets: report.packets, total_bytes: report.bytes },
    alerts: groupAlerts(alerts.filter((a) => a.severity !== "info")),
    notices: groupAlerts(alerts.filter((a) => a.severity === "info")),
    detection: summary,
  };
}
