// DNS messages from the decoder's AK_DNS events.
import * as abi from "../../decoder/abi.ts";
import { type AppEvent, utf8 } from "../../decoder/app_event.ts";
import { dnsRcodeName, dnsTypeName } from "../names.ts";

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
  /** The data's named values, nested by their keys' prefixes: `{soa: {mname, serial ...}}`. */
  details: DnsDetails;
}

/** Named values of a record's data (see dns_rdata.rs for the keys). */
export interface DnsDetails {
  [key: string]: string | number | DnsDetails;
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
  /** Sections that had more records than the decoder kept ("answer", "authority", "additional"). */
  capped: string[];
  /** Set when the message was cut short or malformed: what stopped the parser. */
  error: string | null;
}

const SECTIONS = ["", "answer", "authority", "additional"];
const ERRORS: Record<number, string> = {
  [abi.DNS_ERR_TRUNCATED]: "truncated",
  [abi.DNS_ERR_LABEL]: "bad_label",
  [abi.DNS_ERR_POINTER_LOOP]: "compression_loop",
};

/** Sets the value of key `soa.mname` as details.soa.mname (the decoder names the keys, not the wire). */
function setDetail(details: DnsDetails, key: string, value: string | number): void {
  const path = key.split(".");
  let at = details;
  for (const part of path.slice(0, -1)) {
    const inner = at[part];
    at = typeof inner === "object" ? inner : (at[part] = {});
  }
  at[path[path.length - 1]] = value;
}

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
    capped: [],
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
        rr = { name: utf8(v, 0, v.length), type: "", ttl: 0, section: "", data: [], details: {} };
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
      case abi.F_DNS_RR_TEXT: {
        const eq = v.indexOf(0x3d);
        if (rr && eq > 0) setDetail(rr.details, utf8(v, 0, eq), utf8(v, eq + 1, v.length));
        break;
      }
      case abi.F_DNS_RR_NUM:
        if (rr && v.length > 4) {
          const value = new DataView(v.buffer, v.byteOffset + v.length - 4).getUint32(0, true);
          setDetail(rr.details, utf8(v, 0, v.length - 4), value);
        }
        break;
      case abi.F_DNS_SECTION_CAPPED:
        msg.capped.push(SECTIONS[v[0]] ?? "");
        break;
      case abi.F_DNS_ERROR:
        msg.error = ERRORS[v[0]] ?? `error_${v[0]}`;
        break;
    }
  }
  return msg;
}
