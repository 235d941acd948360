// QUIC Initial packet protection (RFC 9001 section 5; RFC 9369 for v2): keys derived from the
// client's destination connection id with HKDF-SHA256, header protection with AES-128-ECB,
// payload with AES-128-GCM. Anyone on the path can do this; it is how the ClientHello is read.
import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";

export const QUIC_V1 = 0x00000001;
export const QUIC_V2 = 0x6b3343cf;

interface VersionParams {
  salt: string;
  /** Label prefix for key, iv and hp ("quic" or "quicv2"). */
  prefix: string;
  /** Long-header packet type of an Initial. */
  initialType: number;
}

const VERSIONS = new Map<number, VersionParams>([
  [QUIC_V1, { salt: "38762cf7f55934b34d179ae6a4c80cadccbb7f0a", prefix: "quic", initialType: 0 }],
  [QUIC_V2, { salt: "0dede3def700a6db819381be6e269dcbf9bd2ed9", prefix: "quicv2", initialType: 1 }],
]);

export interface InitialKeys {
  key: Uint8Array;
  iv: Uint8Array;
  hp: Uint8Array;
}

const hmac = (key: Uint8Array, data: Uint8Array) =>
  new Uint8Array(createHmac("sha256", key).update(data).digest());

export function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return hmac(salt, ikm);
}

/** HKDF-Expand-Label of TLS 1.3 (RFC 8446 7.1) with an empty context. */
export function hkdfExpandLabel(secret: Uint8Array, label: string, length: number): Uint8Array {
  const full = new TextEncoder().encode(`tls13 ${label}`);
  const info = new Uint8Array([length >> 8, length & 0xff, full.length, ...full, 0]);
  const out = new Uint8Array(length);
  let block = new Uint8Array(0);
  for (let i = 1, at = 0; at < length; i++) {
    block = hmac(secret, new Uint8Array([...block, ...info, i]));
    out.set(block.subarray(0, length - at), at);
    at += block.length;
  }
  return out;
}

const fromHex = (h: string) => new Uint8Array(h.match(/../g)!.map((b) => parseInt(b, 16)));

/** The Initial secrets of one side, or null for a version we do not know. */
export function initialSecret(
  version: number,
  dcid: Uint8Array,
  side: "client" | "server",
): Uint8Array | null {
  const v = VERSIONS.get(version);
  if (!v) return null;
  return hkdfExpandLabel(hkdfExtract(fromHex(v.salt), dcid), `${side} in`, 32);
}

export function initialKeys(
  version: number,
  dcid: Uint8Array,
  side: "client" | "server" = "client",
): InitialKeys | null {
  const secret = initialSecret(version, dcid, side);
  const v = VERSIONS.get(version);
  if (!secret || !v) return null;
  return {
    key: hkdfExpandLabel(secret, `${v.prefix} key`, 16),
    iv: hkdfExpandLabel(secret, `${v.prefix} iv`, 12),
    hp: hkdfExpandLabel(secret, `${v.prefix} hp`, 16),
  };
}

/** A variable-length integer (RFC 9000 16) at `off`: [value, size], or null past the end. */
export function varint(d: Uint8Array, off: number): [number, number] | null {
  if (off >= d.length) return null;
  const n = 1 << (d[off] >> 6);
  if (off + n > d.length) return null;
  let v = d[off] & 0x3f;
  for (let i = 1; i < n; i++) v = v * 256 + d[off + i];
  return [v, n];
}

/** A long-header packet inside a datagram. */
export interface LongPacket {
  version: number;
  initial: boolean;
  dcid: Uint8Array;
  /** Offsets in the datagram: the packet, its packet number field and its end. */
  start: number;
  pnOffset: number;
  end: number;
}

/**
 * The long-header packets a datagram coalesces, up to the first it cannot frame (a short header,
 * an unknown version, a Retry, lengths that do not fit).
 */
export function longPackets(d: Uint8Array): LongPacket[] {
  const out: LongPacket[] = [];
  let start = 0;
  while (start + 7 <= d.length && (d[start] & 0xc0) === 0xc0) {
    const dv = new DataView(d.buffer, d.byteOffset + start);
    const version = dv.getUint32(1);
    const v = VERSIONS.get(version);
    const type = (d[start] >> 4) & 3;
    const dcidLen = d[start + 5];
    let off = start + 6 + dcidLen;
    if (!v || dcidLen > 20 || off >= d.length || d[off] > 20) break;
    const dcid = d.subarray(start + 6, off);
    off += 1 + d[off];
    const initial = type === v.initialType;
    // Retry (type 0 in v2, 3 in v1) has no length: nothing follows it that we read.
    if (type === (v.initialType + 3) % 4) break;
    if (initial) {
      const token = varint(d, off);
      if (!token) break;
      off += token[1] + token[0];
    }
    const len = varint(d, off);
    if (!len || off + len[1] + len[0] > d.length) break;
    const pnOffset = off + len[1];
    out.push({ version, initial, dcid, start, pnOffset, end: pnOffset + len[0] });
    start = pnOffset + len[0];
  }
  return out;
}

/**
 * Removes header protection and decrypts one Initial packet; its frames, or null when the keys
 * do not authenticate it (another connection's keys, or a damaged packet).
 */
export function decryptInitial(d: Uint8Array, p: LongPacket, keys: InitialKeys): Uint8Array | null {
  const sampleAt = p.pnOffset + 4;
  if (sampleAt + 16 > p.end) return null;
  const ecb = createCipheriv("aes-128-ecb", keys.hp, null).setAutoPadding(false);
  const mask = new Uint8Array(ecb.update(d.subarray(sampleAt, sampleAt + 16)));
  const header = d.slice(p.start, p.pnOffset + 4);
  header[0] ^= mask[0] & 0x0f;
  const pnLen = (header[0] & 0x03) + 1;
  const pnAt = p.pnOffset - p.start;
  const nonce = keys.iv.slice();
  for (let i = 0; i < pnLen; i++) {
    header[pnAt + i] ^= mask[1 + i];
    nonce[12 - pnLen + i] ^= header[pnAt + i];
  }
  const body = d.subarray(p.pnOffset + pnLen, p.end);
  if (body.length < 16) return null;
  try {
    const gcm = createDecipheriv("aes-128-gcm", keys.key, nonce);
    gcm.setAAD(header.subarray(0, pnAt + pnLen));
    gcm.setAuthTag(body.subarray(body.length - 16));
    const plain = new Uint8Array(gcm.update(body.subarray(0, body.length - 16)));
    // GCM gives everything from update; final only checks the tag (and throws when it is wrong).
    gcm.final();
    return plain;
  } catch {
    return null;
  }
}

/** The CRYPTO frames of an Initial's payload, or null when a frame cannot be read. */
export function cryptoFrames(payload: Uint8Array): { offset: number; data: Uint8Array }[] | null {
  const out: { offset: number; data: Uint8Array }[] = [];
  let pos = 0;
  const read = (at: number): number | null => {
    const v = varint(payload, at);
    if (!v) return null;
    pos = at + v[1];
    return v[0];
  };
  while (pos < payload.length) {
    const type = payload[pos++];
    if (type === 0x00 || type === 0x01) continue; // PADDING, PING
    if (type === 0x02 || type === 0x03) {
      // ACK: largest, delay, range count, first range, then pairs; ECN counts with 0x03.
      const fixed = [read(pos), read(pos), read(pos)];
      const ranges = fixed[2];
      if (fixed.includes(null) || read(pos) === null || ranges === null) return null;
      for (let i = 0; i < 2 * ranges + (type === 0x03 ? 3 : 0); i++) if (read(pos) === null) return null;
      continue;
    }
    if (type === 0x06) {
      const offset = read(pos);
      const len = offset === null ? null : read(pos);
      if (offset === null || len === null || pos + len > payload.length) return null;
      out.push({ offset, data: payload.subarray(pos, pos + len) });
      pos += len;
      continue;
    }
    // CONNECTION_CLOSE or a frame an Initial may not carry: the rest is not read.
    return type === 0x1c ? out : null;
  }
  return out;
}
