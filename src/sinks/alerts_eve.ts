// A Suricata-EVE-like NDJSON stream for SIEMs: alert events as they are raised, and the flow,
// dns, http and tls events of the traffic, with Suricata 7's field names and shapes (common
// fields timestamp, flow_id, event_type, src_ip, src_port, dest_ip, dest_port, proto, app_proto).
// HTTP is logged per transaction (request with its response), TLS once per session, as Suricata
// does. Pending requests and sessions are bounded.
import { X509Certificate } from "node:crypto";
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import type { FlowRecord } from "../decoder/records.ts";
import { dnsMessage } from "../app/dns.ts";
import { contentLength, hostName, type HttpMessage, httpMessage } from "../app/http.ts";
import { tlsRecord } from "../app/tls.ts";
import { appName } from "../app/names.ts";
import { ipProtocolName } from "../decoder/names.ts";
import type { Alert, Severity } from "../detect/alert.ts";
import { BoundedTable } from "../detect/table.ts";
import { BufferedWriter, type Sink } from "./export.ts";

type Json = Record<string, unknown>;

/** Suricata's timestamp: microseconds and a numeric zone ("2015-03-06T19:12:22.423355+0000"). */
export function eveTime(sec: number, nsec = 0): string {
  const d = new Date(sec * 1000);
  if (Number.isNaN(d.getTime())) return "";
  return d.toISOString().replace(/\.\d{3}Z$/, `.${String(Math.floor(nsec / 1000)).padStart(6, "0")}+0000`);
}

export function eveProto(proto: number): string {
  return proto === 58 ? "IPv6-ICMP" : ipProtocolName(proto);
}

/** EVE's alert.severity: 1 is the most severe. */
const EVE_SEVERITY: Record<Severity, number> = { critical: 1, high: 1, medium: 2, low: 3 };

/** A stable signature id per alert type, in a range Suricata rules do not use. */
function signatureId(type: string): number {
  let h = 0;
  for (const c of type) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
  return 9_000_000 + (h % 1_000_000);
}

/** "AB:CD" style hex of DER bytes' digest or of a serial. */
const colonHex = (hex: string) => hex.toLowerCase().match(/../g)?.join(":") ?? "";

/** Suricata writes certificate times without zone or fraction. */
const certTime = (iso: string | null) => iso?.replace(/\.\d+Z$|Z$/, "") ?? null;

interface TlsSession {
  ts: [number, number];
  tuple: Json;
  tls: Json;
}

const PENDING = 4096;

export class EveWriter {
  readonly #out: BufferedWriter;
  readonly #close: () => void;
  readonly #requests = new BoundedTable<{ ts: [number, number]; tuple: Json; m: HttpMessage }[]>(
    "eve_http_pending",
    PENDING,
  );
  readonly #sessions = new BoundedTable<TlsSession>("eve_tls_pending", PENDING);
  events = 0;

  private constructor(sink: Sink & { close?(): void }) {
    this.#out = new BufferedWriter(sink);
    this.#close = () => sink.close?.();
  }

  static async open(path: string): Promise<EveWriter> {
    if (path === "-") return new EveWriter({ writeSync: (p) => Deno.stdout.writeSync(p) });
    return new EveWriter(await Deno.open(path, { write: true, create: true, truncate: true }));
  }

  #write(event: Json): void {
    this.#out.write(JSON.stringify(event) + "\n");
    this.events++;
  }

  /** A new alert: written at once (and everything before it), so a SIEM tailing the file sees it now. */
  alert(a: Alert): void {
    const tuple: Json = { src_ip: a.src ?? undefined, dest_ip: a.dst ?? undefined };
    if (a.srcPort !== null) tuple.src_port = a.srcPort;
    if (a.dstPort !== null) tuple.dest_port = a.dstPort;
    const sec = Math.floor(a.firstSeen);
    this.#write({
      timestamp: eveTime(sec, Math.round((a.firstSeen - sec) * 1e9)),
      flow_id: a.flowId ?? undefined,
      event_type: "alert",
      ...tuple,
      proto: a.proto !== null ? eveProto(a.proto) : undefined,
      alert: {
        action: "allowed",
        gid: 1,
        signature_id: signatureId(a.type),
        rev: 1,
        signature: `WIRESIGHT ${a.type}: ${a.message}`,
        category: a.type.split(".")[0],
        severity: EVE_SEVERITY[a.severity],
        metadata: { wiresight_id: [a.id], wiresight_severity: [a.severity], hosts: a.hosts },
      },
      wiresight: { id: a.id, type: a.type, severity: a.severity, evidence: a.evidence },
    });
    this.#out.flush();
  }

  flow(f: FlowRecord): void {
    this.#flushHttp(f.id);
    const s = this.#sessions.get(String(f.id));
    if (s) this.#writeTls(f.id, s);
    const tcp = f.ipProto === 6;
    const flags = f.tcpFlagsA | f.tcpFlagsB;
    const closed = f.tcpState === "closed" || f.tcpState === "reset";
    const state = tcp
      ? closed
        ? "closed"
        : f.tcpState === "established" || f.tcpState === "half_closed"
        ? "established"
        : "new"
      : f.packetsBtoA > 0
      ? "established"
      : "new";
    const reason = f.endReason === "end_of_capture"
      ? "shutdown"
      : f.endReason === "evicted"
      ? "forced"
      : "timeout";
    const hex = (n: number) => (n & 0xff).toString(16).padStart(2, "0");
    this.#write({
      timestamp: eveTime(f.lastSec, f.lastNsec),
      flow_id: f.id,
      event_type: "flow",
      ...flowTuple(f),
      app_proto: appName(f.app) ?? undefined,
      flow: {
        pkts_toserver: f.packetsAtoB,
        pkts_toclient: f.packetsBtoA,
        bytes_toserver: f.bytesAtoB,
        bytes_toclient: f.bytesBtoA,
        start: eveTime(f.firstSec, f.firstNsec),
        end: eveTime(f.lastSec, f.lastNsec),
        age: Math.round(f.lastSec - f.firstSec),
        state,
        reason,
        alerted: false,
      },
      tcp: tcp
        ? {
          tcp_flags: hex(flags),
          tcp_flags_ts: hex(f.tcpFlagsA),
          tcp_flags_tc: hex(f.tcpFlagsB),
          syn: (flags & 0x02) !== 0 || undefined,
          fin: (flags & 0x01) !== 0 || undefined,
          rst: (flags & 0x04) !== 0 || undefined,
          psh: (flags & 0x08) !== 0 || undefined,
          ack: (flags & 0x10) !== 0 || undefined,
          state: f.tcpState || undefined,
        }
        : undefined,
    });
  }

  app(e: AppEvent): void {
    if (e.kind === abi.AK_DNS) this.#dns(e);
    else if (e.kind === abi.AK_HTTP_REQUEST || e.kind === abi.AK_HTTP_RESPONSE) this.#http(e);
    else if (
      e.kind === abi.AK_TLS_CLIENT_HELLO || e.kind === abi.AK_TLS_SERVER_HELLO ||
      e.kind === abi.AK_TLS_CERTIFICATE
    ) this.#tls(e);
  }

  #dns(e: AppEvent): void {
    const m = dnsMessage(e);
    const base = {
      timestamp: eveTime(e.tsSec, e.tsNsec),
      flow_id: e.flowId,
      pcap_cnt: e.frame,
      event_type: "dns",
      // Suricata's tuple is the client's, for answers too.
      ...(e.dir === 1
        ? reversedTuple(e, m.transport === "tcp" ? 6 : 17)
        : eventTuple(e, m.transport === "tcp" ? 6 : 17)),
    };
    if (!m.response) {
      for (const q of m.questions) {
        this.#write({
          ...base,
          dns: {
            version: 2,
            type: "query",
            id: m.id,
            rrname: q.name,
            rrtype: q.type,
            tx_id: 0,
            opcode: m.opcode,
          },
        });
      }
      return;
    }
    const q = m.questions[0];
    const answers = m.records.filter((r) => r.section === "answer").map((r) => ({
      rrname: r.name,
      rrtype: r.type,
      ttl: r.ttl,
      rdata: r.data.join(" "),
    }));
    const flags = e.num(abi.F_DNS_FLAGS) ?? 0;
    this.#write({
      ...base,
      dns: {
        version: 2,
        type: "answer",
        id: m.id,
        flags: flags.toString(16).padStart(4, "0"),
        qr: true,
        aa: m.flags.aa || undefined,
        tc: m.flags.tc || undefined,
        rd: m.flags.rd || undefined,
        ra: m.flags.ra || undefined,
        opcode: m.opcode,
        rrname: q?.name,
        rrtype: q?.type,
        rcode: m.rcode,
        answers: answers.length ? answers : undefined,
      },
    });
  }

  #http(e: AppEvent): void {
    const key = String(e.flowId);
    const m = httpMessage(e);
    if (m.kind === "request") {
      const queue = this.#requests.upsert(key, () => []);
      // Pipelined requests wait for their responses in order; a flow holds a few at most.
      if (queue.length < 8) queue.push({ ts: [e.tsSec, e.tsNsec], tuple: eventTuple(e, 6), m });
      return;
    }
    const req = this.#requests.get(key)?.shift();
    if (req) this.#writeHttp(e.flowId, [e.tsSec, e.tsNsec], req.tuple, req.m, m);
  }

  #writeHttp(
    flowId: number,
    ts: [number, number],
    tuple: Json,
    req: HttpMessage,
    res: HttpMessage | null,
  ): void {
    const port = req.host?.match(/:(\d+)$/)?.[1];
    // Suricata counts the body bytes it saw; the decoder reads headers only, so this is the
    // response's Content-Length, and absent without one.
    const length = contentLength(res?.contentLength ?? null) ?? undefined;
    this.#write({
      timestamp: eveTime(...ts),
      flow_id: flowId,
      event_type: "http",
      ...tuple,
      tx_id: 0,
      http: {
        hostname: req.host ? hostName(req.host) : undefined,
        http_port: port ? Number(port) : undefined,
        url: req.uri ?? undefined,
        http_user_agent: req.userAgent ?? undefined,
        // Without parameters, as Suricata writes it ("text/html", not "text/html; charset=...").
        http_content_type: res?.contentType?.split(";")[0].trim() || undefined,
        http_refer: req.referer ?? undefined,
        http_method: req.method ?? undefined,
        protocol: req.version ?? undefined,
        status: res?.status ?? undefined,
        length,
      },
    });
  }

  /** Requests of a flow that ended without their responses. */
  #flushHttp(flowId: number): void {
    const queue = this.#requests.get(String(flowId));
    if (!queue) return;
    for (const r of queue) this.#writeHttp(flowId, r.ts, r.tuple, r.m, null);
    this.#requests.delete(String(flowId));
  }

  #tls(e: AppEvent): void {
    const key = String(e.flowId);
    const r = tlsRecord(e);
    // Suricata logs QUIC handshakes as quic events, not tls.
    if (r.transport === "quic") return;
    const client = r.kind === "client_hello";
    const s = this.#sessions.upsert(key, () => ({
      ts: [e.tsSec, e.tsNsec],
      // Suricata's tuple is the client's: a server message has it reversed.
      tuple: client ? eventTuple(e, 6) : reversedTuple(e, 6),
      tls: {},
    }));
    if (client) {
      s.tls.sni = r.sni ?? undefined;
      s.tls.ja3 = { hash: r.ja3, string: r.ja3_string };
      s.tls.ja4 = r.ja4 ?? undefined;
      if (!s.tls.version) s.tls.version = r.version;
    } else if (r.kind === "server_hello") {
      s.tls.version = r.version;
      s.tls.ja3s = { hash: r.ja3s, string: r.ja3s_string };
    } else if (r.cert) {
      const der = e.bytes(abi.F_TLS_CERT);
      let serial: string | undefined, sha1: string | undefined;
      try {
        const x = new X509Certificate(der!);
        // As DER writes it: a leading zero byte keeps a serial with its high bit set positive.
        const hex = x.serialNumber.length % 2 ? `0${x.serialNumber}` : x.serialNumber;
        serial = colonHex(/^[89a-f]/i.test(hex) ? `00${hex}` : hex).toUpperCase();
        sha1 = x.fingerprint.toLowerCase();
      } catch { /* not parsable: subject and issuer are null too */ }
      Object.assign(s.tls, {
        subject: r.cert.subject ?? undefined,
        issuerdn: r.cert.issuer ?? undefined,
        serial,
        fingerprint: sha1,
        notbefore: certTime(r.cert.not_before) ?? undefined,
        notafter: certTime(r.cert.not_after) ?? undefined,
      });
      this.#writeTls(e.flowId, s);
    }
  }

  #writeTls(flowId: number, s: TlsSession): void {
    this.#sessions.delete(String(flowId));
    this.#write({ timestamp: eveTime(...s.ts), flow_id: flowId, event_type: "tls", ...s.tuple, tls: s.tls });
  }

  close(): void {
    for (const [id] of [...this.#requests.entries()]) this.#flushHttp(Number(id));
    for (const [id, s] of [...this.#sessions.entries()]) this.#writeTls(Number(id), s);
    this.#out.flush();
    this.#close();
  }
}

function flowTuple(f: FlowRecord): Json {
  // Suricata gives ports only to protocols that have them (not ICMP).
  const ports = f.ipProto === 6 || f.ipProto === 17 || f.ipProto === 132;
  return {
    src_ip: f.src,
    src_port: ports ? f.srcPort : undefined,
    dest_ip: f.dst,
    dest_port: ports ? f.dstPort : undefined,
    proto: eveProto(f.ipProto),
  };
}

function eventTuple(e: AppEvent, proto: number): Json {
  return { src_ip: e.src, src_port: e.srcPort, dest_ip: e.dst, dest_port: e.dstPort, proto: eveProto(proto) };
}

function reversedTuple(e: AppEvent, proto: number): Json {
  return { src_ip: e.dst, src_port: e.dstPort, dest_ip: e.src, dest_port: e.srcPort, proto: eveProto(proto) };
}
