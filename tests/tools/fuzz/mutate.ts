// Seeded mutants of real captures. Input INDEX of seed SEED is always the same bytes: a corpus
// capture picked by the generator (mostly a window of a few of its packets), then 1-4 mutations, each either on the raw bytes (bit and byte
// flips, truncation, splicing another capture in, lying record and block lengths) or on one
// packet that knows its layers (IPv4/IPv6 headers and extension headers, TCP options, UDP length,
// DNS, TLS, QUIC and HTTP fields, QUIC Initials opened and sealed again, packet counts), written
// back with consistent framing.
import { Seeded } from "../../helpers/random.ts";
import { concatBytes } from "../../helpers/util.ts";
import {
  type Capture,
  type Layers,
  layersOf,
  type Packet,
  packetOffsets,
  parseCapture,
  serialise,
} from "./capture_model.ts";
import { resealInitial } from "./quic_reseal.ts";

export interface CorpusEntry {
  name: string;
  bytes: Uint8Array;
}

export interface Mutant {
  bytes: Uint8Array;
  /** The corpus capture it came from (and which of its packets, for a window). */
  source: string;
  /** The mutations applied, in order (for the failure's notes). */
  steps: string[];
}

/** Inputs stay small enough that one takes milliseconds; a capture is cut to its first packets. */
const MAX_PACKETS = 400;
const MAX_BYTES = 4 << 20;

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_16 = [0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff, 1 << 20, (1 << 24) + 4];

type Rand = Seeded;

function pick<T>(r: Rand, xs: readonly T[]): T {
  return xs[r.int(xs.length)];
}

function setU16(d: Uint8Array, at: number, v: number): void {
  if (at + 2 > d.length) return;
  d[at] = v >> 8;
  d[at + 1] = v;
}

function setU32(d: Uint8Array, at: number, v: number, little = false): void {
  if (at + 4 > d.length) return;
  new DataView(d.buffer, d.byteOffset, d.byteLength).setUint32(at, v >>> 0, little);
}

function splice(d: Uint8Array, at: number, remove: number, insert: Uint8Array | number[]): Uint8Array {
  at = Math.min(at, d.length);
  return concatBytes([
    d.subarray(0, at),
    Uint8Array.from(insert),
    d.subarray(Math.min(d.length, at + remove)),
  ]);
}

const ascii = (s: string) => new TextEncoder().encode(s);

// ---- mutations of the raw bytes -------------------------------------------------------------

type RawMutation = (r: Rand, b: Uint8Array, corpus: CorpusEntry[]) => Uint8Array;

const RAW: Record<string, RawMutation> = {
  bitflip(r, b) {
    const m = b.slice();
    for (let k = 1 + r.int(8); k > 0 && m.length; k--) m[r.int(m.length)] ^= 1 << r.int(8);
    return m;
  },
  byteset(r, b) {
    const m = b.slice();
    for (let k = 1 + r.int(8); k > 0 && m.length; k--) {
      m[r.int(m.length)] = r.int(2) ? pick(r, INTERESTING_8) : r.int(256);
    }
    return m;
  },
  truncate(r, b) {
    return b.slice(0, r.int(b.length + 1));
  },
  splice(r, b, corpus) {
    const other = pick(r, corpus).bytes;
    const from = r.int(other.length), len = r.int(Math.min(4096, other.length - from) + 1);
    return splice(b, r.int(b.length + 1), r.int(2) ? len : 0, other.subarray(from, from + len));
  },
  insert_random(r, b) {
    const junk = Array.from({ length: 1 + r.int(64) }, () => r.int(256));
    return splice(b, r.int(b.length + 1), 0, junk);
  },
  /** A record or block length (pcap caplen/len, EPB length/interface/caplen/len) made to lie. */
  record_length(r, b) {
    const c = parseCapture(b);
    const starts = c ? packetOffsets(c) : [];
    if (!c || !starts.length) return b;
    const [at, size] = pick(r, starts);
    const m = b.slice();
    const field = at + (c.pcapng ? pick(r, [4, 8, 20, 24]) : pick(r, [8, 12]));
    setU32(m, field, r.int(2) ? pick(r, INTERESTING_32) : size + pick(r, [-1, 1, 4, -4]), c.little);
    return m;
  },
  /** A 32-bit value anywhere (a length in a header this walk does not know) made extreme. */
  length32(r, b) {
    const m = b.slice();
    const at = r.int(Math.max(1, m.length - 3)) & ~3;
    setU32(m, at, pick(r, INTERESTING_32), r.int(2) === 0);
    return m;
  },
};

// ---- mutations that know the framing --------------------------------------------------------

/** OTHERS: the corpus captures parsed once (to splice from; their packets are copied, never changed). */
type CaptureMutation = (r: Rand, c: Capture, others: Capture[]) => void;

const packets = (c: Capture) => c.items.flatMap((i) => ("packet" in i ? [i.packet] : []));

const copyPacket = (p: Packet): Packet => ({
  ...p,
  meta: p.meta.slice(),
  data: p.data.slice(),
  options: p.options.slice(),
});

const FRAMING: Record<string, CaptureMutation> = {
  /** The file or section header: version, snap length, link type, byte-order mark, section length. */
  file_header(r, c) {
    if (!c.pcapng) {
      const at = pick(r, [4, 6, 16, 20, 22]);
      at === 20
        ? setU32(c.head, 20, pick(r, [0, 1, 101, 113, 147, 228, 229, 276, 0xffff]), c.little)
        : setU32(c.head, at & ~3, pick(r, INTERESTING_32), c.little);
      return;
    }
    const raws = c.items.filter((i): i is { raw: Uint8Array } => "raw" in i);
    if (!raws.length) return;
    const block = pick(r, raws).raw;
    setU32(block, 8 + 4 * r.int(Math.max(1, (block.length - 12) / 4)), pick(r, INTERESTING_32), c.little);
  },
  /** pcapng option abuse: an EPB gets options of odd, zero or huge lengths. */
  epb_options(r, c) {
    const ps = packets(c);
    if (!c.pcapng || !ps.length) return;
    const code = pick(r, [0, 1, 2, 3, 4, 0x8000, 0xffff]);
    const len = pick(r, [0, 1, 3, 4, 0xfffc, 0xffff]);
    const body = Array.from({ length: Math.min(len, 64) + 3 & ~3 }, () => r.int(256));
    const opt = new Uint8Array(4 + body.length);
    new DataView(opt.buffer).setUint16(0, code, c.little);
    new DataView(opt.buffer).setUint16(2, len, c.little);
    opt.set(body, 4);
    pick(r, ps).options = opt;
  },
  /** Some packets swapped. */
  reorder(r, c) {
    for (let k = c.items.length - 1; k > 0; k--) {
      if (r.int(4)) continue;
      const j = r.int(k + 1);
      [c.items[k], c.items[j]] = [c.items[j], c.items[k]];
    }
  },
  /** Packets of another capture (same format) spliced in between. */
  splice_packets(r, c, others) {
    const other = pick(r, others);
    if (other.pcapng !== c.pcapng || other.little !== c.little) return;
    const theirs = packets(other);
    const from = r.int(theirs.length + 1);
    const copies = theirs.slice(from, from + 1 + r.int(20)).map((p) => ({ packet: copyPacket(p) }));
    c.items.splice(r.int(c.items.length + 1), 0, ...copies);
  },
};

/** Count abuse (hundreds of packets or flows): rarer than the others, each makes an input big. */
const COUNT: Record<string, CaptureMutation> = {
  /** One packet repeated hundreds of times. */
  repeat_packet(r, c) {
    const i = c.items.findIndex((x) => "packet" in x);
    if (i < 0) return;
    const item = c.items[r.int(c.items.length)];
    if (!("packet" in item)) return;
    c.items.splice(i, 0, ...Array.from({ length: 50 + r.int(400) }, () => item));
  },
  /** Many flows: a packet repeated with a fresh address or port each time. */
  many_flows(r, c) {
    const ps = packets(c);
    if (!ps.length) return;
    const p = pick(r, ps);
    const l = layersOf(p.linktype, p.data);
    if (l.l4 < 0) return;
    const copies = Array.from({ length: 100 + r.int(1000) }, (_, k) => {
      const d = p.data.slice();
      setU16(d, l.l4, 1024 + k);
      if (l.ipVersion === 4) setU16(d, l.ip + 12, k);
      return { packet: { ...p, data: d } };
    });
    c.items.push(...copies);
  },
};

// ---- mutations of one packet, by layer ------------------------------------------------------

type PacketMutation = (r: Rand, p: Packet, l: Layers) => boolean;

const inRange = (at: number, p: Packet) => at >= 0 && at < p.data.length;

const PACKET: Record<string, PacketMutation> = {
  ipv4_header(r, p, l) {
    if (l.ipVersion !== 4) return false;
    const d = p.data, ip = l.ip;
    switch (r.int(5)) {
      case 0:
        d[ip] = 0x40 | r.int(16); // header length 0-60
        break;
      case 1:
        setU16(d, ip + 2, pick(r, [0, 1, 20, 21, 0xffff, d.length - ip + 1]));
        break;
      case 2:
        setU16(d, ip + 6, (r.int(2) ? 0x2000 : 0) | r.int(0x2000)); // more fragments, offset
        break;
      case 3:
        d[ip + 9] = pick(r, [0, 1, 4, 6, 17, 41, 47, 50, 58, 132, 255]);
        break;
      default: // options with lying lengths
        p.data = splice(d, ip + 20, 0, [pick(r, [7, 68, 130, 148]), pick(r, [0, 1, 2, 40, 255]), 4, 0]);
        p.data[ip] = 0x40 | Math.min(15, (d[ip] & 0x0f) + 1);
    }
    return true;
  },
  ipv6_header(r, p, l) {
    if (l.ipVersion !== 6) return false;
    const d = p.data, ip = l.ip;
    if (r.int(2)) {
      setU16(d, ip + 4, pick(r, INTERESTING_16));
      return true;
    }
    // An extension header inserted before the transport: hop-by-hop (jumbo payload), routing,
    // fragment or destination options, with its length byte lying or not.
    const next = d[ip + 6];
    const kind = pick(r, [0, 43, 44, 60]);
    const ext = kind === 0
      ? [next, 0, 0xc2, 4, ...[0, 1, 0, 0]] // jumbo payload option
      : kind === 44
      ? [next, 0, r.int(256), r.int(256), 0, 0, 0, r.int(256)]
      : [next, pick(r, [0, 0, 1, 255]), r.int(256), r.int(256), 0, 0, 0, 0];
    p.data = splice(d, ip + 40, 0, ext);
    p.data[ip + 6] = kind;
    setU16(p.data, ip + 4, ((d[ip + 4] << 8) | d[ip + 5]) + ext.length);
    return true;
  },
  tcp_options(r, p, l) {
    if (l.proto !== 6 || !inRange(l.l4 + 13, p)) return false;
    const d = p.data, at = l.l4;
    if (r.int(3) === 0) {
      d[at + 12] = (r.int(16) << 4) | (d[at + 12] & 0x0f); // data offset 0-60
      return true;
    }
    const kind = pick(r, [0, 1, 2, 3, 4, 5, 8, 28, 30, 34, 254, 255]);
    const len = pick(r, [0, 1, 2, 3, 10, 18, 40, 255]);
    const opt = [kind, len, ...Array.from({ length: 2 + r.int(10) }, () => r.int(256))];
    while (opt.length % 4) opt.push(1);
    const options = Math.max(0, (d[at + 12] >> 4) * 4 - 20);
    const words = Math.min(15, 5 + (options + opt.length) / 4);
    p.data = splice(d, at + 20, 0, opt);
    p.data[at + 12] = (words << 4) | (d[at + 12] & 0x0f);
    return true;
  },
  tcp_sequence(r, p, l) {
    if (l.proto !== 6 || !inRange(l.l4 + 13, p)) return false;
    setU32(p.data, l.l4 + 4 + 4 * r.int(2), r.int(2) ? pick(r, INTERESTING_32) : r.int(0x100000000));
    if (r.int(2)) p.data[l.l4 + 13] = r.int(256); // any combination of flags
    return true;
  },
  udp_length(r, p, l) {
    if (l.proto !== 17 || !inRange(l.l4 + 7, p)) return false;
    setU16(p.data, l.l4 + 4, pick(r, [0, 1, 7, 8, 9, 0xffff, p.data.length - l.l4 + 1]));
    return true;
  },
  /** DNS: counts, label lengths and compression pointers (loops, forward, out of bounds), rdlength. */
  dns(r, p, l) {
    if (l.payload < 0 || ![53, 5353, 5355].some((port) => ports(p, l).includes(port))) return false;
    const at = l.payload + (l.proto === 6 ? 2 : 0);
    if (!inRange(at + 11, p)) return false;
    const d = p.data;
    switch (r.int(4)) {
      case 0:
        setU16(d, at + 4 + 2 * r.int(4), pick(r, [0, 1, 2, 0xff, 0xffff]));
        break;
      case 1: // a pointer at the first name, to itself, the header, past the end
        if (at + 13 < d.length) setU16(d, at + 12, 0xc000 | pick(r, [12, 0, 11, 0x3fff, d.length - at]));
        break;
      case 2: // a label length lying
        if (at + 12 < d.length) {
          d[at + 12 + r.int(Math.max(1, d.length - at - 12))] = pick(r, [63, 64, 0x80, 0xc0, 0xff]);
        }
        break;
      default: // a name of 200 labels
        p.data = splice(d, at + 12, 0, Array.from({ length: 200 }, () => [1, 0x61]).flat());
    }
    return true;
  },
  /** TLS records: record, handshake, session id, cipher suite, extension and SNI lengths. */
  tls(r, p, l) {
    if (l.proto !== 6 || l.payload < 0 || p.data[l.payload] !== 0x16 || p.data[l.payload + 1] !== 3) {
      return false;
    }
    const d = p.data, rec = l.payload;
    const fields = [rec + 3, rec + 6, rec + 43]; // record length, handshake length (low 16), session id length
    const sid = d[rec + 43] ?? 0;
    const suites = rec + 44 + sid;
    fields.push(suites);
    if (suites + 1 < d.length) {
      const comp = suites + 2 + ((d[suites] << 8) | d[suites + 1]);
      const exts = comp + 1 + (d[comp] ?? 0);
      fields.push(exts);
      // The extensions' own lengths, walked while they make sense.
      let at = exts + 2;
      for (let k = 0; k < 40 && at + 4 <= d.length; k++) {
        fields.push(at + 2);
        at += 4 + ((d[at + 2] << 8) | d[at + 3]);
      }
    }
    const f = pick(r, fields);
    if (f === rec + 43) d[f] = pick(r, INTERESTING_8);
    else {setU16(
        d,
        f,
        r.int(2) ? pick(r, INTERESTING_16) : ((d[f] << 8) | d[f + 1]) + pick(r, [-1, 1, 2, -2]),
      );}
    return true;
  },
  /** QUIC long headers: version, connection id lengths, token and packet length varints. */
  quic(r, p, l) {
    if (l.proto !== 17 || !inRange(l.payload + 6, p) || (p.data[l.payload] & 0x80) === 0) return false;
    const d = p.data, at = l.payload;
    switch (r.int(4)) {
      case 0:
        setU32(d, at + 1, pick(r, [0, 1, 0xff00001d, 0x6b3343cf, 0x1a2a3a4a, 0xffffffff]));
        break;
      case 1:
        d[at + 5] = pick(r, [0, 20, 21, 255]);
        break;
      case 2: { // the token length after the connection ids: a huge varint
        const scid = at + 6 + d[at + 5];
        const token = scid + 1 + (d[scid] ?? 0);
        if (token < d.length) d[token] = pick(r, [0x3f, 0x7f, 0xbf, 0xff]);
        break;
      }
      default:
        d[at] = (d[at] & 0xc0) | r.int(64); // packet type, reserved bits, packet number length
    }
    return true;
  },
  /** A client Initial opened, its CRYPTO frames and ClientHello changed, and sealed again. */
  quic_plaintext(r, p, l) {
    if (l.proto !== 17 || l.payload < 0 || l.payload >= p.data.length) return false;
    const datagram = p.data.subarray(l.payload);
    return resealInitial(datagram, (plain) => {
      for (let k = 1 + r.int(6); k > 0; k--) {
        // Mostly the first bytes: the frame headers and the ClientHello's lengths.
        const at = r.int(2) ? r.int(Math.min(64, plain.length)) : r.int(plain.length);
        plain[at] = r.int(2) ? pick(r, INTERESTING_8) : plain[at] ^ (1 << r.int(8));
      }
    });
  },
  /** HTTP: lying Content-Length, chunk sizes, huge and broken header lines, many headers. */
  http(r, p, l) {
    if (l.payload < 0 || l.payload >= p.data.length) return false;
    const d = p.data;
    const head = new TextDecoder("latin1").decode(d.subarray(l.payload, l.payload + 8));
    if (!/^(GET|POST|PUT|HEAD|DELETE|OPTIONS|HTTP\/)/.test(head)) return false;
    const lineEnd = d.indexOf(0x0a, l.payload) + 1 || d.length;
    const insert = pick(r, [
      () => ascii(`Content-Length: ${pick(r, ["-1", "99999999999999999999", "1e3", "0x10", ""])}\r\n`),
      () =>
        ascii(
          `Transfer-Encoding: chunked\r\n\r\n${pick(r, ["ffffffffffffffff", "-1", "zz", "8000000"])}\r\n`,
        ),
      () => ascii(`X-${"a".repeat(r.int(3) * 40000)}: ${"b".repeat(r.int(3000))}\r\n`),
      () => ascii(Array.from({ length: 500 }, (_, k) => `H${k}: v\r\n`).join("")),
      () => Uint8Array.from([0, 0x0d, 0x0d, 0x0a, 0xff, 0x3a, 0x0a]),
      () => ascii(`Host: ${"=".repeat(r.int(10))}${"\u00e9\ud800".repeat(r.int(5))}\r\n`),
    ])();
    p.data = splice(
      d,
      r.int(2) ? lineEnd : l.payload + r.int(d.length - l.payload),
      r.int(3) ? 0 : r.int(40),
      insert,
    );
    return true;
  },
  /** Any byte of the transport payload (application parsers' input). */
  payload_bytes(r, p, l) {
    if (l.payload < 0 || l.payload >= p.data.length) return false;
    for (let k = 1 + r.int(6); k > 0; k--) {
      const at = l.payload + r.int(p.data.length - l.payload);
      p.data[at] = r.int(2) ? pick(r, INTERESTING_8) : p.data[at] ^ (1 << r.int(8));
    }
    return true;
  },
  /** The packet cut inside its headers or payload (caplen shorter than the headers say). */
  cut_packet(r, p) {
    p.data = p.data.slice(0, r.int(p.data.length + 1));
    return true;
  },
};

const APP_LAYER = ["dns", "tls", "quic", "quic_plaintext", "http"];

function ports(p: Packet, l: Layers): number[] {
  if (l.l4 < 0 || l.l4 + 4 > p.data.length) return [];
  return [(p.data[l.l4] << 8) | p.data[l.l4 + 1], (p.data[l.l4 + 2] << 8) | p.data[l.l4 + 3]];
}

/** Mixes a seed and an index into one 32-bit seed (so input N does not depend on inputs before it). */
export function inputSeed(seed: number, index: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  return (h ^ (h >>> 15)) >>> 0;
}

/**
 * Input sizes, as fuzzers favour small inputs (more of them per second, each bug found on a
 * smaller input): most inputs are a window of 1-16 consecutive packets of a capture (with every
 * block that is not a packet: headers, interfaces, names, statistics), one in WHOLE_EVERY is the
 * whole capture (its first MAX_PACKETS packets).
 */
const WHOLE_EVERY = 16;

/**
 * Mutation families per step, in 200ths: raw bytes, framing, count abuse (about one input in 80:
 * each is hundreds of packets, as many as 40 windows), the rest one packet's layers.
 */
const RAW_SHARE = 60, FRAMING_SHARE = 39, COUNT_SHARE = 1;

export class Mutator {
  /** Each capture's first MAX_PACKETS packets, parsed once (null: not a capture this walk knows). */
  readonly #models: (Capture | null)[];
  /** The same as bytes, or the capture as it is when it could not be parsed. */
  readonly #whole: Uint8Array[];
  readonly #others: Capture[];

  constructor(readonly corpus: CorpusEntry[]) {
    if (!corpus.length) throw new Error("no captures to mutate");
    this.#models = corpus.map((e) => {
      const c = parseCapture(e.bytes);
      if (!c) return null;
      let n = 0;
      c.items = c.items.filter((i) => !("packet" in i) || n++ < MAX_PACKETS);
      return c;
    });
    this.#whole = this.#models.map((c, k) => c ? serialise(c) : corpus[k].bytes);
    this.#others = this.#models.filter((c) => c !== null);
  }

  /** Packets FROM..FROM+COUNT of capture K with all its other blocks, as bytes. */
  #window(k: number, from: number, count: number): Uint8Array {
    const c = this.#models[k]!;
    let n = 0;
    const items = c.items.filter((i) => !("packet" in i) || (n++ >= from && n <= from + count));
    return serialise({ ...c, items });
  }

  /** Input INDEX of seed SEED. */
  mutant(seed: number, index: number): Mutant {
    const r = new Seeded(inputSeed(seed, index));
    const k = r.int(this.corpus.length);
    let source = this.corpus[k].name;
    let bytes = this.#whole[k];
    const model = this.#models[k];
    if (model && r.int(WHOLE_EVERY)) {
      const total = packets(model).length;
      const count = 1 + r.int(1 << (1 + r.int(4)));
      const from = r.int(Math.max(1, total - count + 1));
      bytes = this.#window(k, from, count);
      source += ` packets ${from + 1}-${Math.min(total, from + count)}`;
    }
    const steps: string[] = [];
    // 1-4 mutations; one that does not apply to this capture (no such packet) is not counted.
    const want = 1 + r.int(4);
    for (let tries = 0; steps.length < want && tries < 4 * want; tries++) {
      const family = r.int(200);
      if (family < RAW_SHARE) {
        const name = pick(r, Object.keys(RAW));
        bytes = RAW[name](r, bytes, this.corpus);
        steps.push(name);
        continue;
      }
      const c = parseCapture(bytes);
      if (!c) continue;
      if (family < RAW_SHARE + FRAMING_SHARE + COUNT_SHARE) {
        const table = family < RAW_SHARE + FRAMING_SHARE ? FRAMING : COUNT;
        const name = pick(r, Object.keys(table));
        table[name](r, c, this.#others);
        steps.push(name);
      } else {
        const ps = packets(c);
        if (!ps.length) continue;
        // The first packet from a random place on that the chosen layer mutation applies to.
        // Half the time an application-layer one: few captures have their packets, so they would be rare.
        const name = pick(r, r.int(2) ? APP_LAYER : Object.keys(PACKET));
        const first = r.int(ps.length);
        for (let t = 0; t < ps.length; t++) {
          const p = ps[(first + t) % ps.length];
          if (PACKET[name](r, p, layersOf(p.linktype, p.data))) {
            steps.push(name);
            break;
          }
        }
      }
      bytes = serialise(c);
      if (bytes.length > MAX_BYTES) bytes = bytes.subarray(0, MAX_BYTES);
    }
    return { bytes, source, steps };
  }
}
