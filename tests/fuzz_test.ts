// The fuzz harness (tests/tools/fuzz, `deno task fuzz`): a short seeded run over the shared corpus
// must pass, its inputs must be the same for the same seed, and it must catch what it is there to
// catch: failures planted through its test-only sink hook (an exception, a hang, memory that keeps
// growing) are recorded, saved and found again by a replay. Without the planted sink the saved
// inputs pass, so the failures were the plant's, not the inputs'.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { corpusCaptures, fuzz, replay, type RunnerOptions } from "./tools/fuzz/runner.ts";
import { Mutator } from "./tools/fuzz/mutate.ts";
import { layersOf, parseCapture, serialise } from "./tools/fuzz/capture_model.ts";
import { resealInitial } from "./tools/fuzz/quic_reseal.ts";
import { Pipeline } from "./tools/fuzz/pipeline.ts";
import { corpusFile } from "./helpers/corpus.ts";
import { runTool } from "./helpers/tool.ts";

const corpus = corpusCaptures();
const LIMITS: RunnerOptions = { limitMs: 60_000, maxRssMb: 4096, growthMb: 512 };

/** A module whose default export makes a session sink with BODY's methods (the harness's hook). */
async function plant(dir: string, name: string, body: string): Promise<string> {
  const path = `${dir}/${name}.ts`;
  await Deno.writeTextFile(path, `${body}\n`);
  return new URL(`file://${path}`).href;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_fuzz_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const savedInputs = (dir: string) =>
  [...Deno.readDirSync(dir)].filter((e) => !e.name.endsWith(".txt")).length;

Deno.test("the same seed gives the same mutants, another seed others", () => {
  assert(corpus.length >= 150, `only ${corpus.length} corpus captures`);
  const a = new Mutator(corpus), b = new Mutator(corpus);
  for (let i = 0; i < 50; i++) assertEquals(a.mutant(7, i), b.mutant(7, i), `input ${i}`);
  const differ = Array.from(
    { length: 50 },
    (_, i) => a.mutant(7, i).bytes.join() !== a.mutant(8, i).bytes.join(),
  );
  assert(differ.filter(Boolean).length > 40, "seeds 7 and 8 gave mostly the same inputs");
});

Deno.test("a QUIC Initial opened, changed and sealed again is what tshark decrypts", () =>
  withDir(async (dir) => {
    const source = Deno.readFileSync(corpusFile("quic_handshake.pcap"));
    const c = parseCapture(source)!;
    const p = "packet" in c.items[0] ? c.items[0].packet : null;
    assert(p, "the capture starts with a packet");
    const datagram = p.data.subarray(layersOf(p.linktype, p.data).payload);
    assert(resealInitial(datagram, () => {}), "the client Initial opens");
    assertEquals(serialise(c), source, "sealed unchanged, the packet is the same bytes");
    const name = new TextEncoder().encode("localhost");
    assert(resealInitial(datagram, (plain) => {
      const at = plain.findIndex((_, i) => name.every((b, k) => plain[i + k] === b));
      assert(at > 0, "the SNI is in the plaintext");
      plain.set(new TextEncoder().encode("fuzzhost!"), at);
    }));
    await Deno.writeFile(`${dir}/q.pcap`, serialise(c));
    const sni = await runTool("tshark", [
      ...["-r", `${dir}/q.pcap`, "-Y", "tls.handshake.type == 1"],
      ...["-T", "fields", "-e", "tls.handshake.extensions_server_name"],
    ]);
    assertEquals(sni.stdout.trim(), "fuzzhost!");
  }));

Deno.test("a reused decoder gives what a fresh one gives, capture after capture", async () => {
  // Different link types, formats and protocols one after another, a capture cut inside a record
  // (the decoder stops on an error) and the first capture again at the end: every output of every
  // export, the EVE stream, the report and its text must be those of a decoder made for it alone.
  const afs = Deno.readFileSync(corpusFile("afs.pcap"));
  const inputs = [
    { name: "afs.pcap", bytes: afs },
    { name: "afs.pcap cut", bytes: afs.slice(0, 200_001) },
    ...[
      "gen_multi_interface.pcapng",
      "sv-quic-frag.pcap",
      "ip6_frag_asan.pcap",
      "ipv4_tcp_http_xml.pcap",
      "gen_dns_any_sll2.pcap",
      "sv-tls-tls-client-hello-frag-01.pcap",
      "quic_handshake.pcap",
    ].map((name) => ({ name, bytes: Deno.readFileSync(corpusFile(name)) })),
    { name: "afs.pcap", bytes: afs },
  ];
  const fresh = await Pipeline.create({ reuse: false });
  const reused = await Pipeline.create({ reuse: true });
  try {
    let packets = 0;
    for (const input of inputs) {
      const want = await fresh.run(input);
      const got = await reused.run(input);
      assertEquals(got, want, input.name);
      packets += got.counts.packets;
    }
    assert(packets > 1500, `only ${packets} packets: the captures were not read`);
    // Resets keep the memory the largest input needed, no more: the same inputs again take none.
    const memory = reused.decoderMemory();
    assert(memory > 0, "the decoder is kept for the next input");
    for (const input of inputs) await reused.run(input);
    assertEquals(reused.decoderMemory(), memory, "the reused decoder's memory grew");
    assert(JSON.parse((await fresh.run(inputs[1])).outputs.report).files[0].problem, "the cut capture stops");
  } finally {
    reused.free();
  }
});

Deno.test("a short seeded run: no crash, exception, hang or growth", () =>
  withDir(async (out) => {
    // Most inputs are windows of a few packets: 300 inputs decode a few thousand.
    const s = await fuzz({ ...LIMITS, corpus, seed: 1, inputs: 300, out, heapEvery: 50 });
    assertEquals(s.failures.map((f) => `${f.kind} ${f.index}: ${f.detail}`), []);
    assertEquals(s.inputs, 300);
    assert(s.packets > 1000, `only ${s.packets} packets decoded: the mutants are not captures any more`);
    assertEquals(savedInputs(out), 0);
  }));

Deno.test("a planted exception is caught, saved with its note and found again by a replay", () =>
  withDir(async (dir) => {
    const out = `${dir}/failures`;
    const sinkModule = await plant(
      dir,
      "throws",
      `export default () => ({ flow() { throw new Error("planted failure"); } });`,
    );
    const s = await fuzz({ ...LIMITS, corpus, seed: 3, inputs: 8, out, sinkModule });
    assert(s.failures.length >= 4, `${s.failures.length} of 8 inputs caught the planted throw`);
    for (const f of s.failures) {
      assertEquals(f.kind, "exception");
      assert(f.detail.includes("planted failure"), f.detail);
      const note = await Deno.readTextFile(f.file!.replace(/\.pcap(ng)?$/, ".txt"));
      assert(note.includes(`index: ${f.index}`) && note.includes("seed: 3"), note);
    }
    assertEquals(savedInputs(out), s.failures.length);
    const again = await replay(out, { ...LIMITS, sinkModule });
    assertEquals(again.failures.length, s.failures.length, "the replay fails the same inputs");
    const clean = await replay(out, LIMITS);
    assertEquals(clean.failures.map((f) => f.detail), [], "without the plant the inputs pass");
  }));

Deno.test("a planted hang is stopped at the time limit and the run goes on", () =>
  withDir(async (dir) => {
    const sinkModule = await plant(
      dir,
      "hangs",
      // Hangs on the first packet of an input with more than 5 packets, as a decoder loop would.
      `let n = 0;
export default () => { n = 0; return { packet() { if (++n === 6) for (;;); } }; };`,
    );
    const s = await fuzz({ ...LIMITS, limitMs: 3000, corpus, seed: 1, inputs: 4, out: `${dir}/f` });
    assertEquals(s.failures, [], "the same inputs without the plant");
    const hung = await fuzz({
      ...LIMITS,
      limitMs: 3000,
      corpus,
      seed: 1,
      inputs: 4,
      out: `${dir}/f`,
      sinkModule,
    });
    assert(hung.failures.length >= 1, "no hang caught");
    for (const f of hung.failures) assertEquals([f.kind, f.detail], ["timeout", "no result after 3000 ms"]);
    assertEquals(hung.inputs, 4, "the run went on after each hang");
    assert(hung.packets > 0, "the inputs after a hang ran");
  }));

Deno.test("memory that keeps growing from input to input is caught", () =>
  withDir(async (dir) => {
    const sinkModule = await plant(
      dir,
      "leaks",
      // 4 MiB kept for good at the end of each input.
      `const kept = [];
export default () => ({ close() { kept.push(new Array(1 << 19).fill(1.5)); } });`,
    );
    const s = await fuzz({
      ...LIMITS,
      growthMb: 16,
      heapEvery: 3,
      corpus,
      seed: 1,
      inputs: 12,
      out: `${dir}/f`,
      sinkModule,
    });
    const growth = s.failures.filter((f) => f.kind === "growth");
    assert(growth.length >= 1, `no growth caught: ${JSON.stringify(s.failures)}`);
    assert(/the heap kept growing/.test(growth[0].detail), growth[0].detail);
  }));

Deno.test("every corpus capture, unmutated, goes through the whole pipeline: exports, EVE, JSON and text report", async () => {
  // The fuzz run found the text report failing on an SSLv2-format hello (no JA3): every capture
  // the fuzzer starts from must render every output before any mutation.
  const pipeline = await Pipeline.create({ reuse: true });
  try {
    const captures = corpusCaptures();
    assert(captures.length >= 200, `corpus captures: ${captures.length}`);
    for (const capture of captures) {
      const { outputs } = await pipeline.run(capture);
      assert(outputs.text.length > 0, capture.name);
    }
  } finally {
    pipeline.free();
  }
});
