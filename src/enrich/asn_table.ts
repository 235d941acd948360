// The bundled AS database: ip-location-db's CSV rows "first,last,asn,organisation", sorted by first
// address. It is searched where it lies: a binary search over the file's bytes that reads the one
// line under each probe (about 25 for 400,000 rows; lines_file.ts reads and keeps the blocks it
// touches), so opening it costs nothing, and a row is parsed only when an address in it is asked
// for (geo.ts caches the answers).
import { ipv4Number, ipv6Words, ipv6WordsOf } from "./address_words.ts";
import { LinesFile } from "./lines_file.ts";

export interface AsInfo {
  asn: number;
  org: string | null;
}

const COMMA = 44;

/** Rows whose bounds are WIDTH 32-bit words (1: IPv4 as numbers, 4: IPv6 as text), ascending. */
export class AsnTable {
  readonly #probe = new Uint32Array(4);

  private constructor(readonly width: 1 | 4, private readonly file: LinesFile) {}

  /** The CSV at PATH; its first row is read now, so a file of another shape fails here. */
  static open(path: string, width: 1 | 4): AsnTable {
    const table = new AsnTable(width, LinesFile.open(path));
    if (table.file.size === 0) throw new Error(`${path}: empty`);
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
    // The last line whose first address is <= key: every probe lands in a line and reads it.
    let left = 0, right = this.file.size, best = -1;
    while (left < right) {
      const start = this.file.lineStart((left + right) >>> 1);
      const { text, next } = this.file.line(start);
      if (this.#compare(this.#bound(text, 0, fieldEnd(text, 0), start), key) <= 0) {
        best = start;
        left = next;
      } else right = start;
    }
    if (best < 0) return null;
    const row = this.#row(best);
    return this.#compare(row.last, key) < 0 || row.asn === 0 ? null : { asn: row.asn, org: row.org };
  }

  /** The line at START: its last address, AS number and organisation. */
  #row(start: number): { last: Uint32Array; asn: number; org: string | null } {
    const { text } = this.file.line(start);
    const fail = (why: string): never => {
      throw new Error(`${this.file.path}: byte ${start}: ${why}`);
    };
    const firstEnd = fieldEnd(text, 0);
    const lastEnd = firstEnd < 0 ? -1 : fieldEnd(text, firstEnd + 1);
    const asnEnd = lastEnd < 0 ? -1 : fieldEnd(text, lastEnd + 1);
    if (asnEnd < 0) fail("fewer than four fields");
    this.#bound(text, 0, firstEnd, start); // checks the first address
    const last = Uint32Array.from(this.#bound(text, firstEnd + 1, lastEnd, start));
    const asn = this.#number(text, lastEnd + 1, asnEnd, "an AS number", start);
    let org = new TextDecoder().decode(text.subarray(asnEnd + 1));
    if (org.length >= 2 && org.startsWith('"') && org.endsWith('"')) {
      org = org.slice(1, -1).replaceAll('""', '"');
    }
    return { last, asn, org: org || null };
  }

  /** The address field START..END of TEXT as words (in a scratch array: copy to keep). */
  #bound(text: Uint8Array, start: number, end: number, at: number): Uint32Array {
    if (end < 0) this.#fail(at, "fewer than four fields");
    if (this.width === 1) {
      this.#probe[0] = this.#number(text, start, end, "an IPv4 address number", at);
    } else if (!ipv6WordsOf(text, start, end, this.#probe)) {
      this.#fail(at, `'${ascii(text, start, end)}' is not an IPv6 address`);
    }
    return this.#probe;
  }

  #number(text: Uint8Array, start: number, end: number, what: string, at: number): number {
    let n = 0;
    for (let i = start; i < end; i++) {
      const d = text[i] - 48;
      if (d < 0 || d > 9) this.#fail(at, `'${ascii(text, start, end)}' is not ${what}`);
      n = n * 10 + d;
    }
    if (end === start || n > 0xffffffff) this.#fail(at, `'${ascii(text, start, end)}' is not ${what}`);
    return n;
  }

  #compare(a: Uint32Array, key: Uint32Array): number {
    for (let k = 0; k < this.width; k++) if (a[k] !== key[k]) return a[k] < key[k] ? -1 : 1;
    return 0;
  }

  #fail(at: number, why: string): never {
    throw new Error(`${this.file.path}: byte ${at}: ${why}`);
  }
}

/** The comma ending the field at START of TEXT, or -1. */
function fieldEnd(text: Uint8Array, start: number): number {
  return text.indexOf(COMMA, start);
}

function ascii(text: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...text.subarray(start, Math.min(end, start + 64)));
}
