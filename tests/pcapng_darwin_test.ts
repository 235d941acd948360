// Apple's process information in pcapng, as Apple's libpcap defines it (apple-open-source/macos
// @7331659 libpcap/libpcap/pcap/pcap-ng.h: process information block PCAPNG_BT_PIB 0x80000001 with
// a u32 pid and options PCAPNG_PIB_NAME 2 and PCAPNG_PIB_PATH 3; enhanced packet option
// PCAPNG_EPB_PIB_INDEX 0x8001, the index of the packet's block in the section), with epb_flags
// giving the direction. Read from a file laid out here around a real capture's frames and written
// by the pcapng writer; tshark's pcapng file dissector is the oracle for the blocks, and `read
// --lines` must name each packet's process.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { PcapngWriter } from "../src/sinks/pcapng.ts";
import { corpusFile } from "./helpers/corpus.ts";
import { run } from "./helpers/cli.ts";
import { runCli } from "./helpers/run_cli.ts";
import { block, END_OF_OPTIONS, option, pad4, u16, u32 } from "./helpers/pcapng.ts";
import { concat } from "./helpers/util.ts";

const enc = new TextEncoder();
const SOURCE = "sv-http-all-headers.pcap";

/** The link type and first `n` frames of a pcap file (little-endian, microseconds). */
function pcapFrames(
  path: string,
  n: number,
): { linktype: number; frames: { sec: number; usec: number; data: Uint8Array }[] } {
  const bytes = Deno.readFileSync(path);
  const v = new DataView(bytes.buffer);
  assertEquals(v.getUint32(0, true), 0xa1b2c3d4, "a little-endian microsecond pcap");
  const frames = [];
  for (let off = 24; off + 16 <= bytes.length && frames.length < n;) {
    const caplen = v.getUint32(off + 8, true);
    frames.push({
      sec: v.getUint32(off, true),
      usec: v.getUint32(off + 4, true),
      data: bytes.slice(off + 16, off + 16 + caplen),
    });
    off += 16 + caplen;
  }
  return { linktype: v.getUint32(20, true), frames };
}

/** The Darwin blocks tshark's pcapng file dissector finds: pids, names, each packet's block index. */
async function tsharkDarwin(path: string): Promise<string[]> {
  const r = await run("tshark", [
    "-r",
    path,
    "-X",
    "read_format:MIME Files Format",
    "-T",
    "fields",
    "-e",
    "pcapng.darwin.process_id",
    "-e",
    "pcapng.darwin.process_name",
    "-e",
    "pcapng.options.option.data.packet.darwin.dpeb_id",
  ]);
  assertEquals(r.code, 0, r.stderr);
  return r.stdout.trim().split("\t");
}

/** Dir and Process of each packet line of `read --lines` (the process as "name(pid)", "-" for none). */
async function directionsAndProcesses(
  path: string,
  count: number,
  names: string[],
): Promise<[string, string][]> {
  const r = await runCli(["read", path, "--lines", "-c", String(count)], {
    env: { TZ: "UTC", NO_COLOR: "1" },
  });
  assertEquals(r.code, 0, r.stderr);
  return r.stdout.trim().split("\n").slice(1).map((line) => {
    const dir = line.split(/\s+/)[1];
    // Process follows the eight columns (a name may hold a space), then the application.
    const rest = line.match(/^(?:\S+\s+){8}(.*)$/)![1];
    return [dir, names.find((n) => rest === n || rest.startsWith(n + " ")) ?? rest.split(/\s+/)[0]];
  });
}

Deno.test("read: Darwin process blocks name each packet's process, epb_flags its direction", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_darwin_" });
  try {
    const { linktype, frames } = pcapFrames(corpusFile(SOURCE), 5);
    const pib = (pid: number, name: string, path?: string) =>
      block(
        0x80000001,
        concat(
          u32(pid),
          option(2, enc.encode(name)),
          ...(path ? [option(3, enc.encode(path))] : []),
          END_OF_OPTIONS,
        ),
      );
    // Per packet: its process block's index and epb_flags (1 inbound, 2 outbound), or nothing.
    const notes: ([number, number | null] | null)[] = [[0, 2], [0, 1], null, [1, null], null];
    const epbs = frames.map((f, i) => {
      const note = notes[i];
      const options = note
        ? concat(
          option(0x8001, u32(note[0])),
          ...(note[1] === null ? [] : [option(2, u32(note[1]))]),
          END_OF_OPTIONS,
        )
        : END_OF_OPTIONS;
      const ts = BigInt(f.sec) * 1_000_000n + BigInt(f.usec);
      return block(
        6,
        concat(
          u32(0),
          u32(Number(ts >> 32n)),
          u32(Number(ts & 0xffffffffn)),
          u32(f.data.length),
          u32(f.data.length),
          pad4(f.data),
          options,
        ),
      );
    });
    const file = concat(
      block(
        0x0a0d0d0a,
        concat(u32(0x1a2b3c4d), u16(1), u16(0), new Uint8Array(8).fill(0xff), END_OF_OPTIONS),
      ),
      block(1, concat(u16(linktype), u16(0), u32(65535), END_OF_OPTIONS)),
      pib(812, "curl", "/usr/bin/curl"),
      pib(90, "nsurlsessiond"),
      ...epbs,
    );
    const path = `${dir}/darwin.pcapng`;
    Deno.writeFileSync(path, file);
    // tshark's reading of the blocks: two processes; packets pointing at blocks 0, 0 and 1.
    assertEquals(await tsharkDarwin(path), ["812,90", "curl,nsurlsessiond", "0,0,1"]);
    assertEquals(await directionsAndProcesses(path, 5, ["curl(812)", "nsurlsessiond(90)"]), [
      ["OUT", "curl(812)"],
      ["IN", "curl(812)"],
      ["-", "-"],
      ["OUT", "nsurlsessiond(90)"],
      ["-", "-"],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pcapng writer: process information blocks tshark reads, and read names them back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_darwin_" });
  try {
    const { linktype, frames } = pcapFrames(corpusFile(SOURCE), 4);
    const path = `${dir}/written.pcapng`;
    const w = await PcapngWriter.create(path, linktype, 65535, "en0");
    const curl = w.process(4242, "curl");
    const safari = w.process(7, "Web Content");
    assertEquals([curl, safari], [0, 1]);
    const at = (i: number) =>
      [frames[i].sec, frames[i].usec * 1000, frames[i].data.length, frames[i].data] as const;
    // Blocks alone (as a file from macOS): read takes the process from the block.
    w.packet(...at(0), undefined, curl);
    w.packet(...at(1), undefined, safari);
    // With wiresight's comment, the comment (direction included) wins.
    w.packet(...at(2), "wiresight process role=received pid=4242 name=curl", curl);
    w.packet(...at(3));
    w.close();
    assertEquals(await tsharkDarwin(path), ["4242,7", "curl,Web Content", "0,1,0"]);
    assertEquals(await directionsAndProcesses(path, 4, ["curl(4242)", "Web Content(7)"]), [
      ["OUT", "curl(4242)"],
      ["OUT", "Web Content(7)"],
      ["IN", "curl(4242)"],
      ["-", "-"],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
