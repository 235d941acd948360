// The WinDivert capture backend's parts that run anywhere: splitting a receive's back-to-back IP
// packets by their own headers (real captures' IP packets; tshark's IP lengths are the oracle),
// performance-counter timestamps, and the command line refusing it where it cannot run.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { counterTime, splitPackets } from "../src/source/windivert_capture.ts";
import { corpusFile } from "./helpers/corpus.ts";
import { run } from "./helpers/cli.ts";
import { runCli } from "./helpers/run_cli.ts";
import { concat } from "./helpers/util.ts";

/** The frames of a little-endian pcap file, without their first `linkBytes` (the link header). */
function ipPackets(path: string, linkBytes: number): Uint8Array[] {
  const bytes = Deno.readFileSync(path);
  const v = new DataView(bytes.buffer);
  const out: Uint8Array[] = [];
  for (let off = 24; off + 16 <= bytes.length;) {
    const caplen = v.getUint32(off + 8, true);
    out.push(bytes.slice(off + 16 + linkBytes, off + 16 + caplen));
    off += 16 + caplen;
  }
  return out;
}

// Raw-IP captures, and Ethernet ones (34 IPv4 packets, 4 IPv6 ones) with the 14-byte header cut.
const CAPTURES: [string, number][] = [
  ["LINKTYPE_RAW_ipv4.pcap", 0],
  ["LINKTYPE_RAW_ipv6.pcap", 0],
  ["sv-http-all-headers.pcap", 14],
  ["ipv6-routing-header.pcap", 14],
];

for (const [name, linkBytes] of CAPTURES) {
  Deno.test(`WinDivert batches: ${name}'s IP packets back to back split as tshark measures them`, async () => {
    const path = corpusFile(name);
    const r = await run("tshark", [
      "-r",
      path,
      "-T",
      "fields",
      "-e",
      "ip.len",
      "-e",
      "ipv6.plen",
      "-e",
      "frame.cap_len",
    ]);
    assertEquals(r.code, 0, r.stderr);
    // Whole packets only (no Ethernet padding): what WinDivert hands over.
    const theirs = r.stdout.trimEnd().split("\n").map((l) => l.split("\t")).map(([v4, v6, cap]) => ({
      length: v4 ? Number(v4.split(",")[0]) : 40 + Number(v6.split(",")[0]),
      cap: Number(cap) - linkBytes,
    }));
    const all = ipPackets(path, linkBytes);
    assertEquals(all.length, theirs.length);
    const whole = all.filter((_, i) => theirs[i].length === theirs[i].cap);
    const expected = theirs.filter((t) => t.length === t.cap).map((t) => t.length);
    assert(whole.length > 0, "no whole packets");
    assertEquals(splitPackets(concat(...whole), whole.length), expected);
    // A count below what is there stops at it; a cut last packet is left out.
    assertEquals(splitPackets(concat(...whole), 1), expected.slice(0, 1));
    const cut = concat(...whole).subarray(0, expected.reduce((a, b) => a + b, 0) - 1);
    assertEquals(splitPackets(cut, whole.length), expected.slice(0, -1));
  });
}

Deno.test("WinDivert timestamps: performance-counter ticks to epoch seconds and microseconds", () => {
  const base = { ticks: 5_000_000_000n, perSecond: 10_000_000n, epochMs: 1_700_000_000_123 };
  assertEquals(counterTime(base.ticks, base), { sec: 1_700_000_000, usec: 123_000 });
  // 12,345,678 ticks at 10 MHz: 1.2345678 s later.
  assertEquals(counterTime(base.ticks + 12_345_678n, base), { sec: 1_700_000_001, usec: 357_567 });
});

Deno.test("capture --backend: windivert is refused off Windows, unknown names are usage errors", async () => {
  const env = { NO_COLOR: "1" };
  const off = await runCli(["capture", "--backend", "windivert", "--attribution", "off", "-c", "1"], { env });
  assertEquals(off.code, 2, off.stderr);
  assert(off.stderr.includes("--backend windivert captures on Windows only"), off.stderr);
  const bad = await runCli(["capture", "--backend", "npf", "-c", "1"], { env });
  assertEquals(bad.code, 2, bad.stderr);
  assert(bad.stderr.includes("libpcap") && bad.stderr.includes("windivert"), bad.stderr);
});
