// IPFIX messages (RFC 7011 section 3): a 16-byte header, then sets. Records are packed into messages
// of at most `mtu` bytes, one data set per run of records of the same template; the sequence number
// counts the data records sent before the message in this transport session.
import { type FlowExtras, maxRecordSize, RecordWriter, type Template, templateRecord } from "./template.ts";
import type { FlowView } from "../rows.ts";

const VERSION = 10;
const HEADER = 16;
const SET_HEADER = 4;
const TEMPLATE_SET_ID = 2;

export class MessageBuilder {
  readonly #buf: Uint8Array;
  readonly #dv: DataView;
  readonly #w: RecordWriter;
  readonly #templateSet: Uint8Array;
  /** One record at a time, before it goes into the message. */
  readonly #scratch: RecordWriter;
  /** Data records in the message being filled. */
  #records = 0;
  /** Where the open data set starts (0: none open), and its template. */
  #setStart = 0;
  #setTemplate = 0;
  /** Data records sent in this transport session, modulo 2^32. */
  #sequence = 0;

  constructor(
    readonly mtu: number,
    readonly domain: number,
    readonly templates: Template[],
    /** Export time of a message, seconds since the epoch (wall clock). */
    readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    const records = templates.map(templateRecord);
    this.#templateSet = new Uint8Array(SET_HEADER + records.reduce((n, r) => n + r.length, 0));
    new DataView(this.#templateSet.buffer).setUint16(0, TEMPLATE_SET_ID);
    new DataView(this.#templateSet.buffer).setUint16(2, this.#templateSet.length);
    let o = SET_HEADER;
    for (const r of records) {
      this.#templateSet.set(r, o);
      o += r.length;
    }
    const maxRecord = Math.max(...templates.map(maxRecordSize));
    if (HEADER + this.#templateSet.length > mtu || HEADER + SET_HEADER + maxRecord > mtu) {
      throw new RangeError(`an IPFIX message of ${mtu} bytes cannot hold wiresight's templates and records`);
    }
    this.#buf = new Uint8Array(mtu);
    this.#dv = new DataView(this.#buf.buffer);
    this.#w = new RecordWriter(this.#buf);
    this.#w.offset = HEADER;
    this.#scratch = new RecordWriter(new Uint8Array(maxRecord));
  }

  /** Whether the message being filled holds anything. */
  get pending(): boolean {
    return this.#w.offset > HEADER;
  }

  /**
   * The messages to send now: the one filled so far, if any, then the templates in a message of
   * their own (nfacctd 1.7.7 dropped the data records that shared the templates' first message). A
   * new transport session (a TCP reconnection) starts its sequence at 0 and drops what was meant
   * for the connection that failed (lost with it, as a datagram would be).
   */
  withTemplates(newSession = false): Uint8Array[] {
    const out = this.pending && !newSession ? [this.take()] : [];
    if (newSession) {
      this.#sequence = 0;
      this.#records = 0;
      this.#setTemplate = 0;
    }
    this.#buf.set(this.#templateSet, HEADER);
    this.#w.offset = HEADER + this.#templateSet.length;
    out.push(this.take());
    return out;
  }

  /** Adds a flow's record; returns the message it completed, if the record did not fit in it. */
  add(t: Template, view: FlowView, extras: FlowExtras): Uint8Array | null {
    // Made aside first: records of text fields vary in size, and only the real size must fit.
    this.#scratch.offset = 0;
    this.#scratch.record(t, view, extras);
    const size = this.#scratch.offset;
    let done: Uint8Array | null = null;
    if (this.#w.offset + size + (this.#setTemplate === t.id ? 0 : SET_HEADER) > this.mtu) done = this.take();
    if (this.#setTemplate !== t.id) {
      this.#closeSet();
      this.#setStart = this.#w.offset;
      this.#setTemplate = t.id;
      this.#w.offset += SET_HEADER;
    }
    this.#buf.set(this.#scratch.bytes.subarray(0, size), this.#w.offset);
    this.#w.offset += size;
    this.#records++;
    return done;
  }

  /** The message filled so far, with its header; the next one starts empty. */
  take(): Uint8Array {
    this.#closeSet();
    const length = this.#w.offset;
    this.#dv.setUint16(0, VERSION);
    this.#dv.setUint16(2, length);
    this.#dv.setUint32(4, this.now());
    this.#dv.setUint32(8, this.#sequence);
    this.#dv.setUint32(12, this.domain);
    this.#sequence = (this.#sequence + this.#records) >>> 0;
    this.#records = 0;
    this.#w.offset = HEADER;
    return this.#buf.slice(0, length);
  }

  #closeSet(): void {
    if (!this.#setTemplate) return;
    // Set padding is optional (RFC 7011 3.3.1): none is added, and the set length covers the records.
    this.#dv.setUint16(this.#setStart, this.#setTemplate);
    this.#dv.setUint16(this.#setStart + 2, this.#w.offset - this.#setStart);
    this.#setTemplate = 0;
  }
}
