// The bundled AS database: ip-location-db's CSV rows "first,last,asn,organisation", sorted by first
// address and not overlapping. Held as typed arrays over the file's bytes (half a million rows);
// an organisation is decoded from the bytes only when an address in its range is asked for.
import { ipv4Number, ipv6Words, ipv6WordsOf } from "./address_words.ts";

export interface AsInfo {
  asn: number;
  org: string | null;
}

/** Ranges whose bounds are WIDTH 32-bit words (1: IPv4, 4: IPv6), in ascending order. */
export class AsnTable {
  private constructor(
    readonly width: 1 | 4,
    readonly rows: number,
    private readonly firsts: Uint32Array,
    private readonly lasts: Uint32Array,
    private readonly asns: Uint32Array,
    /** Byte offset and length of each row's organisation field in `text`. */
    private readonly orgAt: Uint32Array,
    private readonly text: Uint8Array,
  ) {}

  /**
   * Parses the CSV in BYTES. IPv4 files give their bounds as numbers ("asn-ipv4-num.csv"), IPv6
   * files as text ("asn-ipv6.csv"). Throws on a row it cannot read, or rows out of order.
   */
  static parse(bytes: Uint8Array, width: 1 | 4, name: string): AsnTable {
    let lines = 0;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10) lines++;
    const cap = lines + 1;
    const firsts = new Uint32Array(cap * width), lasts = new Uint32Array(cap * width);
    const asns = new Uint32Array(cap), orgAt = new Uint32Array(cap * 2);
    const words = new Uint32Array(4);
    let rows = 0, pos = 0, line = 0;
    const fail = (why: string): never => {
      throw new Error(`${name}: line ${line}: ${why}`);
    };
    /** The end of the field at `pos` (its comma), within the line ending at EOL. */
    const fieldEnd = (eol: number): number => {
      const end = bytes.indexOf(44, pos);
      return end < 0 || end > eol ? fail("fewer than four fields") : end;
    };
    /** A field of decimal digits as a number (ASCII, so no decoding). */
    const number = (end: number, what: string): number => {
      let n = 0;
      for (let i = pos; i < end; i++) {
        const d = bytes[i] - 48;
        if (d < 0 || d > 9) fail(`'${latin1(bytes, pos, end)}' is not ${what}`);
        n = n * 10 + d;
      }
      if (end === pos || n > 0xffffffff) fail(`'${latin1(bytes, pos, end)}' is not ${what}`);
      return n;
    };
    const bound = (out: Uint32Array, eol: number) => {
      const end = fieldEnd(eol);
      if (width === 1) out[rows] = number(end, "an IPv4 address number");
      else {
        if (!ipv6WordsOf(bytes, pos, end, words)) fail(`'${latin1(bytes, pos, end)}' is not an IPv6 address`);
        out.set(words, rows * 4);
      }
      pos = end + 1;
    };
    while (pos < bytes.length) {
      line++;
      let eol = bytes.indexOf(10, pos);
      if (eol < 0) eol = bytes.length;
      if (eol === pos) {
        pos++;
        continue;
      }
      bound(firsts, eol);
      bound(lasts, eol);
      const asnEnd = fieldEnd(eol);
      asns[rows] = number(asnEnd, "an AS number");
      pos = asnEnd + 1;
      orgAt[2 * rows] = pos;
      orgAt[2 * rows + 1] = (bytes[eol - 1] === 13 ? eol - 1 : eol) - pos;
      if (compare(firsts, rows, lasts, rows, width) > 0) fail("range ends before it starts");
      pos = eol + 1;
      // Binary search needs ascending ranges that do not overlap. The published data has the odd
      // overlap (one row in 400,000 in 2026-06): the earlier row keeps the shared addresses.
      if (rows > 0 && compare(lasts, rows - 1, firsts, rows, width) >= 0) {
        if (compare(firsts, rows - 1, firsts, rows, width) > 0) fail("rows out of order");
        if (compare(lasts, rows - 1, lasts, rows, width) >= 0) continue; // inside the earlier row
        firsts.set(lasts.subarray((rows - 1) * width, rows * width), rows * width);
        increment(firsts, rows, width);
      }
      rows++;
    }
    if (rows === 0) throw new Error(`${name}: no rows`);
    return new AsnTable(width, rows, firsts, lasts, asns, orgAt, bytes);
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
    const width = this.width;
    // The last row whose first address is <= key.
    let lo = 0, hi = this.rows - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKey(this.firsts, mid, key, width) <= 0) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0 || compareKey(this.lasts, found, key, width) < 0) return null;
    const asn = this.asns[found];
    return asn === 0 ? null : { asn, org: this.#org(found) };
  }

  #org(row: number): string | null {
    const at = this.orgAt[2 * row], len = this.orgAt[2 * row + 1];
    let s = new TextDecoder().decode(this.text.subarray(at, at + len));
    if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1).replaceAll('""', '"');
    return s || null;
  }
}

/** Bytes START..END as text (the address fields are ASCII). */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, Math.min(end, start + 64)));
}

/** Compares row I of A with row J of B (WIDTH words each). */
function compare(a: Uint32Array, i: number, b: Uint32Array, j: number, width: number): number {
  for (let k = 0; k < width; k++) {
    const x = a[i * width + k], y = b[j * width + k];
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Adds one to row I of A (WIDTH words). */
function increment(a: Uint32Array, i: number, width: number): void {
  for (let k = width - 1; k >= 0; k--) {
    a[i * width + k] = (a[i * width + k] + 1) >>> 0;
    if (a[i * width + k] !== 0) return;
  }
}

/** Compares row I of A with KEY. */
function compareKey(a: Uint32Array, i: number, key: Uint32Array, width: number): number {
  for (let k = 0; k < width; k++) {
    const x = a[i * width + k], y = key[k];
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
