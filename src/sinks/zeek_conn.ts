// conn.log as Zeek's base/protocols/conn writes it, from flow records with the decoder's conn
// tracking (wasm/src/conn.rs: orientation, endpoint states, history, sizes). Zeek's columns first,
// then the Community ID (as Zeek's community-id package adds it), then the processes of the local
// ends that wiresight knows (extra columns, so Zeek readers still parse the file).
import * as abi from "../decoder/abi.ts";
import { appName } from "../app/names.ts";
import type { FlowRecord, ZeekConn } from "../decoder/records.ts";
import type { ProcessNote } from "../proc/process.ts";
import type { FlowView } from "./rows.ts";
import type { SessionSink } from "./sink.ts";
import { type ZeekField, ZeekLog } from "./zeek_log.ts";

/** Where Zeek's analyzer names differ from ours (app/names.ts); ftp-data is Zeek's name too. */
const ZEEK_RENAMES: Record<string, string> = { mdns: "dns", llmnr: "dns", tls: "ssl" };

function zeekService(app: number): string | null {
  const name = appName(app);
  return name === null ? null : ZEEK_RENAMES[name] ?? name;
}

/** Zeek's conn_state from its endpoint states (base/protocols/conn's conn_state function). */
export function connState(ipProto: number, c: ZeekConn): string {
  const os = c.origState, rs = c.respState;
  if (ipProto === 6) {
    const oInactive = os === abi.EP_INACTIVE || os === abi.EP_PARTIAL;
    const rInactive = rs === abi.EP_INACTIVE || rs === abi.EP_PARTIAL;
    if (rs === abi.EP_RESET) {
      const rejected = os === abi.EP_SYN_SENT || os === abi.EP_SYN_ACK_SENT ||
        (os === abi.EP_RESET && c.origBytes === 0 && c.respBytes === 0);
      return rejected ? "REJ" : oInactive ? "RSTRH" : "RSTR";
    }
    if (os === abi.EP_RESET) {
      if (!rInactive) return "RSTO";
      return /^\^?S[^HAFGIQ]*R/.test(c.history) ? "RSTOS0" : "OTH";
    }
    if (rs === abi.EP_CLOSED && os === abi.EP_CLOSED) return "SF";
    if (os === abi.EP_CLOSED) return rInactive ? "SH" : "S2";
    if (rs === abi.EP_CLOSED) return oInactive ? "SHR" : "S3";
    if (os === abi.EP_SYN_SENT && rs === abi.EP_INACTIVE) return "S0";
    if (os === abi.EP_ESTABLISHED && rs === abi.EP_ESTABLISHED) return "S1";
    return "OTH";
  }
  if (ipProto === 17) {
    const o = os === abi.EP_ACTIVE, r = rs === abi.EP_ACTIVE;
    return o ? (r ? "SF" : "S0") : r ? "SHR" : "OTH";
  }
  return "OTH";
}

/** A flow record as Zeek's originator and responder see it. */
interface ConnRow {
  view: FlowView;
  conn: ZeekConn;
  uid: string;
  parents: string[] | null;
}

const seconds = (sec: number, nsec: number) => sec + nsec / 1e9;
const transport = (p: number) => p === 6 ? "tcp" : p === 17 ? "udp" : p === 1 || p === 58 ? "icmp" : null;

function ends(f: FlowRecord, c: ZeekConn) {
  const ports = f.icmpPorts ?? { src: f.srcPort, dst: f.dstPort };
  // Zeek keys other protocols (SCTP among them) by addresses alone: ports 0.
  const known = transport(f.ipProto) !== null;
  const a = { h: f.src, p: known ? ports.src : 0 }, b = { h: f.dst, p: known ? ports.dst : 0 };
  return c.origIsB ? { orig: b, resp: a } : { orig: a, resp: b };
}

/** The process columns of one end: the owner when it is the initiator (side A), else the responder. */
function processOf(r: ConnRow, orig: boolean): ProcessNote | null {
  const sideA = orig !== r.conn.origIsB;
  return sideA ? r.view.owner : r.view.responder;
}

const processColumns = (prefix: "orig" | "resp"): ZeekField<ConnRow>[] => {
  const p = (r: ConnRow) => processOf(r, prefix === "orig");
  return [
    { name: `${prefix}_pid`, type: "count", get: (r) => p(r)?.pid ?? null },
    { name: `${prefix}_process`, type: "string", get: (r) => p(r)?.name ?? null },
    { name: `${prefix}_exe`, type: "string", get: (r) => p(r)?.exe ?? null },
    { name: `${prefix}_user`, type: "string", get: (r) => p(r)?.user ?? null },
  ];
};

/** Zeek sets duration and payload sizes only for a connection that lasted. */
const duration = (c: ZeekConn) => seconds(c.lastSec, c.lastNsec) - seconds(c.firstSec, c.firstNsec);
const lasted = (c: ZeekConn) => duration(c) > 0;

export const CONN_FIELDS: ZeekField<ConnRow>[] = [
  { name: "ts", type: "time", get: (r) => seconds(r.conn.firstSec, r.conn.firstNsec) },
  { name: "uid", type: "string", get: (r) => r.uid },
  { name: "id.orig_h", type: "addr", get: (r) => ends(r.view.record, r.conn).orig.h },
  { name: "id.orig_p", type: "port", get: (r) => ends(r.view.record, r.conn).orig.p },
  { name: "id.resp_h", type: "addr", get: (r) => ends(r.view.record, r.conn).resp.h },
  { name: "id.resp_p", type: "port", get: (r) => ends(r.view.record, r.conn).resp.p },
  { name: "proto", type: "enum", get: (r) => transport(r.view.record.ipProto) ?? "unknown_transport" },
  { name: "service", type: "string", get: (r) => zeekService(r.view.record.app) },
  { name: "duration", type: "interval", get: (r) => lasted(r.conn) ? duration(r.conn) : null },
  { name: "orig_bytes", type: "count", get: (r) => lasted(r.conn) ? r.conn.origBytes : null },
  { name: "resp_bytes", type: "count", get: (r) => lasted(r.conn) ? r.conn.respBytes : null },
  { name: "conn_state", type: "string", get: (r) => connState(r.view.record.ipProto, r.conn) },
  // Zeek leaves these unset without Site::local_nets; wiresight has no notion of local nets.
  { name: "local_orig", type: "bool", get: () => null },
  { name: "local_resp", type: "bool", get: () => null },
  // Content gaps need reassembly, which wiresight does not do.
  { name: "missed_bytes", type: "count", get: () => 0 },
  { name: "history", type: "string", get: (r) => r.conn.history || null },
  { name: "orig_pkts", type: "count", get: (r) => r.conn.origPackets },
  { name: "orig_ip_bytes", type: "count", get: (r) => r.conn.origIpBytes },
  { name: "resp_pkts", type: "count", get: (r) => r.conn.respPackets },
  { name: "resp_ip_bytes", type: "count", get: (r) => r.conn.respIpBytes },
  { name: "tunnel_parents", type: "set[string]", get: (r) => r.parents },
  { name: "ip_proto", type: "count", get: (r) => r.view.record.ipProto },
  { name: "community_id", type: "string", get: (r) => r.view.communityId },
  ...processColumns("orig"),
  ...processColumns("resp"),
];

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Zeek-style connection uids ("C" and base62): a run's random key mixed with the flow id, so a
 * flow's uid is known wherever its id is (tunnel_parents names parents by their flow ids). */
export class UidMaker {
  readonly #key = crypto.getRandomValues(new Uint32Array(4));

  of(flowId: number): string {
    let s = "C";
    const lo = flowId >>> 0, hi = Math.floor(flowId / 2 ** 32) >>> 0;
    for (let i = 0; i < 4; i++) {
      let h = Math.imul(lo ^ this.#key[i], 0x9e3779b1) ^ Math.imul(hi + i, 0x85ebca77);
      h = Math.imul(h ^ (h >>> 15), 0xc2b2ae3d);
      h ^= h >>> 13;
      for (let j = 0; j < 4; j++) {
        s += BASE62[(h >>> 0) % 62];
        h = Math.floor((h >>> 0) / 62);
      }
    }
    return s;
  }
}

/** `--zeek-logs DIR`: conn.log rows from the session's flow records. */
export class ZeekConnLog {
  readonly log: ZeekLog<ConnRow>;
  readonly #uids: UidMaker;

  /** `uids` is shared with the other logs, so their rows name the flow's conn.log uid. */
  constructor(dir: string, json: boolean, uids = new UidMaker()) {
    this.log = new ZeekLog(dir, "conn", CONN_FIELDS, json);
    this.#uids = uids;
  }

  flow(view: FlowView): void {
    const f = view.record;
    // A flow cut by the active timeout goes on: Zeek logs a connection once, at its end.
    if (!f.conn || f.endReason === "active_timeout") return;
    // Only fragments of datagrams never completed: Zeek never saw a packet of this connection
    // (one whose packets all had wrong checksums is logged, with its history C).
    if (f.conn.origPackets + f.conn.respPackets === 0 && !f.conn.history) return;
    const parents = f.tunnelParents.map((id) => this.#uids.of(id));
    this.log.write({
      view,
      conn: f.conn,
      uid: this.#uids.of(f.id),
      parents: parents.length ? parents : null,
    });
  }

  sink(): SessionSink {
    return { flow: (v) => this.flow(v), close: () => this.log.close() };
  }
}
