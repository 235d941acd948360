// DNS messages from the decoder's AK_DNS events.
import * as abi from "../../decoder/abi.ts";
import { type AppEvent, utf8 } from "../../decoder/app_event.ts";
import { dnsRcodeName, dnsTypeName } from "../names.ts";

export interface DnsQuestion {
  name: string;
  type: string;
  /** The type as a number (Zeek's dns.log names types its own way). */
  typeValue: number;
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
  readonly details: DnsDetails;
}

/** Named values of a record's data (see dns_rdata.rs for the keys). */
export interface DnsDetails {
  [key: string]: string | number | DnsDetails;
}

export interface DnsMessage {
  id: number;
  response: boolean;
  opcode: number;
  /** The 3 reserved header bits (Z, AD, CD), as Zeek's dns.log shows them. */
  z: number;
  rcode: string;
  /** The response code as a number, with the EDNS extended bits. */
  rcodeValue: number;
  /** authoritative, truncated, recursion desired, recursion available */
  flags: { aa: boolean; tc: boolean; rd: boolean; ra: boolean };
  /** "doh": DNS over HTTPS seen in the clear (h2c or HTTP/1.1), over TCP. */
  transport: "udp" | "tcp" | "doh";
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

/**
 * A record whose `details` are decoded from its raw named values (F_DNS_RR_TEXT, F_DNS_RR_NUM
 * fields, copied from the event) when first read: the report never reads them.
 */
class ParsedRecord implements DnsRecord {
  type = "";
  ttl = 0;
  section = "";
  data: string[] = [];
  raw: (number | Uint8Array)[] | null = null;
  #details: DnsDetails | null = null;
  constructor(readonly name: string) {}

  get details(): DnsDetails {
    return this.#details ??= this.type === "OPT"
      ? ednsDetails(this.data[0] ?? "")
      : decodeDetails(this.raw ?? []);
  }
}

/**
 * The EDNS values of an OPT record's text ("udp_size=1232 ext_rcode=0 version=0 do=1
 * ecs=192.0.2.0/24/0 cookie=CLIENT,SERVER"): the decoder sends that one field for the record
 * every message carries.
 */
function ednsDetails(text: string): DnsDetails {
  const edns: DnsDetails = {};
  for (const token of text.split(" ")) {
    const [key, value = ""] = token.split("=");
    if (key === "ecs") {
      const [address, source, scope] = value.split("/");
      edns.client_subnet = {
        family: address.includes(":") ? 2 : 1,
        source_prefix: Number(source),
        scope_prefix: Number(scope),
        address,
      };
    } else if (key === "cookie") {
      const [client, server] = value.split(",");
      edns.cookie = server ? { client, server } : { client };
    } else if (/^\d+$/.test(value)) {
      edns[key] = Number(value);
    }
  }
  return { edns };
}

/** F_DNS_RR_TEXT ("key=value") and F_DNS_RR_NUM (key, u32) pairs, nested by key: `soa.mname`. */
function decodeDetails(raw: (number | Uint8Array)[]): DnsDetails {
  const details: DnsDetails = {};
  for (let i = 0; i < raw.length; i += 2) {
    const v = raw[i + 1] as Uint8Array;
    const text = raw[i] === abi.F_DNS_RR_TEXT;
    const split = text ? v.indexOf(0x3d) : v.length - 4;
    if (split <= 0) continue;
    const value = text
      ? utf8(v, split + 1, v.length)
      : new DataView(v.buffer, v.byteOffset + split).getUint32(0, true);
    const path = utf8(v, 0, split).split(".");
    let at = details;
    for (const part of path.slice(0, -1)) {
      const inner = at[part];
      at = typeof inner === "object" ? inner : (at[part] = {});
    }
    at[path[path.length - 1]] = value;
  }
  return details;
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
    z: (flags >> 4) & 0x7,
    rcode: dnsRcodeName(e.num(abi.F_DNS_RCODE) ?? flags & 0xf),
    rcodeValue: e.num(abi.F_DNS_RCODE) ?? flags & 0xf,
    flags: {
      aa: (flags & 0x400) !== 0,
      tc: (flags & 0x200) !== 0,
      rd: (flags & 0x100) !== 0,
      ra: (flags & 0x80) !== 0,
    },
    transport: e.has(abi.F_DNS_DOH) ? "doh" : e.num(abi.F_DNS_TRANSPORT) === 6 ? "tcp" : "udp",
    questions: [],
    records: [],
    capped: [],
    error: null,
  };
  let rr: ParsedRecord | undefined;
  const u = (b: Uint8Array) =>
    b.length === 2
      ? b[0] | (b[1] << 8)
      : b.length === 4
      ? new DataView(b.buffer, b.byteOffset).getUint32(0, true)
      : b[0];
  for (const [id, v] of e.fields()) {
    switch (id) {
      case abi.F_DNS_QNAME:
        msg.questions.push({ name: utf8(v, 0, v.length), type: "", typeValue: 0, class: 0 });
        break;
      case abi.F_DNS_QTYPE:
        if (msg.questions.length) {
          const q = msg.questions[msg.questions.length - 1];
          q.typeValue = u(v);
          q.type = dnsTypeName(q.typeValue);
        }
        break;
      case abi.F_DNS_QCLASS:
        if (msg.questions.length) msg.questions[msg.questions.length - 1].class = u(v);
        break;
      case abi.F_DNS_RR_NAME:
        rr = new ParsedRecord(utf8(v, 0, v.length));
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
      case abi.F_DNS_RR_TEXT:
      case abi.F_DNS_RR_NUM:
        // Copied (the event is a view) and decoded only if `details` is read.
        if (rr) (rr.raw ??= []).push(id, v.slice());
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
