// The bundled AS database: ip-location-db's CSV rows "first,last,asn,organisation", sorted by first
// address. It is searched where it lies: a binary search over the file's bytes that reads the one
// line under each probe (about 25 for 400,000 rows), so opening it costs only the file read, and
// an address's row is parsed only when that address is asked for (answers are cached by geo.ts).
import { ipv4Number, ipv6Words, ipv6WordsOf } from "./address_words.ts";

export interface AsInfo {
  asn: number;
  org: string | null;
}

const COMMA = 44, NEWLINE = 10;

/** Rows whose bounds are WIDTH 32-bit words (1: IPv4 as numbers, 4: IPv6 as text), ascending. */
export class AsnTable {
  readonly #probe = new Uint32Array(4);

  private constructor(readonly width: 1 | 4, private readonly bytes: Uint8Array, readonly name: string) {}

  /** The CSV in BYTES; its first row is read now, so a file of another shape fails here. */
  static open(bytes: Uint8Array, width: 1 | 4, name: string): AsnTable {
    const table = new AsnTable(width, bytes, name);
    if (bytes.length === 0) throw new Error(`${name}: empty`);
    table.#row(0);
    return table;
  }

  /** The AS of the IPv4 address N. */
  lookupV4(n: number): AsInfo | null {
    return this.#find(Uint32Array.of(n));
  }

  /** The AS of the IPv6 address in W (four words). */
  lookupV6(w: Uint32Array): AsInfo | null {
    return this.#find(w);
  }

  /** The AS of an address's text. */
  lookup(text: string): AsInfo | null {
    if (this.width === 1) {
      const n = ipv4Number(text);
      return n === null ? null : this.lookupV4(n);
    }
    const w = new Uint32Array(4);
    return ipv6Words(text, w) ? this.lookupV6(w) : null;
  }

  #find(key: Uint32Array): AsInfo | null {
    const b = this.bytes;
    // The last line whose first address is <= key: every probe lands in a line and reads it.
    let left = 0, right = b.length, best = -1;
    while (left < right) {
      const start = this.#lineStart((left + right) >>> 1);
      if (this.#compare(this.#bound(start, this.#fieldEnd(start)), key) <= 0) {
        best = start;
        left = this.#lineEnd(start) + 1;
      } else right = start;
    }
    if (best < 0) return null;
    const row = this.#row(best);
    return this.#compare(row.last, key) < 0 || row.asn === 0 ? null : { asn: row.asn, org: row.org };
  }

  /** The line at START: its last address, AS number and organisation. */
  #row(start: number): { last: Uint32Array; asn: number; org: string | null } {
    const firstEnd = this.#fieldEnd(start);
    this.#bound(start, firstEnd); // checks the first address
    const lastEnd = this.#fieldEnd(firstEnd + 1);
    const last = Uint32Array.from(this.#bound(firstEnd + 1, lastEnd));
    const asnEnd = this.#fieldEnd(lastEnd + 1);
    const asn = this.#number(lastEnd + 1, asnEnd, "an AS number");
    let end = this.#lineEnd(start);
    if (this.bytes[end - 1] === 13) end--;
    let org = new TextDecoder().decode(this.bytes.subarray(asnEnd + 1, end));
    if (org.length >= 2 && org.startsWith('"') && org.endsWith('"')) {
      org = org.slice(1, -1).replaceAll('""', '"');
    }
    return { last, asn, org: org || null };
  }

  /** The address field START..END as words (in a scratch array: copy to keep). */
  #bound(start: number, end: number): Uint32Array {
    if (this.width === 1) {
      this.#probe[0] = this.#number(start, end, "an IPv4 address number");
    } else if (!ipv6WordsOf(this.bytes, start, end, this.#probe)) {
      this.#fail(start, `'${this.#text(start, end)}' is not an IPv6 address`);
    }
    return this.#probe;
  }

  #number(start: number, end: number, what: string): number {
    let n = 0;
    for (let i = start; i < end; i++) {
      const d = this.bytes[i] - 48;
      if (d < 0 || d > 9) this.#fail(start, `'${this.#text(start, end)}' is not ${what}`);
      n = n * 10 + d;
    }
    if (end === start || n > 0xffffffff) this.#fail(start, `'${this.#text(start, end)}' is not ${what}`);
    return n;
  }

  #compare(a: Uint32Array, key: Uint32Array): number {
    for (let k = 0; k < this.width; k++) if (a[k] !== key[k]) return a[k] < key[k] ? -1 : 1;
    return 0;
  }

  #lineStart(pos: number): number {
    const nl = this.bytes.lastIndexOf(NEWLINE, pos - 1);
    return nl + 1;
  }

  #lineEnd(start: number): number {
    const nl = this.bytes.indexOf(NEWLINE, start);
    return nl < 0 ? this.bytes.length : nl;
  }

  /** The comma ending the field at START, which must be on START's line. */
  #fieldEnd(start: number): number {
    const comma = this.bytes.indexOf(COMMA, start);
    if (comma < 0 || comma > this.#lineEnd(start)) this.#fail(start, "fewer than four fields");
    return comma;
  }

  #text(start: number, end: number): string {
    return String.fromCharCode(...this.bytes.subarray(start, Math.min(end, start + 64)));
  }

  #fail(at: number, why: string): never {
    throw new Error(`${this.name}: byte ${at}: ${why}`);
  }
}
