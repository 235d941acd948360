// What every detector looks like to the engine: optional hooks for each kind of input (flow
// starts and host rates for live scans and floods, flow records, parsed application messages),
// the bounded tables it keeps (for the report's eviction counts), and a final pass.
import type { FlowRecord, FlowStartRecord, HostRateRecord } from "../decoder/records.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import type { DnsMessage } from "../app/dns/message.ts";
import type { HttpMessage } from "../app/http/message.ts";
import type { TlsRecord } from "../app/tls/message.ts";
import type { AlertInput, AlertSubject } from "./alert.ts";
import type { BoundedTable } from "../base/bounded_table.ts";

export const TCP = 6;
export const UDP = 17;
export const TCP_SYN = 0x02;
export const TCP_ACK = 0x10;
export const TCP_PSH = 0x08;

/** Where an application message was seen: its packet's addresses (src sent it) and time. */
export interface AppContext {
  flowId: number;
  /** Epoch seconds. */
  ts: number;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  proto: number;
}

export type Raise = (alert: AlertInput) => void;

export interface Detector {
  readonly tables?: BoundedTable<unknown>[];
  flowStart?(f: FlowStartRecord): void;
  hostRate?(r: HostRateRecord): void;
  flow?(f: FlowRecord): void;
  dns?(m: DnsMessage, c: AppContext): void;
  http?(m: HttpMessage, c: AppContext): void;
  tls?(r: TlsRecord, c: AppContext, e: AppEvent): void;
  /** A server's greeting line (FTP, POP3, IMAP, SMTP ...); `app` is abi.APP_*. */
  banner?(app: number, text: string, c: AppContext): void;
  /** End of input (or of the capture). */
  finish?(): void;
}

export function seconds(sec: number, nsec: number): number {
  return sec + nsec / 1e9;
}

/** "6/443" style label of a port (for evidence). */
export function protoName(proto: number): string {
  return proto === TCP ? "tcp" : proto === UDP ? "udp" : String(proto);
}

/** An alert about the one flow an application message travelled on, at its time. */
export function appSubject(c: AppContext): AlertSubject & { ts: number } {
  return {
    ts: c.ts,
    flowId: c.flowId,
    src: c.src,
    srcPort: c.srcPort,
    dst: c.dst,
    dstPort: c.dstPort,
    proto: c.proto,
  };
}

/** An alert about one flow (initiator as source), at time `ts`. */
export function flowSubject(
  f: { id: number; src: string; srcPort: number; dst: string; dstPort: number; ipProto: number },
  ts: number,
): AlertSubject & { ts: number } {
  return {
    ts,
    flowId: f.id,
    src: f.src,
    srcPort: f.srcPort,
    dst: f.dst,
    dstPort: f.dstPort,
    proto: f.ipProto,
  };
}
