// Port scans, seen at each connection attempt (flow start): vertical, one source probing many
// ports of one host; horizontal, one source probing one port on many hosts. Windows are capture
// time, so a file and a live capture give the same alerts.
import type { DetectConfig } from "../config.ts";
import { type Detector, protoName, type Raise, seconds, TCP, TCP_ACK, TCP_SYN, UDP } from "../detector.ts";
import { BoundedTable } from "../../base/bounded_table.ts";
import { WindowedSet } from "../windows.ts";

const SAMPLE = 20;

export function portScan(cfg: DetectConfig["port_scan"], raise: Raise, maxEntries: number): Detector {
  const vertical = new BoundedTable<WindowedSet>("port_scan.vertical", maxEntries);
  const horizontal = new BoundedTable<WindowedSet>("port_scan.horizontal", maxEntries);
  return {
    tables: [vertical, horizontal],
    flowStart(f) {
      // Connection attempts only: a TCP flow opened by a bare SYN, or any UDP flow.
      if (f.ipProto === TCP ? (f.tcpFlags & (TCP_SYN | TCP_ACK)) !== TCP_SYN : f.ipProto !== UDP) return;
      const ts = seconds(f.tsSec, f.tsNsec);
      const pair = `${f.src}>${f.dst}`;
      const ports = vertical.upsert(pair, () => new WindowedSet(ts, cfg.vertical_ports * 4));
      const nPorts = ports.add(`${protoName(f.ipProto)}/${f.dstPort}`, ts, cfg.window_s);
      if (cfg.vertical_ports > 0 && nPorts >= cfg.vertical_ports) {
        raise({
          type: "port_scan.vertical",
          severity: nPorts >= 4 * cfg.vertical_ports ? "high" : "medium",
          incident: "scan",
          key: pair,
          ts,
          flowId: f.id,
          src: f.src,
          dst: f.dst,
          message: `${f.src} probed ${nPorts}+ ports of ${f.dst} within ${cfg.window_s} s`,
          evidence: {
            distinct_ports: nPorts,
            threshold: cfg.vertical_ports,
            window_s: cfg.window_s,
            ports_sample: ports.sample(SAMPLE),
          },
        });
      }
      const service = `${f.src}>${protoName(f.ipProto)}/${f.dstPort}`;
      const hosts = horizontal.upsert(service, () => new WindowedSet(ts, cfg.horizontal_hosts * 4));
      const nHosts = hosts.add(f.dst, ts, cfg.window_s);
      if (cfg.horizontal_hosts > 0 && nHosts >= cfg.horizontal_hosts) {
        raise({
          type: "port_scan.horizontal",
          severity: nHosts >= 4 * cfg.horizontal_hosts ? "high" : "medium",
          incident: "scan",
          key: service,
          ts,
          flowId: f.id,
          src: f.src,
          dstPort: f.dstPort,
          proto: f.ipProto,
          hosts: [f.src],
          message: `${f.src} probed ${
            protoName(f.ipProto)
          } port ${f.dstPort} on ${nHosts}+ hosts within ${cfg.window_s} s`,
          evidence: {
            distinct_hosts: nHosts,
            threshold: cfg.horizontal_hosts,
            window_s: cfg.window_s,
            hosts_sample: hosts.sample(SAMPLE),
          },
        });
      }
    },
  };
}
