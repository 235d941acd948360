// Writes a capture as pcapng (one section, one interface, nanosecond timestamps) that tshark and
// Wireshark read, with the owning process of each packet in its comment (opt_comment, written by
// proc/comment.ts), as ptcpdump and rustnet do, and in Apple's process information blocks, as
// macOS's tcpdump writes them; `wiresight read` of the file shows them again.
import type { PacketRecord } from "../decoder/records.ts";
import { processComment } from "../proc/comment.ts";
import type { ProcessNote } from "../proc/process.ts";
import { Records } from "../source/framing.ts";
import type { PacketContext, SessionSink } from "./sink.ts";

const enc = new TextEncoder();

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Apple's process information block and the EPB option naming a packet's one (its index in the
 * section), from Apple's libpcap pcap/pcap-ng.h (apple-open-source/macos@7331659
 * libpcap/libpcap/pcap/pcap-ng.h: PCAPNG_BT_PIB, PCAPNG_PIB_NAME 2,
 * PCAPNG_EPB_PIB_INDEX 0x8001).
 */
const PCAPNG_BT_PIB = 0x80000001;
const PIB_NAME = 2;
const EPB_PIB_INDEX = 0x8001;

/**
 * Nanoseconds since 1970 as pcapng's two 32-bit words, high first. They pass 2^53, so the sum is
 * made of parts each exact in a double: sec = hi * 2^16 + lo, and hi * 1e9 < 2^46.
 */
function writeNanoseconds(v: DataView, at: number, sec: number, nsec: number): void {
  const hi = Math.floor(sec / 65536), lo = sec % 65536;
  const a = hi * 1e9;
  // a * 2^16 = floor(a / 2^16) * 2^32 + (a mod 2^16) * 2^16
  const low = (a % 65536) * 65536 + lo * 1e9 + nsec;
  v.setUint32(at, Math.floor(a / 65536) + Math.floor(low / 4294967296), true);
  v.setUint32(at + 4, low % 4294967296, true);
}

/** Blocks gather here and go to the file in one write when this much is waiting. */
const FLUSH_BYTES = 1 << 20;

export class PcapngWriter {
  /** Blocks not yet written, back to back (one write per flush, not one per packet). */
  #buf = new Uint8Array(FLUSH_BYTES + 64 * 1024);
  #view = new DataView(this.#buf.buffer);
  #used = 0;
  readonly #file: Deno.FsFile;
  packets = 0;
  /** Process information blocks written so far (the next one's index). */
  processes = 0;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  static async create(
    path: string,
    linktype: number,
    snaplen: number,
    ifname: string,
  ): Promise<PcapngWriter> {
    const w = new PcapngWriter(await Deno.open(path, { write: true, create: true, truncate: true }));
    w.#block(0x0a0d0d0a, (v, b) => {
      v.setUint32(0, 0x1a2b3c4d, true);
      v.setUint16(4, 1, true);
      v.setUint16(6, 0, true);
      v.setBigInt64(8, -1n, true);
      return 16 + w.#options(b, 16, [[4, enc.encode("wiresight")]]);
    }, 64);
    w.#block(1, (v, b) => {
      v.setUint16(0, linktype, true);
      v.setUint32(4, snaplen, true);
      // if_name, and if_tsresol 9: timestamps in nanoseconds.
      return 8 + w.#options(b, 8, [[2, enc.encode(ifname)], [9, new Uint8Array([9])]]);
    }, 64 + ifname.length);
    return w;
  }

  /** Writes options at `off` of `b` (code, length, padded value), then opt_endofopt. */
  #options(b: Uint8Array, off: number, opts: [number, Uint8Array][]): number {
    const v = new DataView(b.buffer, b.byteOffset);
    let at = off;
    for (const [code, value] of opts) {
      v.setUint16(at, code, true);
      v.setUint16(at + 2, value.length, true);
      b.set(value, at + 4);
      at += 4 + pad4(value.length);
    }
    return at + 4 - off;
  }

  /** One block: `fill` writes the body and returns its length; lengths and trailer added here. */
  #block(type: number, fill: (v: DataView, b: Uint8Array) => number, maxBody: number): void {
    const room = 12 + pad4(maxBody);
    if (this.#used + room > this.#buf.length) this.flush();
    if (room > this.#buf.length) {
      this.#buf = new Uint8Array(room);
      this.#view = new DataView(this.#buf.buffer);
    }
    const at = this.#used;
    const body = this.#buf.subarray(at + 8, at + room);
    // The buffer is reused: reserved fields, padding and opt_endofopt must read as zeros.
    body.fill(0);
    const total = 12 + pad4(fill(new DataView(body.buffer, body.byteOffset, body.length), body));
    const v = this.#view;
    v.setUint32(at, type, true);
    v.setUint32(at + 4, total, true);
    v.setUint32(at + total - 4, total, true);
    this.#used += total;
    if (this.#used >= FLUSH_BYTES) this.flush();
  }

  /**
   * A process information block (pid and name); returns its index for `packet`. The path option
   * (PCAPNG_PIB_PATH 3) is left out: Wireshark's reader refuses options it does not know in
   * these blocks (wiretap's Darwin support), and the packet comment carries the path anyway.
   */
  process(pid: number, name: string): number {
    const opts: [number, Uint8Array][] = [[PIB_NAME, enc.encode(name)]];
    const room = opts.reduce((n, [, v]) => n + 4 + pad4(v.length), 8);
    this.#block(PCAPNG_BT_PIB, (v, b) => {
      v.setUint32(0, pid >>> 0, true);
      return 4 + this.#options(b, 4, opts);
    }, room);
    return this.processes++;
  }

  /**
   * An enhanced packet block; the time is whole seconds and nanoseconds. `comment` is text or its
   * UTF-8 bytes; `process` is the index of the packet's process information block. Written in
   * place, field by field: this runs for every packet of `capture --write`.
   */
  packet(
    sec: number,
    nsec: number,
    len: number,
    data: Uint8Array,
    comment?: string | Uint8Array,
    process?: number,
  ): void {
    const note = typeof comment === "string" ? enc.encode(comment) : comment;
    const options = (note?.length ? 4 + pad4(note.length) : 0) + (process === undefined ? 0 : 8);
    // Header, 20 bytes of fields, the padded data, options and opt_endofopt (if any), trailer.
    const total = 8 + 20 + pad4(data.length) + (options ? options + 4 : 0) + 4;
    if (this.#used + total > this.#buf.length) this.flush();
    if (total > this.#buf.length) {
      this.#buf = new Uint8Array(total);
      this.#view = new DataView(this.#buf.buffer);
    }
    const b = this.#buf, v = this.#view, at = this.#used;
    v.setUint32(at, 6, true);
    v.setUint32(at + 4, total, true);
    v.setUint32(at + 8, 0, true);
    writeNanoseconds(v, at + 12, sec, nsec);
    v.setUint32(at + 20, data.length, true);
    v.setUint32(at + 24, len, true);
    b.set(data, at + 28);
    let o = at + 28 + data.length;
    // The buffer is reused: padding must read as zeros.
    for (const end = at + 28 + pad4(data.length); o < end;) b[o++] = 0;
    if (note?.length) {
      v.setUint16(o, 1, true);
      v.setUint16(o + 2, note.length, true);
      b.set(note, o + 4);
      for (let i = o + 4 + note.length, end = o + 4 + pad4(note.length); i < end;) b[i++] = 0;
      o += 4 + pad4(note.length);
    }
    if (process !== undefined) {
      v.setUint16(o, EPB_PIB_INDEX, true);
      v.setUint16(o + 2, 4, true);
      v.setUint32(o + 4, process, true);
      o += 8;
    }
    if (options) {
      v.setUint32(o, 0, true);
      o += 4;
    }
    v.setUint32(o, total, true);
    this.#used = o + 4;
    this.packets++;
    if (this.#used >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    const bytes = this.#buf.subarray(0, this.#used);
    for (let off = 0; off < bytes.length;) off += this.#file.writeSync(bytes.subarray(off));
    this.#used = 0;
  }

  close(): void {
    this.flush();
    this.#file.close();
  }
}

/**
 * `capture --write`: the packets the decoder showed (those that passed every filter), each with
 * its process in its comment, written a batch at a time from the live records.
 */
export class CaptureWriter implements SessionSink {
  /** Frame numbers count every record the decoder was given, as its own do. */
  #frame = 0;
  /** What the decoder showed of the current batch, by frame number after the last batch's. */
  readonly #kept: (PacketContext | undefined)[] = [];
  /** The process information block written for each process ("pid name"). */
  readonly #blocks = new Map<string, number>();
  readonly #comments = new CommentCache();

  constructor(private readonly writer: PcapngWriter, private readonly nanoseconds: boolean) {}

  packet(p: PacketRecord, who: PacketContext): void {
    this.#kept[p.frame - this.#frame - 1] = who;
  }

  batch(records: Uint8Array): void {
    const kept = this.#kept;
    let i = 0;
    for (const r = new Records(records); r.next(); i++) {
      const who = kept[i];
      if (!who) continue;
      const { owner, peer } = who;
      this.writer.packet(
        r.tsSec,
        this.nanoseconds ? r.tsFrac : r.tsFrac * 1000,
        r.wirelen,
        r.data(),
        owner ? this.#comments.get(owner.process, owner.sent, peer) : undefined,
        owner ? this.#block(owner.process) : undefined,
      );
    }
    this.#frame += i;
    kept.length = 0;
  }

  /** The index of the process's information block, written before its first packet. */
  #block(p: ProcessNote): number {
    const key = `${p.pid} ${p.name}`;
    let index = this.#blocks.get(key);
    if (index === undefined) {
      index = this.writer.process(p.pid, p.name);
      this.#blocks.set(key, index);
    }
    return index;
  }

  flush(): void {
    this.writer.flush();
  }

  close(): void {
    this.writer.close();
  }
}

/**
 * Each process's comment as UTF-8, made once rather than per packet. Attribution fills in a
 * process's user and executable later, so an entry holds while they are what it was made from.
 */
class CommentCache {
  readonly #notes = new WeakMap<ProcessNote, Map<ProcessNote | null, CachedComment[]>>();

  get(p: ProcessNote, sent: boolean, peer: ProcessNote | null): Uint8Array {
    let byPeer = this.#notes.get(p);
    if (!byPeer) this.#notes.set(p, byPeer = new Map());
    let pair = byPeer.get(peer);
    if (!pair) byPeer.set(peer, pair = []);
    const c = pair[sent ? 1 : 0];
    if (c && c.exe === p.exe && c.user === p.user && c.peerExe === peer?.exe && c.peerUser === peer?.user) {
      return c.bytes;
    }
    const bytes = enc.encode(processComment(p, sent, peer));
    pair[sent ? 1 : 0] = { exe: p.exe, user: p.user, peerExe: peer?.exe, peerUser: peer?.user, bytes };
    return bytes;
  }
}

interface CachedComment {
  exe: ProcessNote["exe"];
  user: ProcessNote["user"];
  peerExe: ProcessNote["exe"] | undefined;
  peerUser: ProcessNote["user"] | undefined;
  bytes: Uint8Array;
}
