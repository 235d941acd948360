// `wiresight capture` driven as tcpdump users and scripts drive it (root): `--detect --report
// json | jq` gets the report alone while a real scan raises alerts, and a trailing BPF expression
// with -n and -w keeps exactly the packets tcpdump keeps with the same expression on the same
// traffic. Live captures, so run alone.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { withNetPair } from "../helpers/netns.ts";
import { captureLoopback, run, withNetns } from "../helpers/capture.ts";
import { CLIENT, inClient, SERVER } from "../helpers/detect.ts";
import { LiveWiresight, packetKeys, waitPcapngPackets, waitTcpQuiet } from "../helpers/live.ts";
import { spawnIn } from "../helpers/netns.ts";
import { capinfos, MAIN, run as runAny, taskFlags } from "../helpers/cli.ts";
import { waitFor, waitForText } from "../helpers/wait.ts";

Deno.test("capture --detect --report json: stdout parses whole while a scan raises alerts; lines on stderr", () =>
  withNetPair(async (net) => {
    const ws = await LiveWiresight.start(net.client, [
      "-i",
      net.clientIf,
      "--no-payload",
      "--detect",
      "--report",
      "json",
    ]);
    try {
      await inClient(net, "nmap", ["-sS", "-Pn", "-n", "-T4", "--top-ports", "100", SERVER]);
      await waitForText("the scan's alert line on stderr", () => ws.stderr, "port_scan.vertical");
    } finally {
      const out = await ws.stop();
      assertEquals(out.code, 0, out.stderr);
    }
    const report = JSON.parse(ws.stdout);
    const scan = report.alerts.find((g: { alerts: { type: string }[] }) =>
      g.alerts.some((a) => a.type === "port_scan.vertical")
    );
    assert(scan, JSON.stringify(report.alerts));
    assertEquals([scan.flow.src_ip, scan.flow.dest_ip], [CLIENT, SERVER]);
    // The packet lines went to stderr: nmap's probes, each a line naming both ends.
    const probes = ws.stderr.split("\n").filter((l) => l.includes(CLIENT) && l.includes(SERVER));
    assert(probes.length >= 100, `${probes.length} packet lines on stderr`);
  }));

Deno.test("capture -n -w FILE tcp port 8080: the very packets tcpdump keeps with that expression", () =>
  withNetns(async (ns) => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight_trailing_bpf_" });
    await Deno.writeTextFile(`${dir}/index.html`, "hello\n".repeat(200));
    const server = spawnIn(ns, "python3", ["-m", "http.server", "8080", "--bind", "127.0.0.1", "-d", dir]);
    const inNs = (cmd: string, ...args: string[]) => run("ip", ["netns", "exec", ns, cmd, ...args]);
    try {
      await waitFor(
        "the HTTP server",
        () => inNs("curl", "-sf", "-o", "/dev/null", "-m", "2", "http://127.0.0.1:8080/"),
      );
      await waitTcpQuiet(ns);
      const expression = ["tcp", "port", "8080"];
      const reference = await captureLoopback(dir, "tcpdump.pcap", expression.join(" "), ns, "lo");
      // Everything, to show the expression did leave packets out.
      const everything = await captureLoopback(dir, "all.pcap", "", ns, "lo");
      const pcapng = `${dir}/wiresight.pcapng`;
      const ws = await LiveWiresight.start(ns, [
        "-i",
        "lo",
        "-n",
        "-q",
        "-w",
        pcapng,
        "--report",
        "json",
        ...expression,
      ]);
      let report;
      try {
        for (let i = 0; i < 3; i++) {
          await inNs("curl", "-sf", "-o", "/dev/null", "-m", "5", "http://127.0.0.1:8080/");
        }
        // Traffic the expression leaves out: UDP to a closed port (and its ICMP unreachable), and
        // TCP to another port.
        await inNs("sh", "-c", "dig +tries=1 +time=1 @127.0.0.1 lab.test || true");
        await inNs("sh", "-c", "nc -z -w 1 127.0.0.1 8081 || true");
        await waitTcpQuiet(ns);
        await reference.stop();
        await everything.stop();
        const kept = (await capinfos(`${dir}/tcpdump.pcap`)).packets;
        const all = (await capinfos(`${dir}/all.pcap`)).packets;
        assert(kept >= 30 && all > kept, `tcpdump kept ${kept} of ${all} packets`);
        await waitPcapngPackets(pcapng, kept);
        const out = await ws.stop();
        assertEquals(out.code, 0, out.stderr);
        report = JSON.parse(out.stdout);
        assertEquals(report.packets, kept, "the report counts what tcpdump kept");
      } finally {
        await ws.stop("SIGKILL").catch(() => {});
      }
      assertEquals(await packetKeys(pcapng), await packetKeys(`${dir}/tcpdump.pcap`));
    } finally {
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  }));

Deno.test("a trailing expression libpcap refuses: usage error (tcpdump refuses it too), no capture", () =>
  withNetns(async (ns) => {
    const expression = ["tcp", "prot", "80"];
    const [ours, tcpdump] = await Promise.all([
      runAny("ip", [
        "netns",
        "exec",
        ns,
        Deno.execPath(),
        "run",
        ...taskFlags(),
        MAIN,
        "capture",
        "-i",
        "lo",
        ...expression,
      ], {
        env: { NO_COLOR: "1" },
      }),
      runAny("ip", ["netns", "exec", ns, "tcpdump", "-i", "lo", "-d", ...expression]),
    ]);
    assert(tcpdump.code !== 0, `tcpdump took '${expression.join(" ")}': ${tcpdump.stdout}`);
    assertEquals(ours.code, 2, ours.stderr);
    assert(ours.stderr.includes("syntax error"), ours.stderr);
    assert(!ours.stderr.includes("capturing on"), ours.stderr);
  }));
