// The traffic report: totals from the decoder's counters, talkers/conversations/services from
// flow records. The same object is printed as text or as JSON (`--report json`).
import * as abi from "../decoder/abi.ts";
import { ethertypeName, ipProtocolName, linktypeName, MALFORMED_REASONS } from "../decoder/names.ts";
import { isoTime } from "../decoder/records.ts";
import { serviceName } from "../flows/services.ts";
import type { AppReport, AppSummary } from "../app/summary.ts";
import { appName } from "../app/names.ts";
import type { ProcessTotals } from "./processes.ts";
import type { DecodeResult } from "../source/decode.ts";
import { VERSION } from "../version.ts";
import type { GeoIp } from "../enrich/geo.ts";
import type { AsShare, CountryShare } from "../enrich/totals.ts";

export interface ProtocolShare {
  layer: "network" | "transport" | "link";
  packets: number;
  bytes: number;
  percent_packets: number;
  percent_bytes: number;
}

export interface Report extends AppReport {
  wiresight_version: string;
  files: { path: string; size: number; format: string | null; problem: string | null }[];
  packets: number;
  bytes: number;
  captured_bytes: number;
  flows: number;
  start: string | null;
  end: string | null;
  start_epoch: number | null;
  end_epoch: number | null;
  duration_s: number;
  rates: { packets_per_s: number; bits_per_s: number; avg_packet_bytes: number };
  records_read: number;
  filtered_out: number;
  truncated_packets: number;
  link_types: { linktype: number; name: string; packets: number; bytes: number }[];
  /** Capture interfaces; `received`/`dropped`/`os_dropped` when the file recorded them (pcapng ISB). */
  interfaces: {
    id: number;
    name: string;
    link_type: number;
    link_type_name: string;
    snaplen: number;
    received: number | null;
    dropped: number | null;
    os_dropped: number | null;
  }[];
  protocols: Record<string, ProtocolShare>;
  top_talkers: {
    address: string;
    /** From the capture's name resolution records, when it has them. */
    name: string | null;
    packets: number;
    bytes: number;
    packets_sent: number;
    bytes_sent: number;
    packets_received: number;
    bytes_received: number;
    flows: number;
    /** ISO country code, or the address's class ("private", "loopback", ...); null: unknown or geoip off. */
    country: string | null;
    asn: number | null;
    as_org: string | null;
  }[];
  /** Traffic per country (or address class) of either end, over every flow; empty with geoip off. */
  top_countries: CountryShare[];
  /** Traffic per autonomous system of either end, over every flow; empty with geoip off. */
  top_as: AsShare[];
  top_conversations: {
    a: string;
    b: string;
    packets: number;
    bytes: number;
    packets_a_to_b: number;
    bytes_a_to_b: number;
    packets_b_to_a: number;
    bytes_b_to_a: number;
    flows: number;
    duration_s: number;
  }[];
  top_ports: {
    protocol: string;
    port: number | null;
    /** The application found in the payload, else the well-known service of the port. */
    service: string | null;
    /** "payload" when the decoder recognised the protocol, "port" for a guess by port number. */
    detected_by: "payload" | "port" | null;
    flows: number;
    packets: number;
    bytes: number;
  }[];
  malformed: { total: number; reasons: Record<string, number> };
  fragments: { ipv4: number; ipv6: number; non_first: number; unmatched: number };
  flow_table: { created: number; records: number; idle_timeouts: number; evicted: number; peak: number };
  /** True when a bounded table had to fold its smallest entries (top lists stay exact at the top). */
  approximate: boolean;
  warnings: string[];
  /** Traffic per process: a live capture's owners, or those a wiresight pcapng noted per packet. */
  processes?: ProcessTotals[];
  /** A live capture's interface, libpcap counters and process attribution method. */
  capture?: {
    interface: string;
    received?: number;
    dropped?: number;
    ifDropped?: number;
    error?: string;
    attribution?: string | null;
  };
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

export function buildReport(
  result: DecodeResult,
  apps?: AppSummary,
  top = 10,
  geo?: GeoIp | null,
): Report {
  const s = result.stats;
  const packets = s[abi.ST_PACKETS], bytes = s[abi.ST_BYTES];
  const hasTime = s[abi.ST_FIRST_SEC] >= 0 && packets > 0;
  const startEpoch = hasTime ? s[abi.ST_FIRST_SEC] + s[abi.ST_FIRST_NSEC] / 1e9 : null;
  const endEpoch = hasTime ? s[abi.ST_LAST_SEC] + s[abi.ST_LAST_NSEC] / 1e9 : null;
  const duration = hasTime
    ? (s[abi.ST_LAST_SEC] - s[abi.ST_FIRST_SEC]) + (s[abi.ST_LAST_NSEC] - s[abi.ST_FIRST_NSEC]) / 1e9
    : 0;
  const share = (layer: ProtocolShare["layer"], p: number, b: number): ProtocolShare => ({
    layer,
    packets: p,
    bytes: b,
    percent_packets: packets ? round((100 * p) / packets) : 0,
    percent_bytes: bytes ? round((100 * b) / bytes) : 0,
  });

  const protocols: Record<string, ProtocolShare> = {};
  const net: [string, number, number][] = [
    ["IPv4", abi.ST_IPV4_PKTS, abi.ST_IPV4_BYTES],
    ["IPv6", abi.ST_IPV6_PKTS, abi.ST_IPV6_BYTES],
    ["ARP", abi.ST_ARP_PKTS, abi.ST_ARP_BYTES],
  ];
  for (const [name, p, b] of net) if (s[p] > 0) protocols[name] = share("network", s[p], s[b]);
  for (let i = 0; i < 32; i++) {
    const base = abi.ST_ETHERTYPE_BASE + 3 * i;
    if (s[base] >= 0 && s[base + 1] > 0) {
      protocols[ethertypeName(s[base])] = share("network", s[base + 1], s[base + 2]);
    }
  }
  if (s[abi.ST_UNSUPPORTED_LINK_PKTS] > 0) {
    protocols["Undecoded link type"] = share(
      "link",
      s[abi.ST_UNSUPPORTED_LINK_PKTS],
      s[abi.ST_UNSUPPORTED_LINK_BYTES],
    );
  }
  const transport: [string, number, number][] = [];
  for (let proto = 0; proto < 256; proto++) {
    const p = s[abi.ST_PROTO_BASE + 2 * proto];
    if (p > 0) transport.push([ipProtocolName(proto), p, s[abi.ST_PROTO_BASE + 2 * proto + 1]]);
  }
  transport.sort((a, b) => b[1] - a[1]);
  for (const [name, p, b] of transport) protocols[name] = share("transport", p, b);

  const linkTypes = [];
  for (let i = 0; i < 16; i++) {
    const base = abi.ST_LINKTYPE_BASE + 3 * i;
    if (s[base] >= 0) {
      linkTypes.push({
        linktype: s[base],
        name: linktypeName(s[base]),
        packets: s[base + 1],
        bytes: s[base + 2],
      });
    }
  }

  const reasons: Record<string, number> = {};
  let malformedTotal = 0;
  for (let code = 1; code < abi.MAL_COUNT; code++) {
    const n = s[abi.ST_MALFORMED_BASE + code];
    if (n > 0) {
      reasons[MALFORMED_REASONS[code]?.[0] ?? `code_${code}`] = n;
      malformedTotal += n;
    }
  }

  const warnings: string[] = [];
  for (const f of result.files) if (f.problem) warnings.push(f.problem.message);
  if (s[abi.ST_UNSUPPORTED_LINK_PKTS] > 0) {
    const kinds = linkTypes.filter((l) => l.name.includes("not decoded")).map((l) => l.linktype).join(", ");
    warnings.push(
      `${s[abi.ST_UNSUPPORTED_LINK_PKTS]} packets of link type ${kinds} were counted but not decoded ` +
        `(wiresight decodes Ethernet, Linux SLL/SLL2, NULL/LOOP, raw IP, PPP and NFLOG)`,
    );
  }
  if (s[abi.ST_FLOWS_EVICTED] > 0) {
    warnings.push(`${s[abi.ST_FLOWS_EVICTED]} flows were ended early to stay under --max-flows`);
  }

  return {
    wiresight_version: VERSION,
    files: result.files.map((f) => ({
      path: f.path,
      size: f.size,
      format: f.format ?? null,
      problem: f.problem?.message ?? null,
    })),
    packets,
    bytes,
    captured_bytes: s[abi.ST_CAPTURED_BYTES],
    flows: s[abi.ST_FLOWS_CREATED],
    start: startEpoch === null ? null : isoTime(s[abi.ST_FIRST_SEC], s[abi.ST_FIRST_NSEC]),
    end: endEpoch === null ? null : isoTime(s[abi.ST_LAST_SEC], s[abi.ST_LAST_NSEC]),
    start_epoch: startEpoch,
    end_epoch: endEpoch,
    duration_s: round(duration, 6),
    rates: {
      packets_per_s: duration > 0 ? round(packets / duration) : 0,
      bits_per_s: duration > 0 ? round((8 * bytes) / duration) : 0,
      avg_packet_bytes: packets ? round(bytes / packets) : 0,
    },
    records_read: s[abi.ST_RECORDS],
    filtered_out: s[abi.ST_FILTERED],
    truncated_packets: s[abi.ST_TRUNCATED],
    link_types: linkTypes,
    interfaces: result.interfaces.map((i) => {
      const st = result.interfaceStats.get(i.id);
      return {
        id: i.id,
        name: i.name,
        link_type: i.linktype,
        link_type_name: linktypeName(i.linktype),
        snaplen: i.snaplen,
        received: st?.received ?? null,
        dropped: st?.dropped ?? null,
        os_dropped: st?.osDropped ?? null,
      };
    }),
    protocols,
    top_talkers: result.top.hosts.map((h) => ({
      address: h.a,
      name: result.names.get(h.a) ?? apps?.nameOf(h.a) ?? null,
      packets: h.packetsA + h.packetsB,
      bytes: h.bytesA + h.bytesB,
      packets_sent: h.packetsA,
      bytes_sent: h.bytesA,
      packets_received: h.packetsB,
      bytes_received: h.bytesB,
      flows: h.flows,
      ...(geo?.lookup(h.a) ?? { country: null, asn: null, as_org: null }),
    })),
    top_countries: [],
    top_as: [],
    top_conversations: result.top.pairs.map((c) => ({
      a: c.a,
      b: c.b,
      packets: c.packetsA + c.packetsB,
      bytes: c.bytesA + c.bytesB,
      packets_a_to_b: c.packetsA,
      bytes_a_to_b: c.bytesA,
      packets_b_to_a: c.packetsB,
      bytes_b_to_a: c.bytesB,
      flows: c.flows,
      duration_s: round(Math.max(0, c.lastSec - c.firstSec + (c.lastNsec - c.firstNsec) / 1e9), 6),
    })),
    top_ports: result.top.services.map((v) => {
      const byPort = v.port === null ? null : serviceName(v.ipProto, v.port) ?? null;
      const byPayload = appName(v.app);
      return {
        protocol: ipProtocolName(v.ipProto).toLowerCase(),
        port: v.port,
        service: byPayload ?? byPort,
        detected_by: byPayload ? "payload" as const : byPort ? "port" as const : null,
        flows: v.flows,
        packets: v.packetsA,
        bytes: v.bytesA,
      };
    }),
    malformed: { total: malformedTotal, reasons },
    fragments: {
      ipv4: s[abi.ST_IPV4_FRAGMENTS],
      ipv6: s[abi.ST_IPV6_FRAGMENTS],
      non_first: s[abi.ST_NON_FIRST_FRAGMENTS],
      unmatched: s[abi.ST_FRAGMENTS_UNMATCHED],
    },
    flow_table: {
      created: s[abi.ST_FLOWS_CREATED],
      records: s[abi.ST_FLOW_RECORDS],
      idle_timeouts: s[abi.ST_FLOWS_IDLE],
      evicted: s[abi.ST_FLOWS_EVICTED],
      peak: s[abi.ST_FLOWS_PEAK],
    },
    ...(apps?.report(top) ??
      { dns: null, http: null, tls: null, quic: null, ssh: null, other: null, ftp: null }),
    approximate: s[abi.ST_HOSTS_FOLDED] + s[abi.ST_PAIRS_FOLDED] + s[abi.ST_SERVICES_FOLDED] > 0,
    warnings,
  };
}
