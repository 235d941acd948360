// Alerts in the terminal: one line per new alert as it is raised, and a summary at the end, with
// the notices (severity info) listed apart after the alerts. Alert text carries strings from the
// wire (URIs, names, banners): it is escaped first.
import type { Alert, Severity } from "../detect/alert.ts";
import { SEVERITIES, severityRank } from "../detect/alert.ts";
import type { DetectionSummary } from "../detect/engine.ts";
import { count, printable, type Style, table } from "../base/format.ts";
import { eveTime } from "../app/eve.ts";

const COLORS: Record<Severity, string> = {
  info: "2",
  low: "36",
  medium: "33",
  high: "31",
  critical: "1;31",
};

/** "[high] 2024-05-01T10:00:00.123456+0000 port_scan.vertical 10.0.0.1 -> 10.0.0.2: ... (id 1a2b...)" */
export function alertLine(a: Alert, color: boolean): string {
  const sev = color ? `\x1b[${COLORS[a.severity]}m${a.severity}\x1b[0m` : a.severity;
  const sec = Math.floor(a.firstSeen);
  const who = [a.src, a.dst].filter(Boolean).join(" -> ");
  return `[${sev}] ${eveTime(sec, Math.round((a.firstSeen - sec) * 1e9))} ${a.type} ${who ? `${who}: ` : ""}${
    printable(a.message, 300)
  } (id ${a.id})`;
}

/**
 * The end-of-run summary: alert counts by severity and type, then the alerts most severe first;
 * then the notices.
 */
export function alertSummary(all: Alert[], summary: DetectionSummary, st: Style, top: number): string {
  const alerts = all.filter((a) => a.severity !== "info");
  const notices = all.filter((a) => a.severity === "info");
  const lines = [st.heading("Alerts")];
  if (!alerts.length) {
    lines.push(`  none (detectors: ${summary.detectors.join(", ")})`);
  } else {
    lines.push(
      "  " +
        SEVERITIES.filter((s) => s !== "info" && summary.by_severity[s]).reverse().map((s) =>
          `${s} ${count(summary.by_severity[s])}`
        ).join(", ") + (summary.alerts_dropped ? ` (${count(summary.alerts_dropped)} more not kept)` : ""),
    );
    const types = new Set(alerts.map((a) => a.type));
    lines.push(
      table(
        ["Type", "Alerts"],
        Object.entries(summary.by_type).filter(([t]) => types.has(t)).sort((a, b) => b[1] - a[1])
          .map(([t, n]) => [t, count(n)]),
      ),
      "",
      listing(alerts, top),
    );
  }
  if (notices.length) lines.push("", st.heading(`Notices (${count(notices.length)})`), listing(notices, top));
  if ([alerts, notices].some((l) => l.length > top)) {
    lines.push(st.dim(`  ... more than ${count(top)} listed (see --report json or --alerts)`));
  }
  lines.push(...evictionLines(summary, st));
  return lines.join("\n") + "\n";
}

/** The first `top` of a list, most severe first, then oldest first. */
function listing(alerts: Alert[], top: number): string {
  const sorted = [...alerts].sort((a, b) =>
    severityRank(b.severity) - severityRank(a.severity) || a.firstSeen - b.firstSeen
  );
  return table(
    ["Severity", "Type", "Source", "Destination", "Seen", "Message"],
    sorted.slice(0, top).map((a) => [
      a.severity,
      a.type,
      a.src ?? "",
      a.dst ? `${a.dst}${a.dstPort !== null ? `:${a.dstPort}` : ""}` : "",
      count(a.count),
      a.message,
    ]),
  );
}

/** What the bounded tables forgot to stay in the memory budget, and that budget (none: nothing). */
function evictionLines(summary: DetectionSummary, st: Style): string[] {
  const evicted = Object.entries(summary.evictions).filter(([, n]) => n > 0);
  if (!evicted.length) return [];
  const { budget_mib, max_flows, table_entries } = summary.memory;
  return [
    st.dim(`  table evictions: ${evicted.map(([t, n]) => `${t} ${count(n)}`).join(", ")}`),
    st.dim(
      `  (memory budget ${budget_mib} MiB: ${count(max_flows)} flows, ${
        count(table_entries)
      } entries per detector table; --memory raises it)`,
    ),
  ];
}
