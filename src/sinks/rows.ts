// The packet and flow exports' columns: each one's name, type and value in one place.
import { type Column, describe, epochText, type RowSchema, via } from "../base/columns.ts";
import type { ProcessNote } from "../proc/process.ts";
import type { FlowRecord, PacketRecord } from "../decoder/records.ts";
import { appName } from "../app/names.ts";
import { isoTime } from "../decoder/records.ts";
import { ENCAP_NAMES, tcpFlagLetters } from "../decoder/names.ts";
import { serviceName } from "../flows/services.ts";
import { communityId } from "../flows/community_id.ts";
import type { GeoInfo } from "../enrich/geo.ts";

/** A flow record with what the session learned about it: the name it is known by, its process. */
export interface FlowView {
  record: FlowRecord;
  /** SNI, HTTP Host, else the DNS name of its responder. */
  serverName: string | null;
  /** "doh", "dot" or "doq" when its TLS/QUIC hello says encrypted DNS (the app column shows it). */
  encryptedDns?: string | null;
  /** The process it belongs to, when known (live capture, or a pcapng that noted it): its
   * initiator's when local, else its responder's. */
  owner: ProcessNote | null;
  /** Its responder's process, when the responder is on this machine (live capture). */
  responder: ProcessNote | null;
  /** Its Community ID v1 (with the session's seed). */
  communityId: string;
  /** Country and AS of each end (null: geoip off). */
  srcGeo?: GeoInfo | null;
  dstGeo?: GeoInfo | null;
}

/** A flow's Community ID v1: ICMP hashed by its message types as Zeek keys them. */
export function flowCommunityId(f: FlowRecord, seed: number): string {
  const ports = f.icmpPorts ?? { src: f.srcPort, dst: f.dstPort };
  return communityId(
    { ipProto: f.ipProto, src: f.src, dst: f.dst, srcPort: ports.src, dstPort: ports.dst },
    seed,
  );
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

const ports = (p: PacketRecord) => p.srcPort !== null;
const tcp = (p: PacketRecord) => p.ipProto === 6 && p.srcPort !== null;

/** `--export-type packets`, and the packets a session keeps. */
export const PACKET_ROWS: RowSchema<PacketRecord> = describe<PacketRecord>([
  { name: "frame", type: "integer", get: (p) => p.frame },
  { name: "time", type: "text", get: (p) => isoTime(p.tsSec, p.tsNsec) },
  { name: "ts_epoch", type: "text", get: (p) => epochText(p.tsSec, p.tsNsec) },
  { name: "iface", type: "integer", get: (p) => p.iface },
  { name: "caplen", type: "integer", get: (p) => p.caplen },
  { name: "len", type: "integer", get: (p) => p.wirelen },
  { name: "protocol", type: "text", get: (p) => p.protocol },
  { name: "ip_version", type: "integer", get: (p) => p.ipVersion || null },
  { name: "src", type: "text", get: (p) => p.src || null },
  { name: "src_port", type: "integer", get: (p) => ports(p) ? p.srcPort : null },
  { name: "dst", type: "text", get: (p) => p.dst || null },
  { name: "dst_port", type: "integer", get: (p) => ports(p) ? p.dstPort : null },
  { name: "src_mac", type: "text", get: (p) => p.srcMac },
  { name: "dst_mac", type: "text", get: (p) => p.dstMac },
  { name: "vlan", type: "text", get: (p) => p.vlan.length ? p.vlan.join(".") : null },
  { name: "ttl", type: "integer", get: (p) => p.ipVersion ? p.ttl : null },
  { name: "ip_len", type: "integer", get: (p) => p.ipVersion ? p.ipLength : null },
  { name: "tcp_flags", type: "text", get: (p) => tcp(p) ? tcpFlagLetters(p.tcpFlags) : null },
  { name: "tcp_seq", type: "integer", get: (p) => tcp(p) ? p.tcpSeq : null },
  { name: "tcp_ack", type: "integer", get: (p) => tcp(p) ? p.tcpAck : null },
  { name: "tcp_window", type: "integer", get: (p) => tcp(p) ? p.tcpWindow : null },
  { name: "icmp_type", type: "integer", get: (p) => p.icmpType },
  { name: "icmp_code", type: "integer", get: (p) => p.icmpCode },
  { name: "flow_id", type: "integer", get: (p) => p.flowId || null },
  { name: "direction", type: "text", get: (p) => p.flowId ? (p.fromResponder ? "b_to_a" : "a_to_b") : null },
  { name: "fragment", type: "boolean", get: (p) => p.fragment },
  { name: "truncated", type: "boolean", get: (p) => p.truncated },
  { name: "malformed", type: "text", get: (p) => p.malformed },
  { name: "payload_len", type: "integer", get: (p) => p.payloadLength },
  { name: "payload_hex", type: "text", get: (p) => p.payload.length ? hex(p.payload) : null },
]);

/** The geoip columns of one end of a flow, named with PREFIX. */
function geoColumns(prefix: "src" | "dst"): Column<GeoInfo | null | undefined>[] {
  return [
    { name: `${prefix}_country`, type: "text", get: (g) => g?.country ?? null },
    { name: `${prefix}_asn`, type: "integer", get: (g) => g?.asn ?? null },
    { name: `${prefix}_as_org`, type: "text", get: (g) => g?.as_org ?? null },
  ];
}

/** Whether the flow has ports (TCP, UDP): ICMP and others have none. */
const flowPorts = (f: FlowRecord) => f.srcPort !== 0 || f.dstPort !== 0;
const seconds = (sec: number, nsec: number) => sec + nsec / 1e9;

/** `--export-type flows`, and the flows a session keeps (see store/schema.ts for their table). */
export const FLOW_ROWS: RowSchema<FlowView> = describe<FlowView>([
  ...via((v: FlowView) => v.record, [
    { name: "flow_id", type: "integer", get: (f) => f.id },
    { name: "record_seq", type: "integer", get: (f) => f.seq },
    { name: "start", type: "text", get: (f) => isoTime(f.firstSec, f.firstNsec) },
    { name: "end", type: "text", get: (f) => isoTime(f.lastSec, f.lastNsec) },
    {
      name: "duration_s",
      type: "real",
      get: (f) => Math.round((seconds(f.lastSec, f.lastNsec) - seconds(f.firstSec, f.firstNsec)) * 1e6) / 1e6,
    },
    { name: "ip_version", type: "integer", get: (f) => f.ipVersion },
    { name: "protocol", type: "text", get: (f) => f.protocol },
    { name: "src", type: "text", get: (f) => f.src },
    { name: "src_port", type: "integer", get: (f) => flowPorts(f) ? f.srcPort : null },
    { name: "dst", type: "text", get: (f) => f.dst },
    { name: "dst_port", type: "integer", get: (f) => flowPorts(f) ? f.dstPort : null },
    {
      name: "service",
      type: "text",
      get: (f) => flowPorts(f) ? serviceName(f.ipProto, f.servicePort) ?? null : null,
    },
    { name: "vlan", type: "integer", get: (f) => f.vlan || null },
    { name: "iface", type: "integer", get: (f) => f.iface },
    { name: "packets_a_to_b", type: "integer", get: (f) => f.packetsAtoB },
    { name: "bytes_a_to_b", type: "integer", get: (f) => f.bytesAtoB },
    { name: "packets_b_to_a", type: "integer", get: (f) => f.packetsBtoA },
    { name: "bytes_b_to_a", type: "integer", get: (f) => f.bytesBtoA },
    { name: "packets", type: "integer", get: (f) => f.packetsAtoB + f.packetsBtoA },
    { name: "bytes", type: "integer", get: (f) => f.bytesAtoB + f.bytesBtoA },
    { name: "tcp_flags_a", type: "text", get: (f) => f.ipProto === 6 ? tcpFlagLetters(f.tcpFlagsA) : null },
    { name: "tcp_flags_b", type: "text", get: (f) => f.ipProto === 6 ? tcpFlagLetters(f.tcpFlagsB) : null },
    { name: "tcp_state", type: "text", get: (f) => f.tcpState || null },
    { name: "end_reason", type: "text", get: (f) => f.endReason },
    { name: "fragments", type: "integer", get: (f) => f.fragments },
  ]),
  { name: "app", type: "text", get: (v) => v.encryptedDns ?? appName(v.record.app) },
  { name: "server_name", type: "text", get: (v) => v.serverName },
  ...via((v: FlowView) => v.owner, [
    { name: "pid", type: "integer", get: (o) => o?.pid ?? null },
    { name: "process", type: "text", get: (o) => o?.name ?? null },
    { name: "exe", type: "text", get: (o) => o?.exe ?? null },
    { name: "user", type: "text", get: (o) => o?.user ?? null },
  ]),
  // Both ends of a connection on this machine: the responder's process too (a server's).
  ...via((v: FlowView) => v.responder, [
    { name: "responder_pid", type: "integer", get: (o) => o?.pid ?? null },
    { name: "responder_process", type: "text", get: (o) => o?.name ?? null },
    { name: "responder_exe", type: "text", get: (o) => o?.exe ?? null },
    { name: "responder_user", type: "text", get: (o) => o?.user ?? null },
  ]),
  { name: "community_id", type: "text", get: (v) => v.communityId },
  // Zeek's tunnel_parents: the flow_ids of the tunnels' own flows, outermost first.
  { name: "tunnel_parents", type: "integers", get: (v) => v.record.tunnelParents },
  { name: "tunnel", type: "text", get: (v) => ENCAP_NAMES[v.record.encap] ?? null },
  // Country (or "private", "loopback", ... for addresses that have none) and AS of each end.
  ...via((v: FlowView) => v.srcGeo, geoColumns("src")),
  ...via((v: FlowView) => v.dstGeo, geoColumns("dst")),
]);
