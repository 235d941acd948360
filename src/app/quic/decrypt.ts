// QUIC Initial packets (AK_QUIC_INITIAL): the client's Initials are decrypted (crypto.ts), their
// CRYPTO frames put back in order, and the ClientHello handed back to the decoder, which sends it
// out as a TLS event (F_TLS_QUIC = 1) through the normal path.
import * as abi from "../../decoder/abi.ts";
import type { AppEvent } from "../../decoder/app_event.ts";
import type { Decoder } from "../../decoder/decoder.ts";
import { BoundedTable } from "../../base/bounded_table.ts";
import { cryptoFrames, decryptInitial, type InitialKeys, initialKeys, longPackets } from "./crypto.ts";

/** Connections whose ClientHello is being put together at once (the oldest is dropped). */
const MAX_PENDING = 4096;
/** CRYPTO bytes kept per connection: a ClientHello longer than this is not read. */
const MAX_CRYPTO = 64 * 1024;
/** Flows remembered as done, so that resent Initials do not start over. */
const MAX_DONE = 65536;

interface Pending {
  keys: InitialKeys;
  /** CRYPTO frame data by offset. */
  chunks: Map<number, Uint8Array>;
  bytes: number;
}

/** Decrypts client Initials and hands their ClientHello back to the decoder. */
export class QuicDecryptor {
  readonly #pending = new BoundedTable<Pending, number>("quic_pending", MAX_PENDING);
  readonly #done = new BoundedTable<true, number>("quic_done", MAX_DONE);

  handle(e: AppEvent, decoder: Decoder): void {
    const id = e.flowId;
    const d = e.bytes(abi.F_QUIC_PACKET);
    if (!d || this.#done.peek(id)) return;
    for (const p of longPackets(d)) {
      if (!p.initial) continue;
      // Keys come from the client's first Initial; after a Retry (or on a new connection over
      // the same ports) they come from the packet's own destination id.
      let s = this.#pending.peek(id);
      let plain = s && decryptInitial(d, p, s.keys);
      if (!s || !plain) {
        // New keys: a new connection attempt, whose CRYPTO stream starts over.
        const keys = initialKeys(p.version, p.dcid);
        plain = keys && decryptInitial(d, p, keys);
        if (!keys || !plain) continue;
        s = this.#start(id, keys);
      }
      for (const f of cryptoFrames(plain) ?? []) add(s, f.offset, f.data);
      const hello = helloOf(s);
      if (hello === undefined) continue;
      this.#pending.delete(id);
      this.#done.set(id, true);
      if (hello) decoder.quicClientHello(e, hello);
      return;
    }
  }

  /** A fresh CRYPTO stream for `id`, the most recent (the least recent goes when full). */
  #start(id: number, keys: InitialKeys): Pending {
    const s = { keys, chunks: new Map(), bytes: 0 };
    this.#pending.set(id, s);
    return s;
  }
}

/** Keeps a CRYPTO frame's data (the longest one at each offset), within MAX_CRYPTO. */
function add(s: Pending, offset: number, data: Uint8Array): void {
  const kept = data.subarray(0, Math.max(0, Math.min(data.length, MAX_CRYPTO - offset)));
  const old = s.chunks.get(offset)?.length ?? 0;
  if (kept.length <= old || s.bytes - old + kept.length > MAX_CRYPTO) return;
  s.chunks.set(offset, kept.slice());
  s.bytes += kept.length - old;
}

/**
 * The first handshake message once its bytes are all in; null when it cannot be a ClientHello
 * we read (give up), undefined while bytes are missing.
 */
function helloOf(s: Pending): Uint8Array | null | undefined {
  const chunks = [...s.chunks].sort((a, b) => a[0] - b[0]);
  let end = 0;
  for (const [offset, data] of chunks) {
    if (offset > end) break;
    end = Math.max(end, offset + data.length);
  }
  const buf = new Uint8Array(end);
  for (const [offset, data] of chunks) if (offset < end) buf.set(data, offset);
  if (end >= 1 && buf[0] !== 1) return null;
  if (end < 4) return undefined;
  const len = 4 + ((buf[1] << 16) | (buf[2] << 8) | buf[3]);
  if (len > MAX_CRYPTO) return null;
  return end >= len ? buf.slice(0, len) : undefined;
}
