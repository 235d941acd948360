// Flat rows for exports: the same columns in JSON, NDJSON and CSV.
import { epochText, type Row } from "../base/columns.ts";
import type { ProcessNote } from "../proc/process.ts";
import type { FlowRecord, PacketRecord } from "../decoder/records.ts";
import { appName } from "../app/names.ts";
import { isoTime } from "../decoder/records.ts";
import { tcpFlagLetters } from "../decoder/names.ts";
import { serviceName } from "../flows/services.ts";

export const PACKET_COLUMNS = [
  "frame",
  "time",
  "ts_epoch",
  "iface",
  "caplen",
  "len",
  "protocol",
  "ip_version",
  "src",
  "src_port",
  "dst",
  "dst_port",
  "src_mac",
  "dst_mac",
  "vlan",
  "ttl",
  "ip_len",
  "tcp_flags",
  "tcp_seq",
  "tcp_ack",
  "tcp_window",
  "icmp_type",
  "icmp_code",
  "flow_id",
  "direction",
  "fragment",
  "truncated",
  "malformed",
  "payload_len",
  "payload_hex",
] as const;

export const FLOW_COLUMNS = [
  "flow_id",
  "record_seq",
  "start",
  "end",
  "duration_s",
  "ip_version",
  "protocol",
  "src",
  "src_port",
  "dst",
  "dst_port",
  "service",
  "vlan",
  "iface",
  "packets_a_to_b",
  "bytes_a_to_b",
  "packets_b_to_a",
  "bytes_b_to_a",
  "packets",
  "bytes",
  "tcp_flags_a",
  "tcp_flags_b",
  "tcp_state",
  "end_reason",
  "fragments",
  "app",
  "server_name",
  "pid",
  "process",
  "exe",
  "user",
] as const;

/** A flow record with what the session learned about it: the name it is known by, its process. */
export interface FlowView {
  record: FlowRecord;
  /** SNI, HTTP Host, else the DNS name of its responder. */
  serverName: string | null;
  /** The process it belongs to, when known (live capture, or a pcapng that noted it). */
  owner: ProcessNote | null;
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

export function packetRow(p: PacketRecord): Row {
  const ports = p.srcPort !== null;
  return {
    frame: p.frame,
    time: isoTime(p.tsSec, p.tsNsec),
    ts_epoch: epochText(p.tsSec, p.tsNsec),
    iface: p.iface,
    caplen: p.caplen,
    len: p.wirelen,
    protocol: p.protocol,
    ip_version: p.ipVersion || null,
    src: p.src || null,
    src_port: ports ? p.srcPort : null,
    dst: p.dst || null,
    dst_port: ports ? p.dstPort : null,
    src_mac: p.srcMac,
    dst_mac: p.dstMac,
    vlan: p.vlan.length ? p.vlan.join(".") : null,
    ttl: p.ipVersion ? p.ttl : null,
    ip_len: p.ipVersion ? p.ipLength : null,
    tcp_flags: p.ipProto === 6 && ports ? tcpFlagLetters(p.tcpFlags) : null,
    tcp_seq: p.ipProto === 6 && ports ? p.tcpSeq : null,
    tcp_ack: p.ipProto === 6 && ports ? p.tcpAck : null,
    tcp_window: p.ipProto === 6 && ports ? p.tcpWindow : null,
    icmp_type: p.icmpType,
    icmp_code: p.icmpCode,
    flow_id: p.flowId || null,
    direction: p.flowId ? (p.fromResponder ? "b_to_a" : "a_to_b") : null,
    fragment: p.fragment,
    truncated: p.truncated,
    malformed: p.malformed,
    payload_len: p.payloadLength,
    payload_hex: p.payload.length ? hex(p.payload) : null,
  };
}

/** A flow record as a row; `serverName` is what the flow is known by (SNI, Host, DNS), if any. */
export function flowRow({ record: f, serverName, owner }: FlowView): Row {
  const start = f.firstSec + f.firstNsec / 1e9;
  const end = f.lastSec + f.lastNsec / 1e9;
  const ports = f.srcPort !== 0 || f.dstPort !== 0;
  return {
    flow_id: f.id,
    record_seq: f.seq,
    start: isoTime(f.firstSec, f.firstNsec),
    end: isoTime(f.lastSec, f.lastNsec),
    duration_s: Math.round((end - start) * 1e6) / 1e6,
    ip_version: f.ipVersion,
    protocol: f.protocol,
    src: f.src,
    src_port: ports ? f.srcPort : null,
    dst: f.dst,
    dst_port: ports ? f.dstPort : null,
    service: ports ? serviceName(f.ipProto, f.servicePort) ?? null : null,
    vlan: f.vlan || null,
    iface: f.iface,
    packets_a_to_b: f.packetsAtoB,
    bytes_a_to_b: f.bytesAtoB,
    packets_b_to_a: f.packetsBtoA,
    bytes_b_to_a: f.bytesBtoA,
    packets: f.packetsAtoB + f.packetsBtoA,
    bytes: f.bytesAtoB + f.bytesBtoA,
    tcp_flags_a: f.ipProto === 6 ? tcpFlagLetters(f.tcpFlagsA) : null,
    tcp_flags_b: f.ipProto === 6 ? tcpFlagLetters(f.tcpFlagsB) : null,
    tcp_state: f.tcpState || null,
    end_reason: f.endReason,
    fragments: f.fragments,
    app: appName(f.app),
    server_name: serverName,
    pid: owner?.pid ?? null,
    process: owner?.name ?? null,
    exe: owner?.exe ?? null,
    user: owner?.user ?? null,
  };
}
