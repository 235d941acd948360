// Mutating what a QUIC client Initial carries (CRYPTO frames, the ClientHello inside) needs the
// packet opened and sealed again: Initial keys come from the connection id (RFC 9001 5.2), so a
// mutant whose plaintext changed still authenticates and reaches the ClientHello parser.
import { createCipheriv } from "node:crypto";
import { decryptInitial, type InitialKeys, initialKeys, longPackets } from "../../../src/app/quic/crypto.ts";

/**
 * Opens the first client Initial of datagram D, lets CHANGE edit its plaintext in place (same
 * length), and writes it back sealed with the same keys and packet number. False when D has no
 * Initial these keys open.
 */
export function resealInitial(d: Uint8Array, change: (plain: Uint8Array) => void): boolean {
  const p = longPackets(d).find((x) => x.initial);
  const keys = p && initialKeys(p.version, p.dcid, "client");
  const plain = p && keys && decryptInitial(d, p, keys);
  if (!p || !keys || !plain) return false;
  const mask = headerMask(d, p.pnOffset, keys);
  const first = d[p.start] ^ (mask[0] & 0x0f);
  const pnLen = (first & 0x03) + 1;
  const header = d.slice(p.start, p.pnOffset + pnLen);
  header[0] = first;
  const nonce = keys.iv.slice();
  for (let i = 0; i < pnLen; i++) {
    header[p.pnOffset - p.start + i] ^= mask[1 + i];
    nonce[12 - pnLen + i] ^= header[p.pnOffset - p.start + i];
  }
  change(plain);
  const gcm = createCipheriv("aes-128-gcm", keys.key, nonce);
  gcm.setAAD(header);
  const sealed = new Uint8Array([...gcm.update(plain), ...gcm.final(), ...gcm.getAuthTag()]);
  d.set(header, p.start);
  d.set(sealed, p.pnOffset + pnLen);
  // Header protection again, with the mask of the new ciphertext's sample.
  const newMask = headerMask(d, p.pnOffset, keys);
  d[p.start] ^= newMask[0] & 0x0f;
  for (let i = 0; i < pnLen; i++) d[p.pnOffset + i] ^= newMask[1 + i];
  return true;
}

function headerMask(d: Uint8Array, pnOffset: number, keys: InitialKeys): Uint8Array {
  const ecb = createCipheriv("aes-128-ecb", keys.hp, null).setAutoPadding(false);
  return new Uint8Array(ecb.update(d.subarray(pnOffset + 4, pnOffset + 20)));
}
