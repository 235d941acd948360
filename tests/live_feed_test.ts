// Live records go into the decoder's input buffer (src/source/live.ts, feedRecords); more than it
// holds at once (what an application hold lets go at the end of a capture) goes in several calls,
// cut between records, and every packet is decoded once.
import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { Decoder } from "../src/decoder/decoder.ts";
import { Records } from "../src/source/framing.ts";
import { feedRecords, LIVE_INPUT_BYTES } from "../src/source/live.ts";
import { corpusFile } from "./helpers/corpus.ts";

async function packetsOf(header: Uint8Array, batches: Uint8Array[]): Promise<number[]> {
  const d = await Decoder.create({ inputBytes: LIVE_INPUT_BYTES, packets: { payloadMax: 0 } });
  const lengths: number[] = [];
  const handlers = { packet: (p: { wirelen: number }) => void lengths.push(p.wirelen) };
  try {
    d.beginFile();
    feedRecords(d, header, false, handlers);
    for (const b of batches) feedRecords(d, b, false, handlers);
    feedRecords(d, new Uint8Array(0), true, handlers);
  } finally {
    d.free();
  }
  return lengths;
}

Deno.test("live feed: records beyond the input buffer go in parts, each packet decoded once", async () => {
  // A classic pcap's records are framed as live records are: the file minus its 24-byte header.
  const file = await Deno.readFile(corpusFile("afs.pcap"));
  const header = file.subarray(0, 24), records = file.subarray(24);
  let count = 0;
  for (const r = new Records(records); r.next();) count++;
  const copies = Math.ceil(LIVE_INPUT_BYTES / records.length) + 1;
  const big = new Uint8Array(records.length * copies);
  for (let i = 0; i < copies; i++) big.set(records, i * records.length);
  assert(big.length > LIVE_INPUT_BYTES, "the batch must not fit at once");

  const once = await packetsOf(header, [big]);
  const apart = await packetsOf(header, Array.from({ length: copies }, () => records));
  assertEquals(once.length, count * copies);
  assertEquals(once, apart);
});

Deno.test("live feed: a record larger than the input buffer is an error, not a crash", async () => {
  const d = await Decoder.create({ inputBytes: LIVE_INPUT_BYTES, packets: { payloadMax: 0 } });
  try {
    d.beginFile();
    const file = await Deno.readFile(corpusFile("afs.pcap"));
    feedRecords(d, file.subarray(0, 24), false, {});
    const huge = new Uint8Array(16 + LIVE_INPUT_BYTES);
    new DataView(huge.buffer).setUint32(8, LIVE_INPUT_BYTES, true);
    new DataView(huge.buffer).setUint32(12, LIVE_INPUT_BYTES, true);
    throws(() => feedRecords(d, huge, false, {}), /larger than the decoder's input/);
  } finally {
    d.free();
  }
});
