// `capture --ipfix` (root): flows go to the collector while the capture runs, not at its end.
// Real curl connections to a real server across two namespaces; nfcapd in the client namespace
// stores the records, tcpdump captures the export (read back by tshark's cflow dissector) and the
// traffic itself (the packets and bytes per direction that nfdump must list).
import assert from "node:assert/strict";
import { captureLoopback, freePort } from "../helpers/capture.ts";
import { curl, LiveWiresight, withLab } from "../helpers/live.ts";
import { spawnIn } from "../helpers/netns.ts";
import { runTool } from "../helpers/tool.ts";
import { waitFor } from "../helpers/wait.ts";

Deno.test("capture --ipfix: each connection reaches nfcapd while capture runs, with tcpdump's packets and bytes", () =>
  withLab("wiresight_ipfix_", async (net, dir) => {
    const port = freePort();
    await Deno.mkdir(`${dir}/nf`);
    const nfcapd = spawnIn(net.client, "nfcapd", ["-b", "127.0.0.1", "-p", String(port), "-w", `${dir}/nf`]);
    const exported = await captureLoopback(dir, "ipfix.pcap", `udp port ${port}`, net.client);
    const traffic = await captureLoopback(dir, "traffic.pcap", "tcp port 8080", net.client, net.clientIf);
    const ws = await LiveWiresight.start(net.client, [
      "-i",
      net.clientIf,
      "-q",
      "--ipfix",
      `127.0.0.1:${port}`,
    ]);
    const ports: number[] = [];
    let ended = false;
    ws.proc.status.then(() => ended = true);
    try {
      for (let i = 0; i < 3; i++) ports.push((await curl(net, 0)).port);
      // A closed connection ends after the flow table's linger (5 s) and its record goes out within a
      // second. The flow table's clock is the packets' time: other traffic (a curl a second) moves it.
      let lastCurl = performance.now();
      await waitFor("the records in the export while capture runs", async () => {
        if (performance.now() - lastCurl > 1000) {
          await curl(net, 0);
          lastCurl = performance.now();
        }
        const seen = (await runTool("tshark", [
          "-r",
          exported.path,
          "-d",
          `udp.port==${port},cflow`,
          "-T",
          "fields",
          "-E",
          "occurrence=a",
          "-e",
          "cflow.srcport",
        ])).stdout.split(/[\n,]/).map(Number);
        return ports.every((p) => seen.includes(p)) || ended;
      }, { timeoutMs: 30_000 });
      assert.equal(ended, false, `capture ended early: ${ws.stderr}`);
    } finally {
      await ws.stop();
      await exported.stop();
      await traffic.stop();
      await nfcapd.stop();
    }
    const fmt = "fmt:%sp|%ipkt|%ibyt|%opkt|%obyt";
    const listed = (await runTool("nfdump", ["-R", `${dir}/nf`, "-q", "-N", "-o", fmt])).stdout.trim().split(
      "\n",
    )
      .map((l) => l.split("|").map((s) => Number(s.trim())));
    for (const p of ports) {
      // tcpdump's view of the connection: frames and their lengths, each way.
      const frames = (await runTool("tshark", [
        "-r",
        traffic.path,
        "-Y",
        `tcp.port == ${p}`,
        "-T",
        "fields",
        "-e",
        "tcp.srcport",
        "-e",
        "frame.len",
      ])).stdout.trim().split("\n").map((l) => l.split("\t").map(Number));
      const out = frames.filter(([sp]) => sp === p), back = frames.filter(([sp]) => sp !== p);
      const sum = (fs: number[][]) => fs.reduce((n, f) => n + f[1], 0);
      assert.deepEqual(listed.find(([sp]) => sp === p), [p, out.length, sum(out), back.length, sum(back)]);
    }
  }, { ipv4Only: true }));
