// The records the decoder produces, parsed from its event buffer (layouts in wasm/ABI.md).
import * as abi from "./abi.ts";
import { AppEvent } from "./app_event.ts";
import { formatAddress, formatMac } from "../base/address.ts";
import { END_REASON_NAMES, ipProtocolName, MALFORMED_REASONS, TCP_STATE_NAMES } from "./names.ts";

/** One decoded packet (only produced when packet output is requested). */
export interface PacketRecord {
  /** 1-based position in its file, counting every record (as tshark's frame.number). */
  frame: number;
  iface: number;
  linktype: number;
  tsSec: number;
  tsNsec: number;
  caplen: number;
  wirelen: number;
  ipVersion: 0 | 4 | 6;
  /** Highest decoded protocol: TCP, UDP, ICMP, ICMPv6, ARP, IPv4, IPv6, GRE, ... or the link/other name. */
  protocol: string;
  ipProto: number;
  src: string;
  dst: string;
  srcPort: number | null;
  dstPort: number | null;
  srcMac: string | null;
  dstMac: string | null;
  ethertype: number;
  vlan: number[];
  ttl: number;
  ipLength: number;
  tcpFlags: number;
  tcpSeq: number;
  tcpAck: number;
  tcpWindow: number;
  icmpType: number | null;
  icmpCode: number | null;
  flowId: number;
  fromResponder: boolean;
  fragment: boolean;
  truncated: boolean;
  loopback: boolean;
  malformed: string | null;
  payloadLength: number;
  /** The first payload bytes, up to the requested maximum. */
  payload: Uint8Array;
}

/** One flow record: a whole flow, or a part of a long one cut by the active timeout. */
export interface FlowRecord {
  id: number;
  /** 0 for a flow's first record, 1, 2, ... for its continuations after active timeouts. */
  seq: number;
  ipVersion: 4 | 6;
  ipProto: number;
  protocol: string;
  /** Side A: the initiator. */
  src: string;
  srcPort: number;
  /** Side B: the responder. */
  dst: string;
  dstPort: number;
  vlan: number;
  iface: number;
  firstSec: number;
  firstNsec: number;
  lastSec: number;
  lastNsec: number;
  packetsAtoB: number;
  bytesAtoB: number;
  packetsBtoA: number;
  bytesBtoA: number;
  tcpFlagsA: number;
  tcpFlagsB: number;
  tcpState: string;
  endReason: string;
  fragments: number;
  /** The port naming the flow's service (a well-known port of either side), 0 without ports. */
  servicePort: number;
  /** abi.APP_* found in the payload (APP_UNKNOWN when none). */
  app: number;
}

/** A flow's first packet, as the decoder creates the flow (wasm/ABI.md, "FLOW_START event"). */
export interface FlowStartRecord {
  id: number;
  tsSec: number;
  tsNsec: number;
  ipVersion: 4 | 6;
  ipProto: number;
  /** The initiator. */
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  /** TCP flags of the first packet (0 when not TCP). */
  tcpFlags: number;
  wirelen: number;
}

/** What one source host sent in one window, when it crossed a threshold ("HOST_RATE event"). */
export interface HostRateRecord {
  tsSec: number;
  tsNsec: number;
  windowMs: number;
  address: string;
  packets: number;
  bytes: number;
  /** Bare SYNs (SYN without ACK). */
  syns: number;
}

/** One entry of the decoder's report tables (wasm/ABI.md, "TOP event"). */
export interface TopEntry {
  table: number;
  ipVersion: 4 | 6;
  ipProto: number;
  port: number | null;
  /** Services: abi.APP_* found in the payload of these flows (APP_UNKNOWN: named by port only). */
  app: number;
  a: string;
  b: string;
  packetsA: number;
  bytesA: number;
  packetsB: number;
  bytesB: number;
  flows: number;
  firstSec: number;
  firstNsec: number;
  lastSec: number;
  lastNsec: number;
}

/** A name for an address, from a pcapng name resolution block. */
export interface NameRecord {
  address: string;
  name: string;
}

/** A packet's pcapng comment (wiresight's own captures note the owning process there). */
export interface CommentRecord {
  frame: number;
  flowId: number;
  wirelen: number;
  fromResponder: boolean;
  text: string;
}

/** A pcapng interface statistics block: what the capturing interface counted. */
export interface InterfaceStatsRecord {
  iface: number;
  received: number | null;
  dropped: number | null;
  osDropped: number | null;
}

export interface InterfaceRecord {
  id: number;
  linktype: number;
  snaplen: number;
  tsUnitsLog10: number;
  name: string;
  format: "pcap" | "pcapng";
}

export interface EventHandlers {
  packet?(p: PacketRecord): void;
  flow?(f: FlowRecord): void;
  iface?(i: InterfaceRecord): void;
  top?(t: TopEntry): void;
  name?(n: NameRecord): void;
  ifaceStats?(s: InterfaceStatsRecord): void;
  /** Application-layer metadata; the event is only valid during the call. */
  app?(e: AppEvent): void;
  comment?(c: CommentRecord): void;
  flowStart?(f: FlowStartRecord): void;
  hostRate?(r: HostRateRecord): void;
}

const L3_NAMES: Record<number, string> = {
  [abi.L3_IPV4]: "IPv4",
  [abi.L3_IPV6]: "IPv6",
  [abi.L3_ARP]: "ARP",
  [abi.L3_OTHER]: "Other",
  [abi.L3_UNSUPPORTED_LINK]: "Unsupported",
  [abi.L3_NONE]: "Unknown",
};

const text = new TextDecoder();

export function parsePacket(u8: Uint8Array, dv: DataView, o: number): PacketRecord {
  const flags = dv.getUint32(o + abi.PKT_FLAGS, true);
  const l3 = u8[o + abi.PKT_L3];
  const ip = l3 === abi.L3_IPV4 || l3 === abi.L3_IPV6;
  const ipVersion = l3 === abi.L3_IPV4 ? 4 : l3 === abi.L3_IPV6 ? 6 : 0;
  const ipProto = u8[o + abi.PKT_IP_PROTO];
  const hasL4 = (flags & abi.PF_L4) !== 0;
  const ports = (flags & abi.PF_PORTS) !== 0;
  const arp = l3 === abi.L3_ARP;
  const addr = (off: number) =>
    ip ? formatAddress(ipVersion, u8, o + off) : arp ? formatAddress(4, u8, o + off) : "";
  const vlan: number[] = [];
  if (flags & abi.PF_VLAN_OUTER) vlan.push(dv.getUint16(o + abi.PKT_VLAN_OUTER, true));
  if (flags & abi.PF_VLAN_INNER) vlan.push(dv.getUint16(o + abi.PKT_VLAN_INNER, true));
  const isIcmp = hasL4 && (ipProto === 1 || ipProto === 58);
  const malformed = u8[o + abi.PKT_MALFORMED];
  const copied = dv.getUint16(o + abi.PKT_PAYLOAD_COPIED, true);
  const mac = (flags & abi.PF_MAC) !== 0;
  return {
    frame: dv.getFloat64(o + abi.PKT_FRAME, true),
    iface: dv.getUint32(o + abi.PKT_IFACE, true),
    linktype: dv.getUint16(o + abi.PKT_LINKTYPE, true),
    tsSec: dv.getFloat64(o + abi.PKT_TS_SEC, true),
    tsNsec: dv.getUint32(o + abi.PKT_TS_NSEC, true),
    caplen: dv.getUint32(o + abi.PKT_CAPLEN, true),
    wirelen: dv.getUint32(o + abi.PKT_WIRELEN, true),
    ipVersion,
    protocol: hasL4 ? ipProtocolName(ipProto) : L3_NAMES[l3] ?? "Unknown",
    ipProto,
    src: addr(abi.PKT_SRC),
    dst: addr(abi.PKT_DST),
    srcPort: ports ? dv.getUint16(o + abi.PKT_SPORT, true) : null,
    dstPort: ports ? dv.getUint16(o + abi.PKT_DPORT, true) : null,
    srcMac: mac ? formatMac(u8, o + abi.PKT_SRC_MAC) : null,
    dstMac: mac ? formatMac(u8, o + abi.PKT_DST_MAC) : null,
    ethertype: dv.getUint16(o + abi.PKT_ETHERTYPE, true),
    vlan,
    ttl: u8[o + abi.PKT_TTL],
    ipLength: dv.getUint32(o + abi.PKT_IP_LEN, true),
    tcpFlags: dv.getUint16(o + abi.PKT_TCP_FLAGS, true),
    tcpSeq: dv.getUint32(o + abi.PKT_TCP_SEQ, true),
    tcpAck: dv.getUint32(o + abi.PKT_TCP_ACK, true),
    tcpWindow: dv.getUint16(o + abi.PKT_TCP_WINDOW, true),
    icmpType: isIcmp ? u8[o + abi.PKT_ICMP_TYPE] : null,
    icmpCode: isIcmp ? u8[o + abi.PKT_ICMP_CODE] : null,
    flowId: dv.getFloat64(o + abi.PKT_FLOW_ID, true),
    fromResponder: (flags & abi.PF_FROM_RESPONDER) !== 0,
    fragment: (flags & abi.PF_FRAGMENT) !== 0,
    truncated: (flags & abi.PF_TRUNCATED) !== 0,
    loopback: (flags & abi.PF_LOOPBACK) !== 0,
    malformed: malformed ? MALFORMED_REASONS[malformed]?.[0] ?? `code_${malformed}` : null,
    payloadLength: dv.getUint32(o + abi.PKT_PAYLOAD_LEN, true),
    payload: u8.slice(o + abi.PKT_PAYLOAD, o + abi.PKT_PAYLOAD + copied),
  };
}

export function parseFlow(u8: Uint8Array, dv: DataView, o: number): FlowRecord {
  const ipVersion = u8[o + abi.FL_IPVER] === abi.L3_IPV6 ? 6 : 4;
  const ipProto = u8[o + abi.FL_PROTO];
  return {
    id: dv.getFloat64(o + abi.FL_ID, true),
    seq: dv.getUint16(o + abi.FL_RECORD_SEQ, true),
    ipVersion,
    ipProto,
    protocol: ipProtocolName(ipProto),
    src: formatAddress(ipVersion, u8, o + abi.FL_ADDR_A),
    srcPort: dv.getUint16(o + abi.FL_PORT_A, true),
    dst: formatAddress(ipVersion, u8, o + abi.FL_ADDR_B),
    dstPort: dv.getUint16(o + abi.FL_PORT_B, true),
    vlan: dv.getUint16(o + abi.FL_VLAN, true),
    iface: dv.getUint32(o + abi.FL_IFACE, true),
    firstSec: dv.getFloat64(o + abi.FL_FIRST_SEC, true),
    firstNsec: dv.getUint32(o + abi.FL_FIRST_NSEC, true),
    lastSec: dv.getFloat64(o + abi.FL_LAST_SEC, true),
    lastNsec: dv.getUint32(o + abi.FL_LAST_NSEC, true),
    packetsAtoB: dv.getFloat64(o + abi.FL_PKTS_A, true),
    bytesAtoB: dv.getFloat64(o + abi.FL_BYTES_A, true),
    packetsBtoA: dv.getFloat64(o + abi.FL_PKTS_B, true),
    bytesBtoA: dv.getFloat64(o + abi.FL_BYTES_B, true),
    tcpFlagsA: dv.getUint16(o + abi.FL_FLAGS_A, true),
    tcpFlagsB: dv.getUint16(o + abi.FL_FLAGS_B, true),
    tcpState: TCP_STATE_NAMES[u8[o + abi.FL_TCP_STATE]] ?? "",
    endReason: END_REASON_NAMES[u8[o + abi.FL_END]] ?? "",
    fragments: dv.getUint32(o + abi.FL_FRAGMENTS, true),
    servicePort: dv.getUint16(o + abi.FL_SERVICE_PORT, true),
    app: u8[o + abi.FL_APP],
  };
}

export function parseTop(u8: Uint8Array, dv: DataView, o: number): TopEntry {
  const table = u8[o + abi.TOP_TABLE];
  const ipVersion = u8[o + abi.TOP_IPVER] === abi.L3_IPV6 ? 6 : 4;
  const services = table === abi.TOP_SERVICES;
  return {
    table,
    ipVersion,
    ipProto: u8[o + abi.TOP_PROTO],
    port: u8[o + abi.TOP_HAS_PORT] ? dv.getUint16(o + abi.TOP_PORT, true) : null,
    app: u8[o + abi.TOP_APP],
    a: services ? "" : formatAddress(ipVersion, u8, o + abi.TOP_ADDR_A),
    b: table === abi.TOP_PAIRS ? formatAddress(ipVersion, u8, o + abi.TOP_ADDR_B) : "",
    packetsA: dv.getFloat64(o + abi.TOP_PKTS_A, true),
    bytesA: dv.getFloat64(o + abi.TOP_BYTES_A, true),
    packetsB: dv.getFloat64(o + abi.TOP_PKTS_B, true),
    bytesB: dv.getFloat64(o + abi.TOP_BYTES_B, true),
    flows: dv.getFloat64(o + abi.TOP_FLOWS, true),
    firstSec: dv.getFloat64(o + abi.TOP_FIRST_SEC, true),
    firstNsec: dv.getUint32(o + abi.TOP_FIRST_NSEC, true),
    lastSec: dv.getFloat64(o + abi.TOP_LAST_SEC, true),
    lastNsec: dv.getUint32(o + abi.TOP_LAST_NSEC, true),
  };
}

export function parseInterface(u8: Uint8Array, dv: DataView, o: number): InterfaceRecord {
  const nameLen = dv.getUint32(o + abi.IF_NAME_LEN, true);
  return {
    id: dv.getUint32(o + abi.IF_ID, true),
    linktype: dv.getUint32(o + abi.IF_LINKTYPE, true),
    snaplen: dv.getUint32(o + abi.IF_SNAPLEN, true),
    tsUnitsLog10: dv.getUint32(o + abi.IF_TS_UNITS, true),
    name: text.decode(u8.subarray(o + abi.IF_NAME, o + abi.IF_NAME + nameLen)),
    format: dv.getUint32(o + abi.IF_FORMAT, true) === 2 ? "pcapng" : "pcap",
  };
}

export function parseName(u8: Uint8Array, dv: DataView, o: number): NameRecord {
  const ipVersion = u8[o + abi.NM_IPVER] === abi.L3_IPV6 ? 6 : 4;
  const len = dv.getUint16(o + abi.NM_NAME_LEN, true);
  return {
    address: formatAddress(ipVersion, u8, o + abi.NM_ADDR),
    name: text.decode(u8.subarray(o + abi.NM_NAME, o + abi.NM_NAME + len)),
  };
}

export function parseComment(u8: Uint8Array, dv: DataView, o: number): CommentRecord {
  const len = dv.getUint16(o + abi.CM_TEXT_LEN, true);
  return {
    frame: dv.getFloat64(o + abi.CM_FRAME, true),
    flowId: dv.getFloat64(o + abi.CM_FLOW_ID, true),
    wirelen: dv.getUint32(o + abi.CM_WIRELEN, true),
    fromResponder: u8[o + abi.CM_FROM_RESPONDER] === 1,
    text: text.decode(u8.subarray(o + abi.CM_TEXT, o + abi.CM_TEXT + len)),
  };
}

export function parseInterfaceStats(_u8: Uint8Array, dv: DataView, o: number): InterfaceStatsRecord {
  const has = dv.getUint32(o + abi.IS_HAS, true);
  const counter = (bit: number, at: number) => has & bit ? dv.getFloat64(o + at, true) : null;
  return {
    iface: dv.getUint32(o + abi.IS_IFACE, true),
    received: counter(abi.IS_HAS_RECV, abi.IS_RECV),
    dropped: counter(abi.IS_HAS_DROP, abi.IS_DROP),
    osDropped: counter(abi.IS_HAS_OSDROP, abi.IS_OSDROP),
  };
}

export function parseFlowStart(u8: Uint8Array, dv: DataView, o: number): FlowStartRecord {
  const ipVersion = u8[o + abi.FS_IPVER] === abi.L3_IPV6 ? 6 : 4;
  return {
    id: dv.getFloat64(o + abi.FS_ID, true),
    tsSec: dv.getFloat64(o + abi.FS_TS_SEC, true),
    tsNsec: dv.getUint32(o + abi.FS_TS_NSEC, true),
    ipVersion,
    ipProto: u8[o + abi.FS_PROTO],
    src: formatAddress(ipVersion, u8, o + abi.FS_ADDR_A),
    srcPort: dv.getUint16(o + abi.FS_PORT_A, true),
    dst: formatAddress(ipVersion, u8, o + abi.FS_ADDR_B),
    dstPort: dv.getUint16(o + abi.FS_PORT_B, true),
    tcpFlags: dv.getUint16(o + abi.FS_TCP_FLAGS, true),
    wirelen: dv.getUint32(o + abi.FS_WIRELEN, true),
  };
}

export function parseHostRate(u8: Uint8Array, dv: DataView, o: number): HostRateRecord {
  const ipVersion = u8[o + abi.HR_IPVER] === abi.L3_IPV6 ? 6 : 4;
  return {
    tsSec: dv.getFloat64(o + abi.HR_TS_SEC, true),
    tsNsec: dv.getUint32(o + abi.HR_TS_NSEC, true),
    windowMs: dv.getUint32(o + abi.HR_WINDOW_MS, true),
    address: formatAddress(ipVersion, u8, o + abi.HR_ADDR),
    packets: dv.getFloat64(o + abi.HR_PACKETS, true),
    bytes: dv.getFloat64(o + abi.HR_BYTES, true),
    syns: dv.getFloat64(o + abi.HR_SYNS, true),
  };
}

/** Walks the events in `u8[start, end)` and hands each to its handler. */
export function dispatchEvents(
  u8: Uint8Array,
  dv: DataView,
  start: number,
  end: number,
  h: EventHandlers,
): void {
  for (let o = start; o + abi.EVENT_HEADER <= end;) {
    const type = dv.getUint16(o, true);
    const len = dv.getUint32(o + 4, true);
    if (len < abi.EVENT_HEADER) throw new Error(`decoder event of length ${len} at ${o - start}`);
    if (type === abi.EV_FLOW) h.flow?.(parseFlow(u8, dv, o));
    else if (type === abi.EV_PACKET) h.packet?.(parsePacket(u8, dv, o));
    else if (type === abi.EV_INTERFACE) h.iface?.(parseInterface(u8, dv, o));
    else if (type === abi.EV_TOP) h.top?.(parseTop(u8, dv, o));
    else if (type === abi.EV_NAME) h.name?.(parseName(u8, dv, o));
    else if (type === abi.EV_IFSTATS) h.ifaceStats?.(parseInterfaceStats(u8, dv, o));
    else if (type === abi.EV_APP) h.app?.(new AppEvent(u8, dv, o));
    else if (type === abi.EV_COMMENT) h.comment?.(parseComment(u8, dv, o));
    else if (type === abi.EV_FLOW_START) h.flowStart?.(parseFlowStart(u8, dv, o));
    else if (type === abi.EV_HOST_RATE) h.hostRate?.(parseHostRate(u8, dv, o));
    o += len;
  }
}

/** Epoch seconds + nanoseconds as ISO 8601 with nanoseconds ("2024-01-02T03:04:05.123456789Z"). */
export function isoTime(sec: number, nsec: number): string {
  const d = new Date(sec * 1000);
  if (Number.isNaN(d.getTime())) return "";
  return d.toISOString().replace(/\.\d{3}Z$/, `.${String(nsec).padStart(9, "0")}Z`);
}
