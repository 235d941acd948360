// How a live capture ends (root): after -c N packets, after -t S seconds, on Ctrl+C (SIGINT) or
// SIGTERM. Each time the final report comes out, every export is complete and parseable, and the
// pcapng reads back in tshark with the report's packet count. Real curl clients talk to a real
// server across two network namespaces; tcpdump captures the same interface as the reference.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parse as parseCsv } from "csv-parse/sync";
import { tsharkFields } from "./helpers/app.ts";
import { captureLoopback } from "./helpers/capture.ts";
import type { NetPair } from "./helpers/netns.ts";
import {
  curl,
  LiveWiresight,
  packetKeys,
  readBack,
  waitPcapngPackets,
  waitTcpQuiet,
  withLab,
} from "./helpers/live.ts";
import { waitFor } from "./helpers/wait.ts";

const lab = (fn: (net: NetPair, dir: string) => Promise<void>) => withLab("wiresight_stop_", fn);

/** Counted captures: what they keep, how many, and tshark's display filter for the same packets. */
const COUNTED = [
  { args: ["-f", "tcp", "-c", "7"], count: 7, filter: () => "tcp" },
  // Counted after wiresight's own filters: the first five packets coming in.
  {
    args: ["--direction", "in", "-c", "5"],
    count: 5,
    filter: (net: NetPair) => `ip.dst == ${net.clientAddr} or arp.dst.proto_ipv4 == ${net.clientAddr}`,
  },
];

Deno.test("capture -c N: exactly the first N packets, in the pcapng, the report and the export", () =>
  withLab("wiresight_count_", async (net, dir) => {
    const reference = await captureLoopback(dir, "reference.pcap", "", net.client, net.clientIf);
    const runs = await Promise.all(COUNTED.map((c, i) =>
      LiveWiresight.start(net.client, [
        ...["-i", net.clientIf, "-q", "--report", "json", ...c.args],
        ...["--write", `${dir}/${i}.pcapng`, "--export", `${dir}/${i}.ndjson`],
      ])
    ));
    // Three connections of about 12 packets each: the captures must stop inside the first.
    for (let i = 0; i < 3; i++) await curl(net, 41000 + i);
    const results = await Promise.all(runs.map((r) => r.exited()));
    await waitTcpQuiet(net.client, net.server);
    await reference.stop();
    for (const [i, c] of COUNTED.entries()) {
      const r = results[i];
      const what = c.args.join(" ");
      assertEquals(r.code, 0, r.stderr);
      assertEquals(JSON.parse(r.stdout).packets, c.count, what);
      const rows = (await Deno.readTextFile(`${dir}/${i}.ndjson`)).trim().split("\n").map((l) =>
        JSON.parse(l)
      );
      assertEquals(rows.map((x) => x.frame), [...Array(c.count).keys()].map((n) => n + 1), what);
      assertEquals(await readBack(`${dir}/${i}.pcapng`), { packets: c.count, tsharkErrors: "" }, what);
      // The very packets of that kind tcpdump saw first.
      const frames = await tsharkFields(`${dir}/reference.pcap`, c.filter(net), []);
      const first = frames.slice(0, c.count).map((f) => f.frame);
      assertEquals(
        await packetKeys(`${dir}/${i}.pcapng`),
        await packetKeys(`${dir}/reference.pcap`, `frame.number in {${first.join(",")}}`),
        what,
      );
    }
  }, { ipv4Only: true }));

Deno.test("capture -t S: ends by its timer, not before, with its report; -s N keeps N bytes a packet", () =>
  lab(async (net, dir) => {
    // Before the start: the timer starts after this, so no load can make -t look early.
    const started = performance.now();
    const ws = await LiveWiresight.start(net.client, [
      "-i",
      net.clientIf,
      "-t",
      "2",
      "-s",
      "100",
      "-q",
      "--report",
      "json",
      "--write",
      `${dir}/t.pcapng`,
    ]);
    // Traffic for as long as it captures, however slowly a loaded machine runs the clients.
    let capturing = true;
    const traffic = (async () => {
      for (let port = 41100; capturing; port++) await curl(net, port);
    })();
    // Nothing else stops it (no count, no signal; exited() would kill it only after a minute, and
    // a kill is no exit 0): it ends by its timer, which never fires early.
    const r = await ws.exited().finally(() => (capturing = false));
    const took = (performance.now() - started) / 1000;
    await traffic;
    assertEquals(r.code, 0, r.stderr);
    assert(took >= 2, `-t 2 ended after ${took.toFixed(2)} s`);
    const report = JSON.parse(r.stdout);
    assert(report.packets >= 10, `the curl exchange: ${report.packets} packets`);
    assertEquals(report.capture.interface, net.clientIf);
    assertEquals(await readBack(`${dir}/t.pcapng`), { packets: report.packets, tsharkErrors: "" });
    // The snapshot length: tshark sees every frame cut to 100 bytes, the long ones shorter than sent.
    const sizes = (await tsharkFields(`${dir}/t.pcapng`, "frame", ["frame.cap_len", "frame.len"]))
      .map((f) => f.values.map((v) => Number(v[0])));
    assert(sizes.every(([cap, len]) => cap === Math.min(len, 100)), JSON.stringify(sizes));
    assertEquals(report.truncated_packets, sizes.filter(([, len]) => len > 100).length);
    assert(report.truncated_packets > 0);
  }));

interface StopCase {
  signal: Deno.Signal;
  export: string;
  type: "packets" | "flows";
  /** The final report's format (json unless said). */
  report?: "text";
  /** The rows of the export file, parsed. */
  rows(text: string): Record<string, unknown>[];
}

const CASES: StopCase[] = [
  { signal: "SIGINT", export: "x.json", type: "packets", rows: (t) => JSON.parse(t) },
  {
    signal: "SIGTERM",
    export: "x.ndjson",
    type: "flows",
    rows: (t) => t.trim().split("\n").map((l) => JSON.parse(l)),
  },
  { signal: "SIGTERM", export: "x.csv", type: "packets", rows: (t) => parseCsv(t, { columns: true }) },
  {
    signal: "SIGINT",
    export: "x.csv",
    type: "flows",
    report: "text",
    rows: (t) => parseCsv(t, { columns: true }),
  },
];

Deno.test("capture stopped by SIGINT or SIGTERM: final report, exports complete, pcapng whole", () =>
  lab(async (net, dir) => {
    // What the interface carried, for knowing when each capture has seen all of it.
    // The four captures run side by side on the same interface, through the same traffic.
    const runs = await Promise.all(CASES.map(async (c, i) => {
      const path = `${dir}/${i}-${c.export}`;
      const ws = await LiveWiresight.start(net.client, [
        "-i",
        net.clientIf,
        "-q",
        "--report",
        c.report ?? "json",
        "--export",
        path,
        "--export-type",
        c.type,
        "--write",
        `${dir}/${i}.pcapng`,
      ]);
      return { c, path, ws, pcapng: `${dir}/${i}.pcapng` };
    }));
    const reference = await captureLoopback(dir, "reference.pcap", "", net.client, net.clientIf);
    for (let i = 0; i < 4; i++) await curl(net, 41200 + i);
    await waitTcpQuiet(net.client, net.server);
    await reference.stop();
    const { packets: sent } = await readBack(reference.path);
    assert(sent >= 40, `the four curl exchanges: ${sent} packets`);
    for (const { c, path, pcapng } of runs) {
      // Every capture started before the reference: once its pcapng holds as many packets, it has
      // seen all the traffic (stopping earlier would lose what waits in the kernel's buffer).
      await waitPcapngPackets(pcapng, sent);
      // Exports stream: the rows are on disk while capturing, before capture ends.
      if (c.type === "packets") {
        await waitFor(`rows in ${path} while capturing`, async () => {
          const text = await Deno.readTextFile(path).catch(() => "");
          return text.split("\n").length > 10;
        });
      }
    }
    for (const { c, path, ws, pcapng } of runs) {
      const r = await ws.stop(c.signal);
      const what = `${c.signal} with ${c.export} (${c.type})`;
      assertEquals(r.code, 0, `${what}: ${r.stderr}`);
      const report = c.report === "text" ? textReport(r.stdout) : JSON.parse(r.stdout);
      assert(report.packets >= sent, `${what}: ${report.packets} packets, tcpdump saw ${sent}`);
      const rows = c.rows(await Deno.readTextFile(path));
      assertEquals(rows.length, c.type === "packets" ? report.packets : report.flows, what);
      if (c.type === "flows") {
        const curls = rows.filter((f) => Number(f.dst_port) === 8080);
        assertEquals(curls.length, 4, `${what}: one flow per curl`);
      }
      assertEquals(await readBack(pcapng), { packets: report.packets, tsharkErrors: "" }, what);
    }
  }));

/** The packet and flow counts of the text report ("Packets    57    Bytes 9.13 kB    Flows 4"). */
function textReport(stdout: string): { packets: number; flows: number } {
  assert(stdout.includes("wiresight report: live capture on"), stdout);
  const m = stdout.match(/^ {2}Packets +([\d,]+) +Bytes .* +Flows ([\d,]+)$/m);
  assert(m, stdout);
  return { packets: Number(m[1].replaceAll(",", "")), flows: Number(m[2].replaceAll(",", "")) };
}
