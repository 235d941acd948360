// The IPFIX templates wiresight exports (RFC 7011 section 3.4.1) and the data records that follow
// them: IANA information elements for what every collector reads, RFC 5103 reverse elements for
// the responder's direction (one biflow record per flow), and enterprise elements under a private
// enterprise number for what only wiresight knows (processes, server name, JA4).
import { parseCidr } from "../../base/address.ts";
import { appName } from "../../app/names.ts";
import type { FlowView } from "../rows.ts";

/** RFC 5103's private enterprise number for reverse information elements. */
export const REVERSE_PEN = 29305;
/** RFC 5612's enterprise number for documentation: a placeholder until wiresight has its own. */
export const DEFAULT_PEN = 32473;
/** A field of variable length (RFC 7011 section 7). */
const VARIABLE = 0xffff;
/** Text longer than this is cut (at a character boundary): a record must fit in one message. */
export const MAX_TEXT_BYTES = 200;

export const TEMPLATE_IPV4 = 256;
export const TEMPLATE_IPV6 = 257;

/** wiresight's own elements, numbered under its enterprise number (README "IPFIX export"). */
export const WIRESIGHT_ELEMENTS = {
  processName: 1,
  processId: 2,
  responderProcessName: 3,
  responderProcessId: 4,
  serverName: 5,
  ja4: 6,
} as const;

/** What a record carries beside its flow view: learned from the flow's application events. */
export interface FlowExtras {
  ja4: string | null;
}

interface Field {
  id: number;
  length: number;
  /** Enterprise number; 0 for IANA's elements. */
  pen: number;
  write(w: RecordWriter, v: FlowView, x: FlowExtras): void;
}

const iana = (id: number, length: number, write: Field["write"]): Field => ({ id, length, pen: 0, write });

/** The fields of both templates, the addresses aside. */
function commonFields(pen: number): Field[] {
  const own = (id: number, length: number, write: Field["write"]): Field => ({ id, length, pen, write });
  const reverse = (id: number, length: number, write: Field["write"]): Field => ({
    id,
    length,
    pen: REVERSE_PEN,
    write,
  });
  return [
    iana(7, 2, (w, v) => w.u16(v.record.srcPort)), // sourceTransportPort
    iana(11, 2, (w, v) => w.u16(v.record.dstPort)), // destinationTransportPort
    iana(4, 1, (w, v) => w.u8(v.record.ipProto)), // protocolIdentifier
    iana(58, 2, (w, v) => w.u16(v.record.vlan)), // vlanId
    iana(152, 8, (w, v) => w.u64(millis(v.record.firstSec, v.record.firstNsec))), // flowStartMilliseconds
    iana(153, 8, (w, v) => w.u64(millis(v.record.lastSec, v.record.lastNsec))), // flowEndMilliseconds
    iana(1, 8, (w, v) => w.u64(v.record.bytesAtoB)), // octetDeltaCount
    iana(2, 8, (w, v) => w.u64(v.record.packetsAtoB)), // packetDeltaCount
    iana(6, 2, (w, v) => w.u16(v.record.tcpFlagsA)), // tcpControlBits
    reverse(1, 8, (w, v) => w.u64(v.record.bytesBtoA)),
    reverse(2, 8, (w, v) => w.u64(v.record.packetsBtoA)),
    reverse(6, 2, (w, v) => w.u16(v.record.tcpFlagsB)),
    iana(136, 1, (w, v) => w.u8(END_REASONS[v.record.endReason] ?? FORCED_END)), // flowEndReason
    // biflowDirection: the source is the initiator (the side that sent the first packet seen).
    iana(239, 1, (w) => w.u8(1)),
    iana(96, VARIABLE, (w, v) => w.text(appName(v.record.app))), // applicationName
    own(WIRESIGHT_ELEMENTS.processName, VARIABLE, (w, v) => w.text(v.owner?.name ?? null)),
    own(WIRESIGHT_ELEMENTS.processId, 4, (w, v) => w.u32(v.owner?.pid ?? 0)),
    own(WIRESIGHT_ELEMENTS.responderProcessName, VARIABLE, (w, v) => w.text(v.responder?.name ?? null)),
    own(WIRESIGHT_ELEMENTS.responderProcessId, 4, (w, v) => w.u32(v.responder?.pid ?? 0)),
    own(WIRESIGHT_ELEMENTS.serverName, VARIABLE, (w, v) => w.text(v.serverName)),
    own(WIRESIGHT_ELEMENTS.ja4, VARIABLE, (w, _v, x) => w.text(x.ja4)),
  ];
}

const FORCED_END = 4;
/** flowEndReason (IANA): 1 idle timeout, 2 active timeout, 3 end of flow detected, 4 forced end, 5 lack of resources. */
const END_REASONS: Record<string, number> = {
  idle_timeout: 1,
  active_timeout: 2,
  fin: 3,
  rst: 3,
  end_of_capture: FORCED_END,
  evicted: 5,
};

const millis = (sec: number, nsec: number) => sec * 1000 + Math.floor(nsec / 1e6);

export interface Template {
  id: number;
  fields: Field[];
}

/** The IPv4 and IPv6 templates, wiresight's own elements under `pen`. */
export function templates(pen: number): { v4: Template; v6: Template } {
  const address = (version: 4 | 6, side: "src" | "dst"): Field =>
    iana(
      version === 4 ? (side === "src" ? 8 : 12) : (side === "src" ? 27 : 28),
      version === 4 ? 4 : 16,
      (w, v) => w.address(version, v.record[side]),
    );
  const common = commonFields(pen);
  return {
    v4: { id: TEMPLATE_IPV4, fields: [address(4, "src"), address(4, "dst"), ...common] },
    v6: { id: TEMPLATE_IPV6, fields: [address(6, "src"), address(6, "dst"), ...common] },
  };
}

/** A template record's bytes: id, field count, then each field specifier. */
export function templateRecord(t: Template): Uint8Array {
  const size = 4 + t.fields.reduce((n, f) => n + (f.pen ? 8 : 4), 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, t.id);
  dv.setUint16(2, t.fields.length);
  let o = 4;
  for (const f of t.fields) {
    dv.setUint16(o, f.pen ? f.id | 0x8000 : f.id);
    dv.setUint16(o + 2, f.length);
    if (f.pen) dv.setUint32(o + 4, f.pen);
    o += f.pen ? 8 : 4;
  }
  return out;
}

/** The longest data record a template can make. */
export function maxRecordSize(t: Template): number {
  return t.fields.reduce((n, f) => n + (f.length === VARIABLE ? 3 + MAX_TEXT_BYTES : f.length), 0);
}

const utf8 = new TextEncoder();

/** Writes data records field by field into a buffer the caller sized (network byte order). */
export class RecordWriter {
  readonly #dv: DataView;
  offset = 0;

  constructor(readonly bytes: Uint8Array) {
    this.#dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u8(n: number): void {
    this.#dv.setUint8(this.offset++, n);
  }

  u16(n: number): void {
    this.#dv.setUint16(this.offset, n);
    this.offset += 2;
  }

  u32(n: number): void {
    this.#dv.setUint32(this.offset, n);
    this.offset += 4;
  }

  /** A whole number up to 2^53 (counts, milliseconds) as an unsigned 64-bit field. */
  u64(n: number): void {
    this.#dv.setUint32(this.offset, Math.floor(n / 2 ** 32));
    this.#dv.setUint32(this.offset + 4, n >>> 0);
    this.offset += 8;
  }

  address(version: 4 | 6, text: string): void {
    const parsed = parseCidr(text);
    const size = version === 4 ? 4 : 16;
    if (parsed) this.bytes.set(parsed.bytes.subarray(0, size), this.offset);
    else this.bytes.fill(0, this.offset, this.offset + size);
    this.offset += size;
  }

  /** A variable-length string (RFC 7011 section 7: a one-byte length; empty when unknown). */
  text(value: string | null): void {
    const encoded = value ? utf8.encode(value) : new Uint8Array(0);
    let n = Math.min(encoded.length, MAX_TEXT_BYTES);
    // Cut before a UTF-8 continuation byte, never inside a character.
    while (n < encoded.length && n > 0 && (encoded[n] & 0xc0) === 0x80) n--;
    this.u8(n);
    this.bytes.set(encoded.subarray(0, n), this.offset);
    this.offset += n;
  }

  /** Appends the record of `view` as `t` lays it out. */
  record(t: Template, view: FlowView, extras: FlowExtras): void {
    for (const f of t.fields) f.write(this, view, extras);
  }
}
