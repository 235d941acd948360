// The records the decoder produces, parsed from its event buffer (layouts in wasm/ABI.md).
import * as abi from "./abi.ts";
import { AppEvent } from "./app_event.ts";
import { formatAddress, formatMac } from "../base/address.ts";
import { type Field, getF64, getU16, getU32, getU8 } from "./layout.ts";
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
  /** APP_* of the packet's flow as known after this packet (APP_UNKNOWN: not yet, or none). */
  app: number;
  /** Detection is over for the flow: `app` is final (also for packets without a flow). */
  appDecided: boolean;
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
  /** Ids of the flows of the tunnels it rode in, outermost first (empty: not in a tunnel). */
  tunnelParents: number[];
  /** abi.ENCAP_* of the tunnel it rode in directly (ENCAP_NONE when none). */
  encap: number;
  /** ICMP's "ports" as Zeek keys the flow (the initiator's message type, its counterpart type or
   * code: src/flows/icmp_ports.ts); null for other protocols. */
  icmpPorts: { src: number; dst: number } | null;
  /** Zeek's view of the connection, when the decoder's conn tracking is on. */
  conn: ZeekConn | null;
}

/** Zeek's view of a connection (wasm/src/conn.rs), orig/resp in Zeek's orientation. */
export interface ZeekConn {
  /** Zeek's originator is the flow's side B. */
  origIsB: boolean;
  /** abi.EP_* of each endpoint. */
  origState: number;
  respState: number;
  history: string;
  origPackets: number;
  respPackets: number;
  origIpBytes: number;
  respIpBytes: number;
  /** Payload bytes as Zeek counts them (TCP: from sequence numbers). */
  origBytes: number;
  respBytes: number;
  /** The flow's first packet, and the last that counts for Zeek's duration. */
  firstSec: number;
  firstNsec: number;
  lastSec: number;
  lastNsec: number;
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
  /** Each event's bytes, header included, before its own handler (a decoding worker hands them on). */
  raw?(type: number, u8: Uint8Array, start: number, end: number): void;
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
  const flags = getU32(dv, o, abi.PKT_FLAGS);
  const l3 = getU8(dv, o, abi.PKT_L3);
  const ip = l3 === abi.L3_IPV4 || l3 === abi.L3_IPV6;
  const ipVersion = l3 === abi.L3_IPV4 ? 4 : l3 === abi.L3_IPV6 ? 6 : 0;
  const ipProto = getU8(dv, o, abi.PKT_IP_PROTO);
  const hasL4 = (flags & abi.PF_L4) !== 0;
  const ports = (flags & abi.PF_PORTS) !== 0;
  const arp = l3 === abi.L3_ARP;
  const addr = (f: Field<"u8[16]">) =>
    ip ? formatAddress(ipVersion, u8, o + f.at) : arp ? formatAddress(4, u8, o + f.at) : "";
  const vlan: number[] = [];
  if (flags & abi.PF_VLAN_OUTER) vlan.push(getU16(dv, o, abi.PKT_VLAN_OUTER));
  if (flags & abi.PF_VLAN_INNER) vlan.push(getU16(dv, o, abi.PKT_VLAN_INNER));
  const isIcmp = hasL4 && (ipProto === 1 || ipProto === 58);
  const malformed = getU8(dv, o, abi.PKT_MALFORMED);
  const copied = getU16(dv, o, abi.PKT_PAYLOAD_COPIED);
  const mac = (flags & abi.PF_MAC) !== 0;
  return {
    frame: getF64(dv, o, abi.PKT_FRAME),
    iface: getU32(dv, o, abi.PKT_IFACE),
    linktype: getU16(dv, o, abi.PKT_LINKTYPE),
    tsSec: getF64(dv, o, abi.PKT_TS_SEC),
    tsNsec: getU32(dv, o, abi.PKT_TS_NSEC),
    caplen: getU32(dv, o, abi.PKT_CAPLEN),
    wirelen: getU32(dv, o, abi.PKT_WIRELEN),
    ipVersion,
    protocol: hasL4 ? ipProtocolName(ipProto) : L3_NAMES[l3] ?? "Unknown",
    ipProto,
    src: addr(abi.PKT_SRC),
    dst: addr(abi.PKT_DST),
    srcPort: ports ? getU16(dv, o, abi.PKT_SPORT) : null,
    dstPort: ports ? getU16(dv, o, abi.PKT_DPORT) : null,
    srcMac: mac ? formatMac(u8, o + abi.PKT_SRC_MAC.at) : null,
    dstMac: mac ? formatMac(u8, o + abi.PKT_DST_MAC.at) : null,
    ethertype: getU16(dv, o, abi.PKT_ETHERTYPE),
    vlan,
    ttl: getU8(dv, o, abi.PKT_TTL),
    ipLength: getU32(dv, o, abi.PKT_IP_LEN),
    tcpFlags: getU16(dv, o, abi.PKT_TCP_FLAGS),
    tcpSeq: getU32(dv, o, abi.PKT_TCP_SEQ),
    tcpAck: getU32(dv, o, abi.PKT_TCP_ACK),
    tcpWindow: getU16(dv, o, abi.PKT_TCP_WINDOW),
    icmpType: isIcmp ? getU8(dv, o, abi.PKT_ICMP_TYPE) : null,
    icmpCode: isIcmp ? getU8(dv, o, abi.PKT_ICMP_CODE) : null,
    flowId: getF64(dv, o, abi.PKT_FLOW_ID),
    app: getU8(dv, o, abi.PKT_APP),
    appDecided: getU8(dv, o, abi.PKT_APP_DECIDED) === 1,
    fromResponder: (flags & abi.PF_FROM_RESPONDER) !== 0,
    fragment: (flags & abi.PF_FRAGMENT) !== 0,
    truncated: (flags & abi.PF_TRUNCATED) !== 0,
    loopback: (flags & abi.PF_LOOPBACK) !== 0,
    malformed: malformed ? MALFORMED_REASONS[malformed]?.[0] ?? `code_${malformed}` : null,
    payloadLength: getU32(dv, o, abi.PKT_PAYLOAD_LEN),
    payload: u8.slice(o + abi.PKT_PAYLOAD.at, o + abi.PKT_PAYLOAD.at + copied),
  };
}

const isIcmp = (ipProto: number) => ipProto === 1 || ipProto === 58;

export function parseFlow(u8: Uint8Array, dv: DataView, o: number): FlowRecord {
  const ipVersion = getU8(dv, o, abi.FL_IPVER) === abi.L3_IPV6 ? 6 : 4;
  const ipProto = getU8(dv, o, abi.FL_PROTO);
  const icmp = isIcmp(ipProto);
  const portA = getU16(dv, o, abi.FL_PORT_A), portB = getU16(dv, o, abi.FL_PORT_B);
  return {
    id: getF64(dv, o, abi.FL_ID),
    seq: getU16(dv, o, abi.FL_RECORD_SEQ),
    ipVersion,
    ipProto,
    protocol: ipProtocolName(ipProto),
    src: formatAddress(ipVersion, u8, o + abi.FL_ADDR_A.at),
    srcPort: icmp ? 0 : portA,
    dst: formatAddress(ipVersion, u8, o + abi.FL_ADDR_B.at),
    dstPort: icmp ? 0 : portB,
    vlan: getU16(dv, o, abi.FL_VLAN),
    iface: getU32(dv, o, abi.FL_IFACE),
    firstSec: getF64(dv, o, abi.FL_FIRST_SEC),
    firstNsec: getU32(dv, o, abi.FL_FIRST_NSEC),
    lastSec: getF64(dv, o, abi.FL_LAST_SEC),
    lastNsec: getU32(dv, o, abi.FL_LAST_NSEC),
    packetsAtoB: getF64(dv, o, abi.FL_PKTS_A),
    bytesAtoB: getF64(dv, o, abi.FL_BYTES_A),
    packetsBtoA: getF64(dv, o, abi.FL_PKTS_B),
    bytesBtoA: getF64(dv, o, abi.FL_BYTES_B),
    tcpFlagsA: getU16(dv, o, abi.FL_FLAGS_A),
    tcpFlagsB: getU16(dv, o, abi.FL_FLAGS_B),
    tcpState: TCP_STATE_NAMES[getU8(dv, o, abi.FL_TCP_STATE)] ?? "",
    endReason: END_REASON_NAMES[getU8(dv, o, abi.FL_END)] ?? "",
    fragments: getU32(dv, o, abi.FL_FRAGMENTS),
    servicePort: getU16(dv, o, abi.FL_SERVICE_PORT),
    app: getU8(dv, o, abi.FL_APP),
    tunnelParents: TUNNEL_PARENT_FIELDS.slice(0, getU8(dv, o, abi.FL_PARENT_COUNT)).map((f) =>
      getF64(dv, o, f)
    ),
    encap: getU8(dv, o, abi.FL_ENCAP),
    icmpPorts: icmp ? { src: portA, dst: portB } : null,
    conn: getU8(dv, o, abi.FL_CONN) & abi.CONN_TRACKED ? parseConn(u8, dv, o) : null,
  };
}

const ascii = new TextDecoder("latin1");

function parseConn(u8: Uint8Array, dv: DataView, o: number): ZeekConn {
  const history = o + abi.FL_HISTORY.at;
  return {
    origIsB: (getU8(dv, o, abi.FL_CONN) & abi.CONN_ORIG_IS_B) !== 0,
    origState: getU8(dv, o, abi.FL_ORIG_STATE),
    respState: getU8(dv, o, abi.FL_RESP_STATE),
    history: ascii.decode(u8.subarray(history, history + getU8(dv, o, abi.FL_HISTORY_LEN))),
    origPackets: getF64(dv, o, abi.FL_ORIG_PKTS),
    respPackets: getF64(dv, o, abi.FL_RESP_PKTS),
    origIpBytes: getF64(dv, o, abi.FL_ORIG_IPBYTES),
    respIpBytes: getF64(dv, o, abi.FL_RESP_IPBYTES),
    origBytes: getF64(dv, o, abi.FL_ORIG_SIZE),
    respBytes: getF64(dv, o, abi.FL_RESP_SIZE),
    firstSec: getF64(dv, o, abi.FL_CONN_T0_SEC),
    firstNsec: getU32(dv, o, abi.FL_CONN_T0_NSEC),
    lastSec: getF64(dv, o, abi.FL_CONN_T1_SEC),
    lastNsec: getU32(dv, o, abi.FL_CONN_T1_NSEC),
  };
}

const TUNNEL_PARENT_FIELDS = [abi.FL_PARENT_0, abi.FL_PARENT_1, abi.FL_PARENT_2, abi.FL_PARENT_3];

export function parseTop(u8: Uint8Array, dv: DataView, o: number): TopEntry {
  const table = getU8(dv, o, abi.TOP_TABLE);
  const ipVersion = getU8(dv, o, abi.TOP_IPVER) === abi.L3_IPV6 ? 6 : 4;
  const services = table === abi.TOP_SERVICES;
  return {
    table,
    ipVersion,
    ipProto: getU8(dv, o, abi.TOP_PROTO),
    port: getU8(dv, o, abi.TOP_HAS_PORT) ? getU16(dv, o, abi.TOP_PORT) : null,
    app: getU8(dv, o, abi.TOP_APP),
    a: services ? "" : formatAddress(ipVersion, u8, o + abi.TOP_ADDR_A.at),
    b: table === abi.TOP_PAIRS ? formatAddress(ipVersion, u8, o + abi.TOP_ADDR_B.at) : "",
    packetsA: getF64(dv, o, abi.TOP_PKTS_A),
    bytesA: getF64(dv, o, abi.TOP_BYTES_A),
    packetsB: getF64(dv, o, abi.TOP_PKTS_B),
    bytesB: getF64(dv, o, abi.TOP_BYTES_B),
    flows: getF64(dv, o, abi.TOP_FLOWS),
    firstSec: getF64(dv, o, abi.TOP_FIRST_SEC),
    firstNsec: getU32(dv, o, abi.TOP_FIRST_NSEC),
    lastSec: getF64(dv, o, abi.TOP_LAST_SEC),
    lastNsec: getU32(dv, o, abi.TOP_LAST_NSEC),
  };
}

export function parseInterface(u8: Uint8Array, dv: DataView, o: number): InterfaceRecord {
  const nameLen = getU32(dv, o, abi.IF_NAME_LEN);
  return {
    id: getU32(dv, o, abi.IF_ID),
    linktype: getU32(dv, o, abi.IF_LINKTYPE),
    snaplen: getU32(dv, o, abi.IF_SNAPLEN),
    tsUnitsLog10: getU32(dv, o, abi.IF_TS_UNITS),
    name: text.decode(u8.subarray(o + abi.IF_NAME.at, o + abi.IF_NAME.at + nameLen)),
    format: getU32(dv, o, abi.IF_FORMAT) === abi.IF_FORMAT_PCAPNG ? "pcapng" : "pcap",
  };
}

export function parseName(u8: Uint8Array, dv: DataView, o: number): NameRecord {
  const ipVersion = getU8(dv, o, abi.NM_IPVER) === abi.L3_IPV6 ? 6 : 4;
  const len = getU16(dv, o, abi.NM_NAME_LEN);
  return {
    address: formatAddress(ipVersion, u8, o + abi.NM_ADDR.at),
    name: text.decode(u8.subarray(o + abi.NM_NAME.at, o + abi.NM_NAME.at + len)),
  };
}

export function parseComment(u8: Uint8Array, dv: DataView, o: number): CommentRecord {
  const len = getU16(dv, o, abi.CM_TEXT_LEN);
  return {
    frame: getF64(dv, o, abi.CM_FRAME),
    flowId: getF64(dv, o, abi.CM_FLOW_ID),
    wirelen: getU32(dv, o, abi.CM_WIRELEN),
    fromResponder: getU8(dv, o, abi.CM_FROM_RESPONDER) === 1,
    text: text.decode(u8.subarray(o + abi.CM_TEXT.at, o + abi.CM_TEXT.at + len)),
  };
}

export function parseInterfaceStats(_u8: Uint8Array, dv: DataView, o: number): InterfaceStatsRecord {
  const has = getU32(dv, o, abi.IS_HAS);
  const counter = (bit: number, f: Field<"f64">) => has & bit ? getF64(dv, o, f) : null;
  return {
    iface: getU32(dv, o, abi.IS_IFACE),
    received: counter(abi.IS_HAS_RECV, abi.IS_RECV),
    dropped: counter(abi.IS_HAS_DROP, abi.IS_DROP),
    osDropped: counter(abi.IS_HAS_OSDROP, abi.IS_OSDROP),
  };
}

export function parseFlowStart(u8: Uint8Array, dv: DataView, o: number): FlowStartRecord {
  const ipVersion = getU8(dv, o, abi.FS_IPVER) === abi.L3_IPV6 ? 6 : 4;
  return {
    id: getF64(dv, o, abi.FS_ID),
    tsSec: getF64(dv, o, abi.FS_TS_SEC),
    tsNsec: getU32(dv, o, abi.FS_TS_NSEC),
    ipVersion,
    ipProto: getU8(dv, o, abi.FS_PROTO),
    src: formatAddress(ipVersion, u8, o + abi.FS_ADDR_A.at),
    // ICMP flows are keyed by message types (FlowRecord.icmpPorts): no ports here.
    srcPort: isIcmp(getU8(dv, o, abi.FS_PROTO)) ? 0 : getU16(dv, o, abi.FS_PORT_A),
    dst: formatAddress(ipVersion, u8, o + abi.FS_ADDR_B.at),
    dstPort: isIcmp(getU8(dv, o, abi.FS_PROTO)) ? 0 : getU16(dv, o, abi.FS_PORT_B),
    tcpFlags: getU16(dv, o, abi.FS_TCP_FLAGS),
    wirelen: getU32(dv, o, abi.FS_WIRELEN),
  };
}

export function parseHostRate(u8: Uint8Array, dv: DataView, o: number): HostRateRecord {
  const ipVersion = getU8(dv, o, abi.HR_IPVER) === abi.L3_IPV6 ? 6 : 4;
  return {
    tsSec: getF64(dv, o, abi.HR_TS_SEC),
    tsNsec: getU32(dv, o, abi.HR_TS_NSEC),
    windowMs: getU32(dv, o, abi.HR_WINDOW_MS),
    address: formatAddress(ipVersion, u8, o + abi.HR_ADDR.at),
    packets: getF64(dv, o, abi.HR_PACKETS),
    bytes: getF64(dv, o, abi.HR_BYTES),
    syns: getF64(dv, o, abi.HR_SYNS),
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
    const type = getU16(dv, o, abi.EVENT_TYPE);
    const len = getU32(dv, o, abi.EVENT_LEN);
    if (len < abi.EVENT_HEADER) throw new Error(`decoder event of length ${len} at ${o - start}`);
    h.raw?.(type, u8, o, o + len);
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
