// The pcapng writer against Wireshark's tools: packets of every length modulo 4, with and without
// a process comment, past several of the writer's 1 MiB flushes, up to 256 KiB each, read back by
// tshark (timestamps, lengths, comments) and converted by editcap to pcap, whose bytes must equal
// what was written.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { PcapngWriter } from "../src/sinks/pcapng.ts";
import { run } from "./helpers/capture.ts";

interface Written {
  sec: number;
  nsec: number;
  len: number;
  data: Uint8Array;
  comment?: string;
}

function packets(): Written[] {
  let x = 7;
  const rand = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const out: Written[] = [];
  for (let i = 0; i < 3000; i++) {
    // Mostly MTU-sized and small, some 64 KiB (offloaded), some of libpcap's largest snaplen.
    const size = i % 501 === 0 ? 262_144 : i % 97 === 0 ? 65_535 : 1 + Math.floor(rand() * 1514);
    const data = new Uint8Array(size);
    for (let j = 0; j < size; j += 1 + Math.floor(rand() * 64)) data[j] = Math.floor(rand() * 256);
    out.push({
      // Nanoseconds since 1970 pass 2^53: the writer splits them without BigInt, so the seconds
      // span the whole 32-bit range, with the last nanosecond of a second among them.
      sec: i % 4 === 1 ? 4_294_967_295 - i : i % 4 === 2 ? i : 1_700_000_000 + i,
      nsec: i % 11 === 0 ? 999_999_999 : (i * 7_919_113) % 1_000_000_000,
      len: size + (i % 5 === 0 ? 100 : 0),
      data,
      comment: i % 3 === 0 ? `wiresight process role=sent pid=${i} name=c${"x".repeat(i % 7)}` : undefined,
    });
  }
  return out;
}

function pcapRecords(bytes: Uint8Array): { sec: number; frac: number; len: number; data: Uint8Array }[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const out = [];
  for (let off = 24; off + 16 <= bytes.length;) {
    const caplen = v.getUint32(off + 8, true);
    out.push({
      sec: v.getUint32(off, true),
      frac: v.getUint32(off + 4, true),
      len: v.getUint32(off + 12, true),
      data: bytes.subarray(off + 16, off + 16 + caplen),
    });
    off += 16 + caplen;
  }
  return out;
}

Deno.test("pcapng writer: tshark reads every packet's time, lengths and comment; editcap gives back the bytes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_pcapng_" });
  try {
    const written = packets();
    // Linktype 147 (user 0): tshark shows the bytes as data, whatever they hold.
    const w = await PcapngWriter.create(`${dir}/w.pcapng`, 147, 262_144, "test0");
    // A comment given as text or as its UTF-8 bytes (as capture --write gives it) reads the same.
    for (const [i, p] of written.entries()) {
      w.packet(
        p.sec,
        p.nsec,
        p.len,
        p.data,
        i % 2 && p.comment ? new TextEncoder().encode(p.comment) : p.comment,
      );
    }
    w.close();

    const fields = await run("tshark", [
      "-r",
      `${dir}/w.pcapng`,
      "-T",
      "fields",
      "-E",
      "separator=|",
      "-e",
      "frame.time_epoch",
      "-e",
      "frame.cap_len",
      "-e",
      "frame.len",
      "-e",
      "frame.comment",
    ]);
    const rows = fields.trim().split("\n").map((l) => l.split("|"));
    assertEquals(
      rows.map((r) => [r[0], Number(r[1]), Number(r[2]), r[3]]),
      written.map((p) => [
        `${p.sec}.${String(p.nsec).padStart(9, "0")}`,
        p.data.length,
        p.len,
        p.comment ?? "",
      ]),
    );

    await run("editcap", ["-F", "pcap", `${dir}/w.pcapng`, `${dir}/w.pcap`]);
    const back = pcapRecords(await Deno.readFile(`${dir}/w.pcap`));
    assertEquals(back.length, written.length);
    for (let i = 0; i < written.length; i++) {
      const p = written[i], b = back[i];
      assertEquals([b.sec, b.len], [p.sec, p.len], `packet ${i}`);
      assertEquals(
        b.data.length === p.data.length && b.data.every((x, j) => x === p.data[j]),
        true,
        `packet ${i}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
