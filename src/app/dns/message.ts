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
  /** "doh": DNS over HTTPS seen in the clear (h2c or HTTP/1.1), over TCP. */
  transport: "udp" | "tcp" | "doh";
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
    transport: e.has(abi.F_DNS_DOH) ? "doh" : e.num(abi.F_DNS_TRANSPORT) === 6 ? "tcp" : "udp",
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
