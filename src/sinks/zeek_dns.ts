// dns.log as Zeek's base/protocols/dns writes it: one row per query paired with its reply by
// transaction id (first unpaired first), written when both are seen, or when the flow ends with
// only one of them. Messages to a multicast group (mDNS, LLMNR) are rows of their own.
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import { type DnsMessage, dnsMessage, type DnsRecord } from "../app/dns/message.ts";
import { DNS_RCODES, DNS_TYPES } from "../app/names.ts";
import type { FlowView } from "./rows.ts";
import type { SessionSink } from "./sink.ts";
import type { UidMaker } from "./zeek_conn.ts";
import {
  eventIds,
  eventSeconds as seconds,
  idFields,
  type ZeekField,
  type ZeekIds,
  ZeekLog,
} from "./zeek_log.ts";

/** A dns.log row being filled in. */
interface DnsRow {
  ts: number;
  uid: string;
  ids: ZeekIds;
  proto: string;
  transId: number;
  rtt: number | null;
  query: string | null;
  qclass: number | null;
  qtype: number | null;
  rcode: number | null;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  z: number;
  answers: string[];
  ttls: number[];
  rejected: boolean;
  opcode: number;
  sawQuery: boolean;
  sawReply: boolean;
}

// Zeek's names where they differ from wiresight's (consts.zeek: classes, query_types, opcodes).
const CLASSES: Record<number, string> = {
  1: "C_INTERNET",
  2: "C_CSNET",
  3: "C_CHAOS",
  4: "C_HESIOD",
  254: "C_NONE",
  255: "C_ANY",
};
const OPCODES: Record<number, string> = {
  0: "query",
  1: "iquery",
  2: "server-status",
  4: "notify",
  5: "dynamic-update",
  6: "dso",
};
/** Zeek's rcode names: the IANA ones, but its own spelling of 8 and names for the unassigned. */
function rcodeName(r: number): string {
  if (r === 8) return "NXRRSet";
  if (r >= 11 && r <= 15) return `unassigned-${r}`;
  return DNS_RCODES[r] ?? `rcode-${r}`;
}
const qtypeName = (t: number) => t === 255 ? "*" : DNS_TYPES[t] ?? `query-${t}`;
const TYPE_NUMBERS = new Map(Object.entries(DNS_TYPES).map(([n, name]) => [name, Number(n)]));
const typeNumber = (name: string) => TYPE_NUMBERS.get(name) ?? Number(name.replace(/^TYPE/, ""));

/** Zeek tracks standard queries, NOTIFY and dynamic updates only. */
const TRACKED_OPCODES = new Set([0, 4, 5]);

/** Zeek's multicast_subnets: replies come on other connections, so nothing is paired. */
const multicast = (h: string) => /^(22[4-9]|23\d)\./.test(h) || /^ff/i.test(h);

const byteLength = (s: string) => new TextEncoder().encode(s).length;

/**
 * An answer as Zeek's dns.log words it (main.zeek's dns_*_reply handlers): undefined for the types
 * Zeek parses but logs nothing for (HINFO, CAA, SVCB, HTTPS, TKEY, TSIG, WKS), and for the DNSSEC
 * and NAPTR texts, which wiresight does not reproduce.
 */
function answerText(r: DnsRecord): string | undefined {
  const d = r.details;
  const named = (group: string, key: string) => {
    const g = d[group];
    return typeof g === "object" ? String(g[key] ?? "") : "";
  };
  switch (r.type) {
    case "A":
    case "AAAA":
    case "NS":
    case "CNAME":
    case "PTR":
      return r.data[0] ?? "";
    case "MX":
      return named("mx", "exchange");
    case "SOA":
      return named("soa", "mname");
    case "SRV":
      return named("srv", "name");
    case "TXT":
    case "SPF":
      return r.data.map((s) => `${r.type} ${byteLength(s)} ${s}`).join(" ");
    case "NSEC3":
    case "NSEC3PARAM":
      return r.type;
    case "HINFO":
    case "CAA":
    case "SVCB":
    case "HTTPS":
    case "TKEY":
    case "TSIG":
    case "WKS":
    case "OPT":
    case "DS":
    case "DNSKEY":
    case "RRSIG":
    case "NSEC":
    case "NAPTR":
    case "SSHFP":
    case "LOC":
      return undefined;
    default:
      return `<unknown type=${typeNumber(r.type)}>`;
  }
}

export const DNS_FIELDS: ZeekField<DnsRow>[] = [
  { name: "ts", type: "time", get: (r) => r.ts },
  { name: "uid", type: "string", get: (r) => r.uid },
  ...idFields<DnsRow>(),
  { name: "proto", type: "enum", get: (r) => r.proto },
  { name: "trans_id", type: "count", get: (r) => r.transId },
  { name: "rtt", type: "interval", get: (r) => r.rtt },
  { name: "query", type: "string", get: (r) => r.query },
  { name: "qclass", type: "count", get: (r) => r.qclass },
  {
    name: "qclass_name",
    type: "string",
    get: (r) => r.qclass === null ? null : CLASSES[r.qclass] ?? `qclass-${r.qclass}`,
  },
  { name: "qtype", type: "count", get: (r) => r.qtype },
  { name: "qtype_name", type: "string", get: (r) => r.qtype === null ? null : qtypeName(r.qtype) },
  { name: "rcode", type: "count", get: (r) => r.rcode },
  { name: "rcode_name", type: "string", get: (r) => r.rcode === null ? null : rcodeName(r.rcode) },
  { name: "AA", type: "bool", get: (r) => r.aa },
  { name: "TC", type: "bool", get: (r) => r.tc },
  { name: "RD", type: "bool", get: (r) => r.rd },
  { name: "RA", type: "bool", get: (r) => r.ra },
  { name: "Z", type: "count", get: (r) => r.z },
  { name: "answers", type: "vector[string]", get: (r) => r.answers.length ? r.answers : null },
  { name: "TTLs", type: "vector[interval]", get: (r) => r.ttls.length ? r.ttls : null },
  { name: "rejected", type: "bool", get: (r) => r.rejected },
  { name: "opcode", type: "count", get: (r) => r.opcode },
  { name: "opcode_name", type: "string", get: (r) => OPCODES[r.opcode] ?? `opcode-${r.opcode}` },
];

/** A flow's messages waiting for their other half, by transaction id, oldest first. */
interface Pending {
  queries: Map<number, DnsRow[]>;
  replies: Map<number, DnsRow[]>;
}

function take(waiting: Map<number, DnsRow[]>, id: number): DnsRow | undefined {
  const rows = waiting.get(id);
  const row = rows?.shift();
  if (rows && !rows.length) waiting.delete(id);
  return row;
}

/** Zeek's max_pending_msgs and max_pending_query_ids: past them, the unpaired are written out. */
const MAX_PENDING = 50;

/** Queues a row for its other half; returns the rows given up on (written unpaired, as Zeek does). */
function put(waiting: Map<number, DnsRow[]>, row: DnsRow): DnsRow[] {
  let given: DnsRow[] = [];
  const rows = waiting.get(row.transId);
  if (!rows && waiting.size > MAX_PENDING) {
    given = [...waiting.values()].flat();
    waiting.clear();
  } else if (rows && rows.length > MAX_PENDING) {
    given = rows.splice(0);
  }
  const queue = waiting.get(row.transId);
  if (queue) queue.push(row);
  else waiting.set(row.transId, [row]);
  return given;
}

/** `--zeek-logs DIR`: dns.log rows from the session's DNS messages (DoH is HTTP to Zeek). */
export class ZeekDnsLog {
  readonly log: ZeekLog<DnsRow>;
  readonly #pending = new Map<number, Pending>();

  constructor(dir: string, json: boolean, private readonly uids: UidMaker) {
    this.log = new ZeekLog(dir, "dns", DNS_FIELDS, json);
  }

  #newRow(e: AppEvent, m: DnsMessage, clientSent: boolean): DnsRow {
    return {
      ts: seconds(e),
      uid: this.uids.of(e.flowId),
      // The client is Zeek's originator; a lone reply's receiver is taken for the client.
      ids: eventIds(e, clientSent),
      proto: m.transport,
      transId: m.id,
      rtt: null,
      query: null,
      qclass: null,
      qtype: null,
      rcode: null,
      aa: false,
      tc: false,
      rd: false,
      ra: false,
      z: 0,
      answers: [],
      ttls: [],
      rejected: false,
      opcode: m.opcode,
      sawQuery: false,
      sawReply: false,
    };
  }

  app(e: AppEvent): void {
    if (e.kind !== abi.AK_DNS) return;
    const m = dnsMessage(e);
    if (m.transport === "doh" || !TRACKED_OPCODES.has(m.opcode)) return;
    let row: DnsRow;
    if (multicast(e.dst)) {
      row = this.#newRow(e, m, true);
      row.sawQuery = row.sawReply = true;
    } else {
      let p = this.#pending.get(e.flowId);
      if (!p) this.#pending.set(e.flowId, p = { queries: new Map(), replies: new Map() });
      const [mine, other] = m.response ? [p.replies, p.queries] : [p.queries, p.replies];
      const paired = take(other, m.id);
      row = paired ?? this.#newRow(e, m, !m.response);
      if (!paired) put(mine, row).forEach((r) => this.log.write(r));
    }
    if (m.response) this.#reply(row, e, m);
    else this.#query(row, m);
    row.opcode = m.opcode;
    if (row.sawQuery && row.sawReply) this.log.write(row);
  }

  #query(row: DnsRow, m: DnsMessage): void {
    row.sawQuery = true;
    row.rd = m.flags.rd;
    row.tc = m.flags.tc;
    row.z = m.z;
    const q = m.questions[m.questions.length - 1];
    if (!q) return;
    row.query = q.name;
    row.qclass = q.class;
    row.qtype = q.typeValue;
  }

  #reply(row: DnsRow, e: AppEvent, m: DnsMessage): void {
    row.sawReply = true;
    row.rcode = m.rcodeValue;
    if (m.rcodeValue !== 0 && m.questions.length === 0) row.rejected = true;
    for (const r of m.records) {
      if (r.section !== "answer") continue;
      const text = answerText(r);
      if (text === undefined) continue;
      row.query ??= r.name;
      row.aa = m.flags.aa;
      row.ra = m.flags.ra;
      // The time from the query to the first answer; none when only the reply was seen.
      if (row.rtt === null && seconds(e) > row.ts) row.rtt = seconds(e) - row.ts;
      if (text) {
        row.answers.push(text);
        row.ttls.push(r.ttl);
      }
    }
  }

  /** The flow's unpaired queries and replies are written when it ends. */
  flow(view: FlowView): void {
    if (view.record.endReason !== "active_timeout") this.#flush(view.record.id);
  }

  sink(): SessionSink {
    return {
      app: (e) => this.app(e),
      flow: (v) => this.flow(v),
      close: () => {
        for (const id of [...this.#pending.keys()]) this.#flush(id);
        this.log.close();
      },
    };
  }

  #flush(id: number): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    for (const waiting of [p.queries, p.replies]) {
      for (const rows of waiting.values()) rows.forEach((r) => this.log.write(r));
    }
  }
}
