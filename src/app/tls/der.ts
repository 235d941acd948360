// A bounds-checked reader of DER (X.690): tag-length-value nodes, for the certificate fields
// Zeek's x509.log shows. Every read stays inside its parent; anything malformed throws DerError.

export class DerError extends Error {}

/** One TLV: its tag byte and where its contents lie in `bytes`. */
export interface DerNode {
  tag: number;
  start: number;
  end: number;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

export class Der {
  constructor(readonly bytes: Uint8Array) {}

  /** The node at `at`, which must end by `limit`. */
  node(at: number, limit = this.bytes.length): DerNode {
    const b = this.bytes;
    if (at + 2 > limit) throw new DerError("truncated header");
    const tag = b[at];
    if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte tag");
    let len = b[at + 1], start = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || start + n > limit) throw new DerError("bad length");
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[start + i];
      start += n;
    }
    if (start + len > limit) throw new DerError("contents past the end");
    return { tag, start, end: start + len };
  }

  /** The nodes inside a constructed node, in order. */
  children(parent: DerNode): DerNode[] {
    const out: DerNode[] = [];
    for (let at = parent.start; at < parent.end;) {
      const n = this.node(at, parent.end);
      out.push(n);
      at = n.end;
    }
    return out;
  }

  /** The node's contents; the tag must be `tag` when given. */
  contents(n: DerNode, tag?: number): Uint8Array {
    if (tag !== undefined && n.tag !== tag) {
      throw new DerError(`tag 0x${n.tag.toString(16)}, not 0x${tag.toString(16)}`);
    }
    return this.bytes.subarray(n.start, n.end);
  }
}

/** An OBJECT IDENTIFIER in dotted form. */
export function oidText(c: Uint8Array): string {
  if (c.length === 0) throw new DerError("empty OID");
  const parts: number[] = [];
  let v = 0;
  for (const byte of c) {
    v = v * 128 + (byte & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) throw new DerError("OID arc too large");
    if (!(byte & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}

/** A non-negative INTEGER's value (big ones as bigint). */
export function unsigned(c: Uint8Array): bigint {
  let v = 0n;
  for (const byte of c) v = v * 256n + BigInt(byte);
  return v;
}

/** Seconds since the epoch of a UTCTime (years 50-99 are 19xx) or GeneralizedTime, in UTC. */
export function derTime(c: Uint8Array, tag: number): number {
  const s = new TextDecoder().decode(c);
  const m = tag === TAG.UTC_TIME
    ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/.exec(s)
    : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.\d+)?Z$/.exec(s);
  if (!m) throw new DerError(`bad time ${s}`);
  let year = Number(m[1]);
  if (tag === TAG.UTC_TIME) year += year < 50 ? 2000 : 1900;
  return Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)) / 1000;
}
