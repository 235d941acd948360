// pcapng blocks besides packets: name resolution (NRB) and interface statistics (ISB). The file is
// built here per the pcapng spec around real frames; tshark's reading of it is the oracle.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { analyze } from "../mod.ts";
import { runTool } from "./helpers/tool.ts";
import { concat } from "./helpers/util.ts";
import { block, END_OF_OPTIONS, option, pad4, u16, u32, u64 } from "./helpers/pcapng.ts";

const enc = new TextEncoder();

/** An Ethernet/IPv4/UDP frame between two addresses. */
function udpFrame(src: number[], dst: number[]): Uint8Array {
  const payload = enc.encode("wiresight");
  const udp = concat(
    u16(0x3930).reverse(),
    u16(0x3500).reverse(),
    new Uint8Array([0, 8 + payload.length, 0, 0]),
    payload,
  );
  const ip = new Uint8Array(20);
  ip.set([0x45, 0, 0, 20 + udp.length, 0, 0, 0, 0, 64, 17, 0, 0, ...src, ...dst]);
  return concat(new Uint8Array([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0]), ip, udp);
}

function capture(): Uint8Array {
  const shb = block(
    0x0a0d0d0a,
    concat(u32(0x1a2b3c4d), u16(1), u16(0), u64(2 ** 32 * 2 ** 32 - 1).fill(0xff), END_OF_OPTIONS),
  );
  const idb = block(
    1,
    concat(u16(1), u16(0), u32(65535), option(2, enc.encode("eth-test")), END_OF_OPTIONS),
  );
  const frames = [udpFrame([192, 0, 2, 1], [198, 51, 100, 7]), udpFrame([198, 51, 100, 7], [192, 0, 2, 1])];
  const epbs = frames.map((f, i) =>
    block(
      6,
      concat(u32(0), u32(0), u32(1_700_000_000 + i), u32(f.length), u32(f.length), pad4(f), END_OF_OPTIONS),
    )
  );
  const record = (type: number, value: Uint8Array) => concat(u16(type), u16(value.length), pad4(value));
  const nrb = block(
    4,
    concat(
      record(1, concat(new Uint8Array([192, 0, 2, 1]), enc.encode("client.example\0"))),
      record(1, concat(new Uint8Array([198, 51, 100, 7]), enc.encode("server.example\0alias.example\0"))),
      record(
        2,
        concat(
          new Uint8Array([0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), 1]),
          enc.encode("v6.example\0"),
        ),
      ),
      new Uint8Array(4),
      END_OF_OPTIONS,
    ),
  );
  const isb = block(
    5,
    concat(
      u32(0),
      u32(0),
      u32(1_700_000_002),
      option(4, u64(1234)),
      option(5, u64(17)),
      option(7, u64(3)),
      END_OF_OPTIONS,
    ),
  );
  return concat(shb, idb, nrb, ...epbs, isb);
}

Deno.test("names from a name resolution block and counters from an interface statistics block", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_blocks_" });
  try {
    const path = `${dir}/blocks.pcapng`;
    await Deno.writeFile(path, capture());
    const tshark = await runTool("tshark", ["-r", path, "-q", "-z", "hosts"]);
    const tsharkNames = new Map(
      tshark.stdout.split("\n").filter((l) => /^[\d:a-f.]+\t/.test(l)).map((l) =>
        l.split("\t") as [string, string]
      ),
    );
    assertEquals(tsharkNames.size, 3, "tshark reads the three name records");
    const capinfos = await runTool("capinfos", [path]);
    assertEquals(
      /Number of stat entries = 1/.test(capinfos.stdout),
      true,
      "capinfos reads the ISB",
    );

    const report = await analyze(path);
    assertEquals(report.packets, 2);
    // A record may list several names: wiresight keeps the first (the canonical name; the rest are
    // aliases, as in /etc/hosts), tshark the last one.
    assertEquals(tsharkNames.get("198.51.100.7"), "alias.example");
    tsharkNames.set("198.51.100.7", "server.example");
    for (const t of report.top_talkers) assertEquals(t.name, tsharkNames.get(t.address) ?? null, t.address);
    assertEquals(report.top_talkers.map((t) => t.name).sort(), ["client.example", "server.example"]);
    assertEquals(report.interfaces.map((i) => [i.name, i.received, i.dropped, i.os_dropped]), [[
      "eth-test",
      1234,
      17,
      3,
    ]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
