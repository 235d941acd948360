// Floods: many connection attempts to one service (one destination address and port); a source
// trying many ports or hosts is a scan (scan.ts), not a flood. SYN flood: bare SYNs towards one
// service (counted at each new flow, so spoofed random sources add up) or from one host (the
// decoder's per-host window counts, which also catch a flood that keeps one 5-tuple; dropped by
// the engine when a scan or flood already names that host). Connection flood: completed TCP
// handshakes from one host to one service. Packet rate: a host sending more packets per second
// than the threshold.
import type { DetectConfig } from "../config.ts";
import { type Detector, type Raise, seconds, TCP, TCP_ACK, TCP_SYN } from "../detector.ts";
import type { FlowRecord } from "../../decoder/records.ts";
import { BoundedTable } from "../../base/bounded_table.ts";
import { WindowedCount, WindowedSet } from "../windows.ts";

const SAMPLE = 10;

function isBareSyn(proto: number, flags: number): boolean {
  return proto === TCP && (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
}

export function synFlood(cfg: DetectConfig["syn_flood"], raise: Raise, maxEntries: number): Detector {
  const victims = new BoundedTable<{ syns: WindowedCount; sources: WindowedSet }>("syn_flood", maxEntries);
  return {
    tables: [victims],
    flowStart(f) {
      if (!isBareSyn(f.ipProto, f.tcpFlags) || cfg.syns === 0) return;
      const ts = seconds(f.tsSec, f.tsNsec);
      const service = `${f.dst}:${f.dstPort}`;
      const v = victims.upsert(
        service,
        () => ({ syns: new WindowedCount(ts), sources: new WindowedSet(ts, 1000) }),
      );
      const n = v.syns.add(ts, cfg.window_s);
      const sources = v.sources.add(f.src, ts, cfg.window_s);
      if (n < cfg.syns) return;
      const few = v.sources.sample(SAMPLE) as string[];
      raise({
        type: "syn_flood",
        severity: n >= 10 * cfg.syns ? "critical" : "high",
        incident: "flood",
        key: `to ${service}`,
        ts,
        flowId: f.id,
        src: sources === 1 ? f.src : null,
        dst: f.dst,
        dstPort: f.dstPort,
        proto: TCP,
        hosts: [...few, f.dst],
        message:
          `${n} connection attempts (SYN) to ${service} from ${sources} source(s) within ${cfg.window_s} s`,
        evidence: { syns: n, threshold: cfg.syns, window_s: cfg.window_s, sources, sources_sample: few },
      });
    },
    hostRate(r) {
      const perS = r.syns / (r.windowMs / 1000);
      if (cfg.syns === 0 || perS < cfg.syns / cfg.window_s) return;
      const ts = seconds(r.tsSec, r.tsNsec);
      raise({
        type: "syn_flood",
        severity: perS >= 10 * cfg.syns / cfg.window_s ? "critical" : "high",
        incident: "host_rate",
        key: `from ${r.address}`,
        ts,
        src: r.address,
        proto: TCP,
        message: `${r.address} sent ${r.syns} SYNs in ${r.windowMs} ms`,
        evidence: { syns: r.syns, window_ms: r.windowMs, syns_per_s: Math.round(perS), threshold: cfg.syns },
      });
    },
  };
}

export function connectionFlood(
  cfg: DetectConfig["connection_flood"],
  raise: Raise,
  maxEntries: number,
): Detector {
  const pairs = new BoundedTable<WindowedCount>("connection_flood", maxEntries);
  return {
    tables: [pairs],
    flow(f) {
      if (!completedHandshake(f) || cfg.connections === 0) return;
      const ts = seconds(f.firstSec, f.firstNsec);
      const key = `${f.src}>${f.dst}:${f.dstPort}`;
      const n = pairs.upsert(key, () => new WindowedCount(ts)).add(ts, cfg.window_s);
      if (n < cfg.connections) return;
      raise({
        type: "connection_flood",
        severity: n >= 10 * cfg.connections ? "high" : "medium",
        incident: "flood",
        key,
        ts,
        flowId: f.id,
        src: f.src,
        dst: f.dst,
        dstPort: f.dstPort,
        proto: TCP,
        message: `${f.src} opened ${n} TCP connections to ${f.dst}:${f.dstPort} within ${cfg.window_s} s`,
        evidence: { connections: n, threshold: cfg.connections, window_s: cfg.window_s },
      });
    },
  };
}

/**
 * A flow's first record after a completed handshake: the initiator's SYN and ACK, the
 * responder's SYN-ACK (a SYN answered by a reset, or not at all, is an attempt only).
 */
function completedHandshake(f: FlowRecord): boolean {
  const both = TCP_SYN | TCP_ACK;
  return f.ipProto === TCP && f.seq === 0 && (f.tcpFlagsA & both) === both && (f.tcpFlagsB & both) === both;
}

export function packetRate(cfg: DetectConfig["packet_rate"], raise: Raise): Detector {
  return {
    hostRate(r) {
      const perS = r.packets / (r.windowMs / 1000);
      if (cfg.packets === 0 || perS < cfg.packets) return;
      raise({
        type: "packet_rate",
        severity: perS >= 10 * cfg.packets ? "high" : "medium",
        incident: "host_rate",
        key: r.address,
        ts: seconds(r.tsSec, r.tsNsec),
        src: r.address,
        message: `${r.address} sent ${Math.round(perS)} packets/s (${r.packets} in ${r.windowMs} ms)`,
        evidence: {
          packets: r.packets,
          bytes: r.bytes,
          window_ms: r.windowMs,
          packets_per_s: Math.round(perS),
          threshold_per_s: cfg.packets,
        },
      });
    },
  };
}
