// Bad captures through the real WASM decoder and the TypeScript pipeline: every corpus capture
// cut short at 10 points and with 20 seeded byte mutations, hand-made hostile captures, and the
// CLI on broken files. Nothing may throw, hang or lose the packets before the damage, and every
// problem must be reported in words that name the file and what happened.
//
// Each pipeline runs in a worker with a time limit: a decoder stuck in a loop blocks its thread,
// which a timer on the same thread could never interrupt, but terminating the worker does.
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import * as abi from "../src/decoder/abi.ts";
import { Decoder, type DecoderConfig, DecoderMemoryError } from "../src/decoder/decoder.ts";
import { DECODER_ERRORS } from "../src/decoder/names.ts";
import { runDecode } from "../src/source/decode.ts";
import type { FileOutcome } from "../src/source/file.ts";
import { corpusFiles } from "./helpers/corpus.ts";
import { BpfCompileError } from "../ffi/libpcap.ts";
import { concat } from "./helpers/util.ts";

/**
 * One run reads a few KB (at most a few MB): milliseconds. Far beyond that is a hang; the bound
 * is generous so that a loaded machine (2 cores shared with the parallel suite) never reaches it.
 */
const RUN_LIMIT_MS = 60_000;
const WORKERS = 3;
const MAIN = new URL("../src/cli/main.ts", import.meta.url).pathname;

// ---- seeded randomness ----------------------------------------------------------------------

/** xorshift32, seeded: the same mutants on every run. */
function rng(seed: number): (n: number) => number {
  let x = (seed >>> 0) || 0x9e3779b9;
  return (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return n <= 0 ? 0 : x % n;
  };
}

function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

// ---- pipelines in workers, with a time limit ------------------------------------------------

interface Job {
  label: string;
  /** Decoded in order by one pipeline (one decoder: flows carry over, as for rotated captures). */
  files: string[];
  decoder: DecoderConfig;
}

interface JobResult {
  ok: boolean;
  error?: string;
  stats: number[];
  files: FileOutcome[];
  flows: number;
  activeSplits: number;
  /** Packet records handed over, in all and per file. */
  packets: number;
  perFile: number[];
}

// Packet records are counted per file: the pipeline reports a file's first read (progress) before
// it decodes any of it, and decodes files strictly one after another.
const WORKER_SOURCE = `
import { runDecode } from ${JSON.stringify(new URL("../src/source/decode.ts", import.meta.url).href)};
self.onmessage = async (e) => {
  const { files, decoder } = e.data;
  let flows = 0, activeSplits = 0, packets = 0, current = 0;
  const perFile = files.map(() => 0);
  try {
    const r = await runDecode({ files, decoder, progress: (_path, index) => (current = index) }, {
      flow: (f) => {
        flows++;
        if (f.endReason === "active_timeout") activeSplits++;
      },
      packet: () => {
        packets++;
        perFile[current]++;
      },
    });
    self.postMessage({ ok: true, stats: Array.from(r.stats), files: r.files, flows, activeSplits, packets, perFile });
  } catch (err) {
    self.postMessage({ ok: false, error: String(err && err.stack || err), stats: [], files: [], flows, activeSplits, packets, perFile });
  }
};
`;

/** A few workers taking jobs in turn; a job that outlives RUN_LIMIT_MS fails the test. */
class Pool {
  #url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
  #workers: Worker[] = [];
  #pending = new Set<{ timer: ReturnType<typeof setTimeout>; reject: (e: Error) => void }>();

  constructor(size: number) {
    for (let i = 0; i < size; i++) this.#workers.push(new Worker(this.#url, { type: "module" }));
  }

  /** Runs every job; `check` sees each result (in any order) and throws on a violation. */
  async runAll(jobs: Job[], check: (job: Job, r: JobResult) => void): Promise<void> {
    let next = 0;
    let failed = false;
    await Promise.all(this.#workers.map(async (w) => {
      while (next < jobs.length && !failed) {
        const job = jobs[next++];
        try {
          check(job, await this.#run(w, job));
        } catch (e) {
          failed = true;
          throw e;
        }
      }
    }));
  }

  #run(w: Worker, job: Job): Promise<JobResult> {
    return new Promise((resolve, reject) => {
      const entry = {
        timer: setTimeout(() => {
          this.#pending.delete(entry);
          reject(new Error(`${job.label}: no result after ${RUN_LIMIT_MS} ms: the decoder hangs`));
          this.close();
        }, RUN_LIMIT_MS),
        reject,
      };
      this.#pending.add(entry);
      const settle = () => {
        clearTimeout(entry.timer);
        this.#pending.delete(entry);
      };
      w.onmessage = (e: MessageEvent<JobResult>) => {
        settle();
        resolve(e.data);
      };
      w.onerror = (e: ErrorEvent) => {
        settle();
        e.preventDefault();
        reject(new Error(`${job.label}: worker died: ${e.message}`));
      };
      w.postMessage({ files: job.files, decoder: job.decoder });
    });
  }

  /** Stops every worker (a hung one included) and fails what was still running. */
  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
    for (const p of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new Error("the worker pool was closed"));
    }
    this.#pending.clear();
    URL.revokeObjectURL(this.#url);
  }
}

async function withPool(fn: (pool: Pool, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_robust_" });
  const pool = new Pool(WORKERS);
  try {
    await fn(pool, dir);
  } finally {
    pool.close();
    await Deno.remove(dir, { recursive: true });
  }
}

// ---- capture framing, walked independently of the decoder ----------------------------------

interface Framing {
  pcapng: boolean;
  /** End of the pcap file header, or of the first pcapng section header block. */
  headerEnd: number;
  /** Offsets between records/blocks, ascending (the header end first). */
  boundaries: number[];
  /** Ends of packet records: pcap records, pcapng EPB/SPB/OPB. */
  packetEnds: number[];
}

function walk(b: Uint8Array): Framing | null {
  if (b.length < 24) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = dv.getUint32(0, true);
  const f: Framing = { pcapng: magic === 0x0a0d0d0a, headerEnd: 0, boundaries: [], packetEnds: [] };
  let little = true;
  if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) little = false;
  else if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d && !f.pcapng) return null;
  if (!f.pcapng) {
    let pos = 24;
    f.headerEnd = 24;
    f.boundaries.push(pos);
    while (pos + 16 <= b.length) {
      const caplen = dv.getUint32(pos + 8, little);
      if (caplen > 1 << 20 || pos + 16 + caplen > b.length) break;
      pos += 16 + caplen;
      f.boundaries.push(pos);
      f.packetEnds.push(pos);
    }
    return f;
  }
  let pos = 0;
  while (pos + 12 <= b.length) {
    if (dv.getUint32(pos, true) === 0x0a0d0d0a) {
      const bom = dv.getUint32(pos + 8, true);
      if (bom === 0x1a2b3c4d) little = true;
      else if (bom === 0x4d3c2b1a) little = false;
      else break;
    }
    const kind = dv.getUint32(pos, little);
    const len = dv.getUint32(pos + 4, little);
    if (len < 12 || len % 4 !== 0 || len > 16 << 20 || pos + len > b.length) break;
    if (dv.getUint32(pos + len - 4, little) !== len) break;
    pos += len;
    if (f.headerEnd === 0) f.headerEnd = pos;
    f.boundaries.push(pos);
    if (kind === 2 || kind === 3 || kind === 6) f.packetEnds.push(pos);
  }
  return f;
}

const packetsBefore = (f: Framing, offset: number) => f.packetEnds.filter((e) => e <= offset).length;
const boundaryAtOrBefore = (f: Framing, offset: number) =>
  f.boundaries.filter((b) => b <= offset).at(-1) ?? 0;

/** Ten places to cut a capture: in its header, around its first record, at its quarters, near its end. */
function cutPoints(len: number, f: Framing): number[] {
  const first = f.packetEnds[0] ?? f.headerEnd;
  const lastStart = f.boundaries.at(-2) ?? f.headerEnd;
  const cuts = [
    12,
    f.headerEnd,
    f.headerEnd + 5,
    first - 1,
    first,
    Math.floor(len / 4),
    Math.floor(len / 2),
    Math.floor((3 * len) / 4),
    lastStart + 3,
    len - 1,
  ];
  return [...new Set(cuts.filter((c) => c > 0 && c < len))].sort((a, b) => a - b);
}

/** Changes 1-4 bytes (record headers, file header, packet headers or anywhere); returns the first changed offset. */
function mutate(bytes: Uint8Array, f: Framing | null, rand: (n: number) => number): [Uint8Array, number] {
  const m = bytes.slice();
  const starts = f ? [0, ...f.boundaries].filter((b) => b < m.length) : [0];
  let first = m.length;
  for (let k = 1 + rand(4); k > 0 && m.length > 0; k--) {
    const base = starts[rand(starts.length)];
    let at: number;
    switch (rand(4)) {
      case 0:
        at = rand(m.length);
        break;
      case 1:
        at = rand(Math.min(64, m.length));
        break;
      case 2:
        at = base + rand(f?.pcapng ? 28 : 16);
        break;
      default:
        at = base + (f?.pcapng ? 28 : 16) + rand(64);
    }
    if (at >= m.length) continue;
    m[at] = rand(2) ? m[at] ^ (1 << rand(8)) : [0, 0xff, 0x7f, 0x80, rand(256)][rand(5)];
    if (m[at] !== bytes[at]) first = Math.min(first, at);
  }
  return [m, first];
}

// ---- checks every run must pass ------------------------------------------------------------

const KNOWN_ERRORS = new Set([
  abi.ERR_NOT_A_CAPTURE,
  abi.ERR_TRUNCATED_HEADER,
  abi.ERR_TRUNCATED_RECORD,
  abi.ERR_CORRUPT_RECORD,
  abi.ERR_CORRUPT_BLOCK,
  abi.ERR_UNSUPPORTED_VERSION,
  abi.ERR_EMPTY,
]);

/** The run resolved, its counters agree, and any problem is a documented one, clearly worded. */
function checkRun(job: Job, r: JobResult): FileOutcome[] {
  assert(r.ok, `${job.label}: the pipeline threw:\n${r.error}`);
  const s = r.stats;
  assertEquals(s[abi.ST_PACKETS], s[abi.ST_RECORDS], `${job.label}: no filter, so every record is a packet`);
  assertEquals(r.packets, s[abi.ST_PACKETS], `${job.label}: packet records handed over`);
  assertEquals(r.flows, s[abi.ST_FLOW_RECORDS], `${job.label}: flow records handed over`);
  assertEquals(r.flows, s[abi.ST_FLOWS_CREATED] + r.activeSplits, `${job.label}: flows created + splits`);
  assertEquals(s[abi.ST_FLOWS_ACTIVE], 0, `${job.label}: flows left in the table`);
  assertEquals(r.files.length, job.files.length, `${job.label}: one outcome per file`);
  for (const out of r.files) {
    const p = out.problem;
    if (!p) continue;
    const where = `${job.label}: ${out.path}`;
    assert(KNOWN_ERRORS.has(p.code), `${where}: undocumented error code ${p.code}`);
    assert(p.message.includes(out.path), `${where}: the message does not name the file: ${p.message}`);
    assert(
      p.message.includes(DECODER_ERRORS[p.code]) && p.message.includes(`at byte ${p.offset}`),
      `${where}: the message does not say what happened where: ${p.message}`,
    );
    assertEquals(p.fatal, p.code !== abi.ERR_TRUNCATED_RECORD, `${where}: fatal flag for ${p.code}`);
    assert(p.offset >= 0 && p.offset <= out.size, `${where}: error offset ${p.offset} of ${out.size}`);
  }
  return r.files;
}

/** Packet records on (parsed in TS, payload included), a small flow table, the default input layout. */
const MASS_DECODER: DecoderConfig = { maxFlows: 4096, outBytes: 1 << 20, packets: { payloadMax: 64 } };

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// ---- corpus captures, cut short and mutated --------------------------------------------------

Deno.test("every corpus capture, cut short and byte-flipped, decodes without a crash or hang", async (t) => {
  const corpus = corpusFiles();
  assert(corpus.length >= 10, `only ${corpus.length} corpus captures`);
  const whole = new Map<string, { bytes: Uint8Array; framing: Framing | null; records: number }>();
  for (const path of corpus) whole.set(path, { bytes: Deno.readFileSync(path), framing: null, records: 0 });
  for (const w of whole.values()) w.framing = walk(w.bytes);
  /** Whether every packet block decodes (pcapng blocks may be invalid inside: a wrong interface...). */
  const countable = (w: { framing: Framing | null; records: number }) =>
    w.framing !== null && (!w.framing.pcapng || w.records === w.framing.packetEnds.length);

  await withPool(async (pool, dir) => {
    await t.step("whole captures", async () => {
      const jobs = chunk(corpus, 25).map((files, i) => ({
        label: `whole batch ${i}`,
        files,
        decoder: MASS_DECODER,
      }));
      await pool.runAll(jobs, (job, r) => {
        const outs = checkRun(job, r);
        for (const [i, path] of job.files.entries()) {
          const w = whole.get(path)!;
          w.records = r.perFile[i];
          if (w.framing && !w.framing.pcapng) {
            assertEquals(w.records, w.framing.packetEnds.length, `${path}: records`);
          }
          if (!w.framing) assert(outs[i].problem, `${path}: not a capture, yet no problem reported`);
        }
      });
    });

    await t.step("10 truncated copies of each: the records before the cut are kept", async () => {
      const jobs: Job[] = [];
      const cutOf = new Map<string, { source: string; cut: number }>();
      for (const [i, path] of corpus.entries()) {
        const w = whole.get(path)!;
        if (!w.framing) continue;
        const files: string[] = [];
        for (const cut of cutPoints(w.bytes.length, w.framing)) {
          const copy = `${dir}/t${i}_${cut}_${path.split("/").pop()}`;
          await Deno.writeFile(copy, w.bytes.subarray(0, cut));
          files.push(copy);
          cutOf.set(copy, { source: path, cut });
        }
        jobs.push({ label: `${path} truncated`, files, decoder: MASS_DECODER });
      }
      assert(cutOf.size > 8 * corpus.length, `only ${cutOf.size} truncated copies`);
      await pool.runAll(jobs, (job, r) => {
        const outs = checkRun(job, r);
        for (const [i, copy] of job.files.entries()) {
          const { source, cut } = cutOf.get(copy)!;
          const w = whole.get(source)!;
          const f = w.framing!;
          const label = `${source} cut at ${cut}`;
          const n = packetsBefore(f, cut);
          if (countable(w)) {
            assert(r.perFile[i] >= n, `${label}: ${r.perFile[i]} packets, ${n} before the cut`);
          }
          const problem = outs[i].problem;
          const b = boundaryAtOrBefore(f, cut);
          if (cut >= f.headerEnd && cut === b) {
            assertEquals(problem, undefined, `${label}: cut between records`);
          } else if (cut > f.headerEnd && cut <= (f.boundaries.at(-1) ?? 0)) {
            assertEquals(problem?.code, abi.ERR_TRUNCATED_RECORD, `${label}: ${problem?.message}`);
            assertEquals(problem?.offset, b, `${label}: where the cut record starts`);
          } else {
            assert(problem, `${label}: a capture cut inside its header has a problem`);
          }
        }
      });
    });

    await t.step("20 byte-flipped copies of each: no exception, packets before the damage kept", async () => {
      const jobs: Job[] = [];
      const mutantOf = new Map<string, { source: string; first: number }>();
      for (const [i, path] of corpus.entries()) {
        const w = whole.get(path)!;
        // Seeded by the capture's corpus name (public/x.pcap), wherever the corpus lives.
        const seed = seedOf(path.split("/").slice(-2).join("/"));
        const rand = rng(seed);
        const files: string[] = [];
        for (let k = 0; k < 20; k++) {
          const [m, first] = mutate(w.bytes, w.framing, rand);
          const copy = `${dir}/f${i}_${k}_${path.split("/").pop()}`;
          await Deno.writeFile(copy, m);
          files.push(copy);
          mutantOf.set(copy, { source: path, first });
        }
        jobs.push({ label: `${path} mutants (seed ${seed})`, files, decoder: MASS_DECODER });
      }
      await pool.runAll(jobs, (job, r) => {
        checkRun(job, r);
        for (const [i, copy] of job.files.entries()) {
          const { source, first } = mutantOf.get(copy)!;
          const w = whole.get(source)!;
          if (!countable(w)) continue;
          const n = packetsBefore(w.framing!, first);
          assert(
            r.perFile[i] >= n,
            `${copy} (from ${source}, first change at ${first}): ${r.perFile[i]} packets, ${n} intact`,
          );
        }
      });
    });
  });
});

// ---- hand-made hostile captures -------------------------------------------------------------

function le32(x: number): number[] {
  return [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff];
}

function pcapHeader(linktype = 1): number[] {
  return [...le32(0xa1b2c3d4), 2, 0, 4, 0, ...le32(0), ...le32(0), ...le32(65535), ...le32(linktype)];
}

function pcapRecord(data: Uint8Array | number[], caplen = data.length, sec = 1): number[] {
  return [...le32(sec), ...le32(0), ...le32(caplen), ...le32(data.length), ...data];
}

/** Ethernet / IPv4 / UDP 10.0.0.1:sport -> 10.0.0.2:53 with 5 payload bytes. */
function udpFrame(sport: number): number[] {
  return [
    ...[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00],
    ...[0x45, 0, 0, 33, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2],
    ...[sport >> 8, sport & 0xff, 0, 53, 0, 13, 0, 0, 104, 101, 108, 108, 111],
  ];
}

function block(kind: number, body: Uint8Array | number[], len?: number): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const total = 12 + padded;
  const b = new Uint8Array(total);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, kind, true);
  dv.setUint32(4, len ?? total, true);
  b.set(body, 8);
  dv.setUint32(total - 4, len ?? total, true);
  return b;
}

const SHB = block(0x0a0d0d0a, [...le32(0x1a2b3c4d), 1, 0, 0, 0, ...Array(8).fill(0xff)]);
const IDB = block(1, [1, 0, 0, 0, ...le32(0)]);

function epb(data: number[] | Uint8Array, iface = 0): Uint8Array {
  return block(6, [
    ...le32(iface),
    ...le32(0),
    ...le32(1000),
    ...le32(data.length),
    ...le32(data.length),
    ...data,
  ]);
}

/** 20,000 records of 1,499-byte frames: ~30 MB, so every read of the input ends inside a record. */
function manyRecords(pcapng: boolean): Uint8Array {
  const frame = new Uint8Array(1499);
  frame.set(udpFrame(1000));
  const record = pcapng ? epb(frame) : new Uint8Array(pcapRecord(frame));
  const head = pcapng ? concat(SHB, IDB) : new Uint8Array(pcapHeader());
  const out = new Uint8Array(head.length + 20_000 * record.length);
  out.set(head);
  for (let i = 0; i < 20_000; i++) out.set(record, head.length + i * record.length);
  return out;
}

Deno.test("hostile hand-made captures: lying lengths, huge blocks, records spanning reads", async () => {
  const frame = udpFrame(1000);
  const big = (n: number) => {
    const d = new Uint8Array(n);
    d.set(frame);
    return d;
  };
  const cases: { name: string; bytes: Uint8Array; packets: number; code?: number }[] = [
    {
      name: "a valid 30 MB pcap whose records straddle every read boundary",
      bytes: manyRecords(false),
      packets: 20_000,
    },
    {
      name: "a valid 30 MB pcapng whose blocks straddle every read boundary",
      bytes: manyRecords(true),
      packets: 20_000,
    },
    { name: "caplen 0", bytes: concat(pcapHeader(), pcapRecord([], 0), pcapRecord(frame)), packets: 2 },
    {
      name: "caplen 0x7fffffff after two packets",
      bytes: concat(pcapHeader(), pcapRecord(frame), pcapRecord(frame), pcapRecord(frame, 0x7fffffff)),
      packets: 2,
      code: abi.ERR_CORRUPT_RECORD,
    },
    {
      name: "five 1 MiB records (the largest) spanning the reads",
      bytes: concat(pcapHeader(), ...Array.from({ length: 5 }, () => pcapRecord(big(1 << 20)))),
      packets: 5,
    },
    {
      name: "pcapng blocks of 2 MiB and just under, across the read boundaries",
      bytes: concat(SHB, IDB, epb(frame), epb(big((2 << 20) - 40)), epb(big((2 << 20) - 100)), epb(frame)),
      packets: 4,
    },
    {
      name: "3 MiB pcapng blocks (larger than a part of the input): skipped",
      bytes: concat(
        SHB,
        IDB,
        epb(frame),
        block(0x0bad, new Uint8Array(3 << 20)),
        epb(big(3 << 20)),
        epb(frame),
      ),
      packets: 2,
    },
    {
      name: "a block claiming 17 MiB",
      bytes: concat(SHB, IDB, epb(frame), block(6, frame, 17 << 20)),
      packets: 1,
      code: abi.ERR_CORRUPT_BLOCK,
    },
    {
      name: "a block longer than the rest of the file",
      bytes: concat(SHB, IDB, epb(frame), block(6, frame, 8 << 20)),
      packets: 1,
      code: abi.ERR_TRUNCATED_RECORD,
    },
    {
      name: "a block whose trailer disagrees",
      bytes: (() => {
        const b = concat(SHB, IDB, epb(frame), epb(frame));
        b[b.length - 1] = 0x7f;
        return b;
      })(),
      packets: 1,
      code: abi.ERR_CORRUPT_BLOCK,
    },
    {
      name: "a packet block on interface 7 of 1",
      bytes: concat(SHB, IDB, epb(frame, 7), epb(frame)),
      packets: 1,
    },
    { name: "pcapng without interfaces", bytes: concat(SHB, epb(frame), epb(frame)), packets: 0 },
    {
      name: "not a capture",
      bytes: new TextEncoder().encode("hello, world\n"),
      packets: 0,
      code: abi.ERR_NOT_A_CAPTURE,
    },
    { name: "0 bytes", bytes: new Uint8Array(0), packets: 0, code: abi.ERR_EMPTY },
  ];
  await withPool(async (pool, dir) => {
    const jobs: (Job & { c: (typeof cases)[number] })[] = [];
    for (const [i, c] of cases.entries()) {
      const path = `${dir}/case${i}.cap`;
      await Deno.writeFile(path, c.bytes);
      // The default decoder: the input layout and part sizes the CLI uses.
      jobs.push({ label: c.name, files: [path], decoder: { packets: { payloadMax: 16 } }, c });
    }
    // Every case is checked; the failures are reported together.
    const failures: string[] = [];
    await pool.runAll(jobs, (job, r) => {
      const { c } = job as (typeof jobs)[number];
      try {
        const [out] = checkRun(job, r);
        assertEquals(r.stats[abi.ST_PACKETS], c.packets, `${c.name}: packets`);
        assertEquals(out.problem?.code, c.code, `${c.name}: ${out.problem?.message}`);
      } catch (e) {
        failures.push((e as Error).message);
      }
    });
    assertEquals(failures, [], `${failures.length} of ${cases.length} cases failed`);
  });
});

// ---- the decoder set up with hostile options --------------------------------------------------

Deno.test("a flow table too large for memory is refused with a clear error, not a WebAssembly trap", async () => {
  // --max-flows accepts up to 50,000,000; ws_new returns 0 beyond the decoder's memory budget.
  for (const maxFlows of [50_000_000, 20_000_000]) {
    await rejects(
      () => Decoder.create({ maxFlows }),
      (e: Error) => e instanceof DecoderMemoryError && /lower --max-flows/.test(e.message),
      `maxFlows ${maxFlows}`,
    );
  }
  const fits = await Decoder.create({ maxFlows: 2_000_000 });
  fits.free();
});

Deno.test("a BPF filter on a link type libpcap cannot filter: no packet passes, or a clear filter error", async () => {
  // LINKTYPE_USER0 (147): pcap_compile("tcp") fails for it ("link-layer type filtering not
  // implemented"). tcpdump stops with that message; the CLI turns it into a usage error.
  const dir = await Deno.makeTempDir({ prefix: "wiresight_robust_" });
  try {
    const path = `${dir}/user0.pcap`;
    await Deno.writeFile(path, concat(pcapHeader(147), pcapRecord(udpFrame(1)), pcapRecord(udpFrame(2))));
    try {
      const r = await runDecode({ files: [path], decoder: {}, bpf: "tcp" }, {});
      assertEquals(r.stats[abi.ST_PACKETS], 0, "no USER0 frame can match 'tcp'");
    } catch (e) {
      assert(e instanceof BpfCompileError, `not a filter error: ${(e as Error).stack}`);
      assert(/link type 147/.test(e.message), e.message);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- the command line on broken files ---------------------------------------------------------

/** `wiresight read FILE --report json`: exit code, stderr and the report (null when stdout is empty). */
async function cli(
  file: string,
): Promise<{ code: number; report: Record<string, unknown> | null; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, "read", file, "--report", "json", "--no-progress"],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert(!/internal error|RuntimeError|panicked/.test(stderr), `${file}: ${stderr}`);
  if (stdout === "") return { code: out.code, report: null, stderr };
  try {
    return { code: out.code, report: JSON.parse(stdout), stderr };
  } catch {
    throw new Error(`${file}: stdout is not a JSON report (exit ${out.code}):\n${stdout}\n${stderr}`);
  }
}

Deno.test("the CLI on broken captures: exit 0 when cut short, 1 when corrupt, a JSON report of what was read", async () => {
  const corpus = corpusFiles();
  const pcapSource = corpus.find((p) => p.endsWith("/gen_http_methods.pcap"))!;
  const ngSource = corpus.find((p) => p.endsWith("/gen_multi_interface.pcapng"))!;
  const dir = await Deno.makeTempDir({ prefix: "wiresight_robust_" });
  try {
    const pcap = Deno.readFileSync(pcapSource);
    const pf = walk(pcap)!;
    const pcapCut = pf.packetEnds[Math.floor(pf.packetEnds.length / 2)] + 20;
    const ng = Deno.readFileSync(ngSource);
    const nf = walk(ng)!;
    const ngCut = nf.packetEnds[Math.floor(nf.packetEnds.length / 3)] + 30;
    // Record 6 of the pcap claims 2 GiB; block 6 of the pcapng has a trailer that disagrees.
    const corrupt = pcap.slice(0, pf.boundaries[5] + 16);
    new DataView(corrupt.buffer).setUint32(pf.boundaries[5] + 8, 0x7fffffff, true);
    const badBlock = ng.slice(0, nf.boundaries[6]);
    badBlock[badBlock.length - 4] ^= 0x40;
    const cases: [string, Uint8Array, number, number | null, string][] = [
      [
        "cut.pcap",
        pcap.subarray(0, pcapCut),
        0,
        packetsBefore(pf, pcapCut),
        "was cut short in the middle of a packet",
      ],
      [
        "cut.pcapng",
        ng.subarray(0, ngCut),
        0,
        packetsBefore(nf, ngCut),
        "was cut short in the middle of a packet",
      ],
      ["corrupt.pcap", corrupt, 1, 5, "has a corrupt packet record"],
      ["corrupt.pcapng", badBlock, 1, packetsBefore(nf, nf.boundaries[5]), "has a corrupt pcapng block"],
      // Nothing could be read: no report at all is fine, a report must say 0 packets.
      [
        "text.pcap",
        new TextEncoder().encode("not a capture at all\n".repeat(4)),
        1,
        null,
        "is not a pcap or pcapng",
      ],
    ];
    const runs = await Promise.all(cases.map(async ([name, bytes, code, packets, says]) => {
      const path = `${dir}/${name}`;
      await Deno.writeFile(path, bytes);
      return { name, path, code, packets, says, r: await cli(path) };
    }));
    for (const { name, path, code, packets, says, r } of runs) {
      assertEquals(r.code, code, `${name}: exit code (stderr: ${r.stderr})`);
      assert(r.stderr.includes(path) && r.stderr.includes(says), `${name}: stderr: ${r.stderr}`);
      if (packets === null) {
        if (r.report) assertEquals(r.report.packets, 0, `${name}: packets in the report`);
        continue;
      }
      assert(r.report, `${name}: no JSON report on stdout`);
      assertEquals(r.report.packets, packets, `${name}: packets in the report`);
      const warnings = (r.report.warnings as string[]).join("\n");
      assert(warnings.includes(path) && warnings.includes(says), `${name}: warnings: ${warnings}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
