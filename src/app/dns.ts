// DNS messages from the decoder's AK_DNS events.
import * as abi from "../decoder/abi.ts";
import { type AppEvent, utf8 } from "../decoder/app_event.ts";
import { dnsRcodeName, dnsTypeName } from "./names.ts";
import { Counter, RecentMap } from "./counter.ts";
import type { AppExport, Section } from "./section.ts";
import { count, counted, type Style, table } from "../report/format.ts";
import { APP_BASE_COLUMNS, appRowBase } from "../sinks/rows.ts";

export interface DnsQuestion {
  name: string;
  type: string;
  class: number;
}

export interface DnsRecord {
  name: string;
  type: string;
  ttl: number;
  /** "answer", "authority" or "additional". */
  section: string;
  /** The data as text; TXT records have one entry per character-string. */
  data: string[];
}

export interface DnsMessage {
  id: number;
  response: boolean;
  opcode: number;
  rcode: string;
  /** The response code as a number, with the EDNS extended bits. */
  rcodeValue: number;
  /** authoritative, truncated, recursion desired, recursion available */
  flags: { aa: boolean; tc: boolean; rd: boolean; ra: boolean };
  transport: "udp" | "tcp";
  questions: DnsQuestion[];
  records: DnsRecord[];
  /** Set when the message was cut short or malformed: what stopped the parser. */
  error: string | null;
}

const SECTIONS = ["", "answer", "authority", "additional"];
const ERRORS: Record<number, string> = {
  [abi.DNS_ERR_TRUNCATED]: "truncated",
  [abi.DNS_ERR_LABEL]: "bad_label",
  [abi.DNS_ERR_POINTER_LOOP]: "compression_loop",
};

/** The DNS message of an AppEvent (parsed once per event, shared by whoever asks). */
export function dnsMessage(e: AppEvent): DnsMessage {
  return e.parsed(parseDnsMessage);
}

function parseDnsMessage(e: AppEvent): DnsMessage {
  const flags = e.num(abi.F_DNS_FLAGS) ?? 0;
  const msg: DnsMessage = {
    id: e.num(abi.F_DNS_ID) ?? 0,
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rcode: dnsRcodeName(e.num(abi.F_DNS_RCODE) ?? flags & 0xf),
    rcodeValue: e.num(abi.F_DNS_RCODE) ?? flags & 0xf,
    flags: {
      aa: (flags & 0x400) !== 0,
      tc: (flags & 0x200) !== 0,
      rd: (flags & 0x100) !== 0,
      ra: (flags & 0x80) !== 0,
    },
    transport: e.num(abi.F_DNS_TRANSPORT) === 6 ? "tcp" : "udp",
    questions: [],
    records: [],
    error: null,
  };
  let rr: DnsRecord | undefined;
  const u = (b: Uint8Array) =>
    b.length === 2
      ? b[0] | (b[1] << 8)
      : b.length === 4
      ? new DataView(b.buffer, b.byteOffset).getUint32(0, true)
      : b[0];
  for (const [id, v] of e.fields()) {
    switch (id) {
      case abi.F_DNS_QNAME:
        msg.questions.push({ name: utf8(v, 0, v.length), type: "", class: 0 });
        break;
      case abi.F_DNS_QTYPE:
        if (msg.questions.length) msg.questions[msg.questions.length - 1].type = dnsTypeName(u(v));
        break;
      case abi.F_DNS_QCLASS:
        if (msg.questions.length) msg.questions[msg.questions.length - 1].class = u(v);
        break;
      case abi.F_DNS_RR_NAME:
        rr = { name: utf8(v, 0, v.length), type: "", ttl: 0, section: "", data: [] };
        msg.records.push(rr);
        break;
      case abi.F_DNS_RR_TYPE:
        if (rr) rr.type = dnsTypeName(u(v));
        break;
      case abi.F_DNS_RR_TTL:
        if (rr) rr.ttl = u(v);
        break;
      case abi.F_DNS_RR_SECTION:
        if (rr) rr.section = SECTIONS[v[0]] ?? "";
        break;
      case abi.F_DNS_RR_DATA:
        rr?.data.push(utf8(v, 0, v.length));
        break;
      case abi.F_DNS_ERROR:
        msg.error = ERRORS[v[0]] ?? `error_${v[0]}`;
        break;
    }
  }
  return msg;
}

export interface DnsReport {
  messages: number;
  queries: number;
  responses: number;
  over_tcp: number;
  nxdomain: number;
  malformed: number;
  top_queries: { name: string; count: number }[];
  query_types: Record<string, number>;
  rcodes: Record<string, number>;
  /** Names that resolved to addresses (A/AAAA answers), most asked first. */
  resolved: { name: string; addresses: string[] }[];
}

/** DNS activity for the report, and the address -> name map that names flows and talkers. */
export class DnsSection implements Section<DnsReport> {
  readonly key = "dns";
  readonly kinds = [abi.AK_DNS];
  #messages = 0;
  #queries = 0;
  #responses = 0;
  #tcp = 0;
  #nxdomain = 0;
  #malformed = 0;
  readonly #names = new Counter();
  readonly #types = new Counter(1000);
  readonly #rcodes = new Counter(100);
  readonly #resolved = new RecentMap<Set<string>>();
  /** address -> the name it was last resolved from, and when. */
  readonly addressNames = new RecentMap<{ name: string; sec: number }>(65536);

  add(e: AppEvent): void {
    const m = dnsMessage(e);
    this.#messages++;
    if (m.transport === "tcp") this.#tcp++;
    if (m.error) this.#malformed++;
    if (!m.response) {
      this.#queries++;
      for (const q of m.questions) {
        this.#names.add(q.name);
        this.#types.add(q.type);
      }
      return;
    }
    this.#responses++;
    this.#rcodes.add(m.rcode);
    if (m.rcode === "NXDOMAIN") this.#nxdomain++;
    const asked = m.questions[0]?.name;
    for (const r of m.records) {
      if (r.section !== "answer" || (r.type !== "A" && r.type !== "AAAA") || !asked) continue;
      for (const address of r.data) {
        const set = this.#resolved.get(asked) ?? new Set<string>();
        if (set.size < 64) set.add(address);
        this.#resolved.set(asked, set);
        this.addressNames.set(address, { name: asked, sec: e.tsSec });
      }
    }
  }

  report(top: number): DnsReport | null {
    if (this.#messages === 0) return null;
    const names = this.#queries > 0 ? this.#names.top(top) : [];
    return {
      messages: this.#messages,
      queries: this.#queries,
      responses: this.#responses,
      over_tcp: this.#tcp,
      nxdomain: this.#nxdomain,
      malformed: this.#malformed,
      top_queries: names.map(([name, count]) => ({ name, count })),
      query_types: Object.fromEntries(this.#types.top(1000)),
      rcodes: Object.fromEntries(this.#rcodes.top(100)),
      resolved: names.filter(([n]) => this.#resolved.get(n)).map(([name]) => ({
        name,
        addresses: [...this.#resolved.get(name)!].sort(),
      })),
    };
  }

  text(d: DnsReport, st: Style): string[] {
    const out = [st.heading("DNS")];
    out.push(
      `  ${counted(d.messages, "message")}: ${counted(d.queries, "query", "queries")}, ` +
        `${counted(d.responses, "response")}, ` +
        `${count(d.nxdomain)} NXDOMAIN, ${count(d.over_tcp)} over TCP${
          d.malformed ? `, ${count(d.malformed)} malformed` : ""
        }`,
    );
    if (d.top_queries.length) {
      const resolved = new Map(d.resolved.map((x) => [x.name, x.addresses]));
      out.push(table(
        ["Name", "Queries", "Resolved to"],
        d.top_queries.map((
          q,
        ) => [q.name, count(q.count), (resolved.get(q.name) ?? []).slice(0, 3).join(" ")]),
      ));
    }
    const list = (o: Record<string, number>) =>
      Object.entries(o).map(([k, n]) => `${k} ${count(n)}`).join(", ");
    if (Object.keys(d.query_types).length) out.push(`  Query types: ${list(d.query_types)}`);
    if (Object.keys(d.rcodes).length) out.push(`  Response codes: ${list(d.rcodes)}`);
    return out;
  }
}

export const DNS_EXPORT: AppExport = {
  type: "dns",
  kinds: [abi.AK_DNS],
  columns: [
    ...APP_BASE_COLUMNS,
    "transport",
    "id",
    "response",
    "opcode",
    "rcode",
    "qname",
    "qtype",
    "answers",
    "ttl_min",
    "aa",
    "tc",
    "rd",
    "ra",
    "error",
  ],
  row(e) {
    const m = dnsMessage(e);
    const answers = m.records.filter((r) => r.section === "answer");
    return {
      ...appRowBase(e),
      transport: m.transport,
      id: m.id,
      response: m.response,
      opcode: m.opcode,
      rcode: m.response ? m.rcode : null,
      qname: m.questions[0]?.name ?? null,
      qtype: m.questions[0]?.type ?? null,
      answers: answers.map((r) => `${r.type} ${r.data.join(" ")}`).join("; ") || null,
      ttl_min: answers.length ? Math.min(...answers.map((r) => r.ttl)) : null,
      aa: m.flags.aa,
      tc: m.flags.tc,
      rd: m.flags.rd,
      ra: m.flags.ra,
      error: m.error,
    };
  },
};
