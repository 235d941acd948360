// `capture --zeek-logs --zeek-rotate` (root): two curl connections from local ports the test picks,
// 7 s apart, with rotation every second (the decoder's clock is the packets' time: a closed flow's
// record comes out with the first packet 5 s after its end). The first connection's conn.log row lands in a rotated
// file (conn.<open time>.log), the second's in conn.log; each file is a whole Zeek log (header,
// #close). Each row's packets and IP bytes per direction are checked against tshark's reading of
// the pcapng the same run wrote, and its process columns against the curl the test started.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { tsharkFields } from "../helpers/app.ts";
import { curl, LiveWiresight, sleep, waitTcpQuiet, withLab } from "../helpers/live.ts";

interface Row {
  [field: string]: string;
}

function zeekLog(text: string): { rows: Row[]; closed: boolean } {
  const lines = text.trim().split("\n");
  assertEquals(lines[0], "#separator \\x09");
  const fields = lines.find((l) => l.startsWith("#fields\t"))!.split("\t").slice(1);
  const rows = lines.filter((l) => !l.startsWith("#")).map((l) => {
    const cells = l.split("\t");
    return Object.fromEntries(fields.map((f, i) => [f, cells[i]]));
  });
  return { rows, closed: lines.at(-1)!.startsWith("#close\t") };
}

/** Packets and IP bytes from the client port and to it, as tshark reads the capture. */
async function tsharkCounts(pcapng: string, port: number) {
  const rows = (await tsharkFields(pcapng, `tcp.port == ${port}`, ["tcp.srcport", "ip.len"]))
    .map((r) => r.values.map((v) => v[0]));
  const from = rows.filter((r) => r[0] === String(port)), to = rows.filter((r) => r[0] !== String(port));
  const sum = (rs: string[][]) => rs.reduce((n, r) => n + Number(r[1]), 0);
  return [from.length, sum(from), to.length, sum(to)].map(String);
}

Deno.test("capture --zeek-logs writes conn.log rows as connections end and rotates the file", async () => {
  await withLab("wiresight-zeek-", async (net, dir) => {
    const logs = `${dir}/zeek`, pcapng = `${dir}/capture.pcapng`;
    const ws = await LiveWiresight.start(net.client, [
      "-i",
      net.clientIf,
      "-q",
      "--report",
      "none",
      "--zeek-logs",
      logs,
      "--zeek-rotate",
      "1",
      "--write",
      pcapng,
    ]);
    const first = await curl(net, 41001);
    // The first connection's record comes out once its closed flow has lingered (5 s).
    await sleep(7000);
    const second = await curl(net, 41002);
    await waitTcpQuiet(net.client, net.server);
    // Its packets moved time on: the first record is out, and a rotation (every second) follows.
    // The second's record comes out as capture stops (it lingers 5 s first).
    await sleep(2500);
    const r = await ws.stop();
    assertEquals(r.code, 0, r.stderr);

    const names = [...Deno.readDirSync(logs)].map((e) => e.name).sort();
    const rotated = names.filter((n) => /^conn\.\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.log$/.test(n));
    assert(rotated.length >= 1 && names.includes("conn.log"), names.join(" "));
    const rowsOf = (name: string) => {
      const log = zeekLog(Deno.readTextFileSync(`${logs}/${name}`));
      assert(log.closed, `${name} ends with #close`);
      return log.rows;
    };
    const byPort = (rows: Row[], port: number) => rows.filter((x) => x["id.orig_p"] === String(port));
    const inRotated = rotated.flatMap(rowsOf), inCurrent = rowsOf("conn.log");
    assertEquals([byPort(inRotated, first.port).length, byPort(inCurrent, first.port).length], [1, 0]);
    assertEquals([byPort(inRotated, second.port).length, byPort(inCurrent, second.port).length], [0, 1]);

    for (
      const [row, c] of [[byPort(inRotated, first.port)[0], first], [
        byPort(inCurrent, second.port)[0],
        second,
      ]] as const
    ) {
      assertEquals([row["id.resp_h"], row["id.resp_p"], row.proto, row.conn_state], [
        net.serverAddr,
        "8080",
        "tcp",
        "SF",
      ]);
      assert(/^ShAD/.test(row.history) && /Ff|fF/.test(row.history), row.history);
      assertEquals(
        [row.orig_pkts, row.orig_ip_bytes, row.resp_pkts, row.resp_ip_bytes],
        await tsharkCounts(pcapng, c.port),
      );
      assertEquals([row.orig_pid, row.orig_process], [String(c.pid), "curl"]);
      assert(/^1:[A-Za-z0-9+/]{27}=$/.test(row.community_id), row.community_id);
    }
  }, { ipv4Only: true });
});
