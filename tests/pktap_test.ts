// Apple PKTAP captures (macOS `tcpdump -i pktap,en0 -w`, LINKTYPE_PKTAP 258): each packet behind a
// pktap_header naming its interface, link type, direction and process. The file is laid out here
// around a real capture's Ethernet frames, the header's fields placed by C's layout rules from
// xnu's declaration (apple-oss-distributions/xnu@e3723e1 bsd/net/pktap.h:89-114). tshark's PKTAP
// dissector is the oracle: the file must read there as PKTAP with the same inner packets, and
// `read --lines` must show each packet's addresses as tshark does, with its direction and process.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { corpusFile } from "./helpers/corpus.ts";
import { run } from "./helpers/cli.ts";
import { runCli } from "./helpers/run_cli.ts";
import { type CField, cLayout } from "./helpers/c_abi.ts";
import { concat } from "./helpers/util.ts";

const u32 = (n: string): CField => [n, 4, 4];
const u16 = (n: string): CField => [n, 2, 2];
const chars = (n: string, size: number): CField => [n, size, 1];

const PKTAP = cLayout([
  u32("pth_length"),
  u32("pth_type_next"),
  u32("pth_dlt"),
  chars("pth_ifname", 24), // PKTAP_IFXNAMESIZE: IF_NAMESIZE 16 + 8 (pktap.h:43)
  u32("pth_flags"),
  u32("pth_protocol_family"),
  u32("pth_frame_pre_length"),
  u32("pth_frame_post_length"),
  u32("pth_pid"),
  chars("pth_comm", 17), // MAXCOMLEN + 1
  chars("pth_ipproto", 1),
  u16("pth_trace_tag"),
  u32("pth_svc"),
  u16("pth_iftype"),
  u16("pth_ifunit"),
  u32("pth_epid"),
  chars("pth_ecomm", 17),
  chars("pth_pad2", 1),
  u16("pth_pad3"),
  u32("pth_flowid"),
  u32("pth_comp_gencnt"),
  ["pth_tstamp", 8, 4], // struct timeval32
  chars("pth_uuid", 16),
  chars("pth_euuid", 16),
]);
/** pktap.h:124 PTH_TYPE_PACKET; :204-205 PTH_FLAG_DIR_IN, PTH_FLAG_DIR_OUT. */
const PTH_TYPE_PACKET = 1, DIR_IN = 1, DIR_OUT = 2;
const enc = new TextEncoder();

function header(dlt: number, flags: number, pid: number, comm: string): Uint8Array {
  const h = new Uint8Array(PKTAP.size);
  const v = new DataView(h.buffer);
  const o = PKTAP.offsets;
  v.setUint32(o.pth_length, PKTAP.size, true);
  v.setUint32(o.pth_type_next, PTH_TYPE_PACKET, true);
  v.setUint32(o.pth_dlt, dlt, true);
  h.set(enc.encode("en0"), o.pth_ifname);
  v.setUint32(o.pth_flags, flags, true);
  v.setUint32(o.pth_pid, pid, true);
  h.set(enc.encode(comm), o.pth_comm);
  v.setUint32(o.pth_epid, pid, true);
  h.set(enc.encode(comm), o.pth_ecomm);
  return h;
}

/** The capture's records with each frame behind a PKTAP header; `who` picks each one's process. */
function pktapCapture(path: string, who: (frame: Uint8Array, i: number) => Uint8Array | null): Uint8Array {
  const bytes = Deno.readFileSync(path);
  const v = new DataView(bytes.buffer);
  assertEquals(
    [v.getUint32(0, true), v.getUint32(20, true)],
    [0xa1b2c3d4, 1],
    "a little-endian Ethernet pcap",
  );
  const out: Uint8Array[] = [bytes.slice(0, 20), new Uint8Array([2, 1, 0, 0])]; // LINKTYPE_PKTAP 258
  for (let off = 24, i = 0; off + 16 <= bytes.length; i++) {
    const caplen = v.getUint32(off + 8, true), len = v.getUint32(off + 12, true);
    const frame = bytes.subarray(off + 16, off + 16 + caplen);
    const h = who(frame, i) ?? header(1, 0, 0, "");
    const rec = new DataView(new ArrayBuffer(16));
    rec.setUint32(0, v.getUint32(off, true), true);
    rec.setUint32(4, v.getUint32(off + 4, true), true);
    rec.setUint32(8, caplen + h.length, true);
    rec.setUint32(12, len + h.length, true);
    out.push(new Uint8Array(rec.buffer), h, frame);
    off += 16 + caplen;
  }
  return concat(...out);
}

async function fields(path: string, names: string[]): Promise<string[][]> {
  const r = await run("tshark", ["-r", path, "-T", "fields", ...names.flatMap((n) => ["-e", n])]);
  assertEquals(r.code, 0, r.stderr);
  return r.stdout.trimEnd().split("\n").map((l) => l.split("\t"));
}

Deno.test("read: a PKTAP capture's packets as tshark reads them, each with its process and direction", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_pktap_" });
  try {
    const source = corpusFile("sv-http-all-headers.pcap");
    // The client's packets (to port 80) are curl's going out, the server's come in to it; every
    // fifth packet names no process (pid 0, the kernel).
    const file = pktapCapture(source, (f, i) => {
      if (i % 5 === 4) return null;
      const dport = new DataView(f.buffer, f.byteOffset).getUint16(14 + (f[14] & 0x0f) * 4 + 2);
      return header(1, dport === 80 ? DIR_OUT : DIR_IN, 812, "curl");
    });
    const path = `${dir}/pktap.pcap`;
    Deno.writeFileSync(path, file);
    const ip = ["ip.src", "tcp.srcport", "ip.dst", "tcp.dstport"];
    const theirs = await fields(path, ["pktap.pid", "pktap.cmdname", "pktap.dlt", ...ip]);
    // tshark reads it as PKTAP and finds the same packets inside as in the original capture.
    assertEquals(theirs.map((f) => f.slice(3)), await fields(source, ip));
    assertEquals(
      theirs.filter((f) => f[0] === "812" && f[1] === "curl").length,
      theirs.length - Math.floor(theirs.length / 5),
    );
    const r = await runCli(["read", path, "--lines"], { env: { TZ: "UTC", NO_COLOR: "1" } });
    assertEquals(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n").slice(1);
    assertEquals(lines.length, theirs.length);
    for (const [i, f] of theirs.entries()) {
      const [, dirCol, , , src, dst, , , process] = lines[i].split(/\s+/);
      const what = `packet ${i + 1}: ${lines[i]}`;
      assertEquals([src, dst], [`${f[3]}:${f[4]}`, `${f[5]}:${f[6]}`], what);
      const expected = i % 5 === 4 ? ["-", "-"] : [f[6] === "80" ? "OUT" : "IN", "curl(812)"];
      assertEquals([dirCol, process], expected, what);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
