// One session builder behind every entry point: the same capture gives the same flow rows through
// `read --export-type flows`, the library's readFlows and the web view's analysis (its stored
// rows), names included (SNI, Host) and the processes a wiresight pcapng noted per packet.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { readFlows } from "../mod.ts";
import { processComment } from "../src/proc/comment.ts";
import { analyzeIntoSession } from "../src/server/analysis.ts";
import { PcapngWriter } from "../src/sinks/pcapng.ts";
import { FLOW_ROWS } from "../src/sinks/rows.ts";
import { openStore } from "../src/store/open.ts";
import { corpusFile } from "./helpers/corpus.ts";
import { runCli } from "./helpers/run_cli.ts";

/**
 * A real capture rewritten as a wiresight pcapng: each packet's comment notes a process, the
 * sender's (a client "curl" for packets from the first packet's source, else a server "nginx").
 */
async function commentedCapture(source: string, out: string): Promise<void> {
  const bytes = await Deno.readFile(source);
  const v = new DataView(bytes.buffer);
  const w = await PcapngWriter.create(out, v.getUint32(20, true), v.getUint32(16, true), "eth0");
  // The IPv4 source address of an Ethernet frame.
  const sender = (off: number) => v.getUint32(off + 16 + 26);
  const client = sender(24);
  for (let off = 24; off + 16 <= bytes.length;) {
    const caplen = v.getUint32(off + 8, true);
    const data = bytes.subarray(off + 16, off + 16 + caplen);
    const process = sender(off) === client
      ? { pid: 4242, name: "curl", exe: "/usr/bin/curl", cmdline: "curl", uid: 1000, user: "alice" }
      : { pid: 80, name: "nginx", exe: "/usr/sbin/nginx", cmdline: "nginx", uid: 33, user: "www-data" };
    w.packet(
      v.getUint32(off, true),
      v.getUint32(off + 4, true) * 1000,
      v.getUint32(off + 12, true),
      data,
      processComment(process, true),
    );
    off += 16 + caplen;
  }
  w.close();
}

const byFlow = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  Number(a.flow_id) - Number(b.flow_id) || Number(a.record_seq) - Number(b.record_seq);

const CAPTURES: [string, string | null][] = [["sv-http-all-headers.pcap", "www.ethereal.com"], [
  "sv-ja4-tls.pcap",
  null,
]];

for (const [name, named] of CAPTURES) {
  Deno.test(`read, the library and the web view give the same flow rows for ${name}`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight_session_" });
    try {
      const capture = `${dir}/noted.pcapng`;
      await commentedCapture(corpusFile(name), capture);

      const r = await runCli([
        "read",
        capture,
        "-q",
        "--export",
        `${dir}/flows.ndjson`,
        "--export-type",
        "flows",
      ]);
      assertEquals(r.code, 0, r.stderr);
      const fromRead = (await Deno.readTextFile(`${dir}/flows.ndjson`)).trim().split("\n").map((l) =>
        JSON.parse(l)
      );

      const fromLibrary = [];
      for await (const f of readFlows(capture, { geoip: true })) {
        fromLibrary.push(
          FLOW_ROWS.row({
            record: f,
            serverName: f.serverName,
            owner: f.process,
            responder: null,
            communityId: f.communityId,
            srcGeo: f.srcGeo,
            dstGeo: f.dstGeo,
          }),
        );
      }

      const store = await openStore({ dbPath: `${dir}/history.sqlite` });
      const id = await store.createSession({ kind: "upload", name: name, sensor: "test" });
      await analyzeIntoSession(store, id, [capture]);
      const stored = (await store.flows(id, { limit: 1000, offset: 0 })).rows.map((row) =>
        Object.fromEntries(Object.keys(fromRead[0]).map((k) => [k, row[k] ?? null]))
      );
      await store.close();

      assertEquals(fromRead.length > 0, true);
      // Every flow is named and owned: the comments' processes reached the rows.
      for (const row of fromRead) {
        assertEquals([row.process, row.pid !== null], ["curl", true], JSON.stringify(row));
      }
      // Named by its HTTP Host (the TLS hello of the other sends no SNI).
      assertEquals(fromRead[0].server_name, named);
      assertEquals(fromLibrary.sort(byFlow), [...fromRead].sort(byFlow), "library");
      assertEquals(stored.sort(byFlow), [...fromRead].sort(byFlow), "web view");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
