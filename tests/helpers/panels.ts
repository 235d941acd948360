// The panels `wiresight capture` prints as it runs (--stats) and its socket tables
// (--report-interval, -g), read back from its output (stdout, or stderr when the report is JSON)
// for the tests that check their figures.
import { ok as assert } from "node:assert/strict";

/** "482 B", "1.52 kB" back to bytes (bytesText keeps three significant digits). */
export function bytesOf(text: string): number {
  const m = text.match(/^([\d.]+) (B|kB|MB|GB)$/);
  assert(m, `not a byte count: ${text}`);
  return Number(m[1]) * { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[m[2]]!;
}

export const num = (s: string) => Number(s.replaceAll(",", ""));

export interface StatsPanel {
  secs: number;
  packets: number;
  bytes: number;
  dirs: Map<string, { rate: string; bytes: number }>;
  pps: number;
  talkers: Map<string, number>;
  processes: Map<string, number>;
  protocols: Map<string, { packets: number; percent: string }>;
  apps: Map<string, number>;
}

export interface SocketsReport {
  header: string[];
  rows: string[][];
  dns: string[];
}

/** The panels and socket reports in a capture's output, in order. */
export function panels(output: string): { stats: StatsPanel[]; sockets: SocketsReport[] } {
  const stats: StatsPanel[] = [], sockets: SocketsReport[] = [];
  const blocks = output.split(/^(?=-- )/m).filter((b) => b.startsWith("-- "));
  const list = (line: string) =>
    line === "-" ? [] : line.split(", ").map((item) => {
      const m = item.match(/^(\S+) (.+)$/)!;
      return [m[1], m[2]] as const;
    });
  for (const block of blocks) {
    const lines = block.split("\n");
    if (lines[0].startsWith("-- active sockets")) {
      const table = lines.slice(1).filter((l) => l.startsWith("  ") && !l.startsWith("    "));
      const end = table.findIndex((l) => l.startsWith("  Recent DNS"));
      const rows = (end < 0 ? table : table.slice(0, end)).map((l) => l.trim().split(/\s{2,}/));
      sockets.push({
        header: rows[0],
        rows: rows.slice(1).filter((r) => r.length > 1),
        dns: lines.filter((l) => l.startsWith("    ")).map((l) => l.trim()),
      });
      continue;
    }
    const head = lines[0].match(/^-- \d\d:\d\d:\d\d -- last ([\d.]+) s: ([\d,]+) packets, ([\d,]+) bytes$/);
    assert(head, `not a panel: ${block}`);
    const field = (name: string) => lines.find((l) => l.startsWith(`  ${name}`))!.slice(13);
    const bandwidth = field("Bandwidth");
    const dirs = new Map(
      [...bandwidth.matchAll(/(\w+) ([\d.]+ \w*bit\/s) \(([\d,]+) B\)/g)].map((m) => [m[1], {
        rate: m[2],
        bytes: num(m[3]),
      }]),
    );
    stats.push({
      secs: Number(head[1]),
      packets: num(head[2]),
      bytes: num(head[3]),
      dirs,
      pps: num(bandwidth.match(/([\d,.]+) pkt\/s$/)![1]),
      talkers: new Map(list(field("Talkers")).map(([k, v]) => [k, bytesOf(v)])),
      processes: new Map(list(field("Processes")).map(([k, v]) => [k, bytesOf(v)])),
      protocols: new Map(
        list(field("Protocols")).map(([k, v]) => {
          const m = v.match(/^([\d,]+) \(([\d.]+%)\)$/)!;
          return [k, { packets: num(m[1]), percent: m[2] }];
        }),
      ),
      apps: new Map(list(field("Apps")).map(([k, v]) => [k, num(v)])),
    });
  }
  return { stats, sockets };
}
