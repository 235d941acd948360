// The filters of `wiresight capture` keep exactly the packets they should (root). Several captures
// run side by side on `any` in a client namespace, each with one filter, while tcpdump captures
// everything; real clients make TCP (curl, to the server side and to a server on loopback), UDP
// (dig), ICMP (an echo request) and ARP traffic. Each capture's pcapng must hold exactly the
// packets tshark's matching display filter picks from tcpdump's capture, and its report count them.
import { ok as assert } from "node:assert/strict";
import { run } from "./helpers/capture.ts";
import type { NetPair } from "./helpers/netns.ts";
import {
  checkFilterCaptures,
  client,
  curl,
  dig,
  packetKeys,
  startFilterCaptures,
  stopFilterCaptures,
  waitTcpQuiet,
  withLab,
  withLoopbackHttp,
} from "./helpers/live.ts";

/** The client side's own addresses, as tshark display-filter clauses for one field family. */
function isLocal(side: "src" | "dst", clientAddr: string): string {
  return `(ip.${side} == 127.0.0.0/8 or ip.${side} == ${clientAddr} or arp.${side}.proto_ipv4 == ${clientAddr})`;
}

interface FilterCase {
  args: string[];
  /** The tshark display filter that picks the same packets from the unfiltered capture. */
  expect: (net: NetPair) => string;
}

const CASES: FilterCase[] = [
  {
    args: ["--direction", "in"],
    expect: (n) => `${isLocal("dst", n.clientAddr)} and not ${isLocal("src", n.clientAddr)}`,
  },
  {
    args: ["--direction", "out"],
    expect: (n) => `${isLocal("src", n.clientAddr)} and not ${isLocal("dst", n.clientAddr)}`,
  },
  { args: ["-p", "udp"], expect: () => "udp" },
  { args: ["-p", "icmp,arp"], expect: () => "icmp or arp" },
  { args: ["--exclude-protocol", "tcp,arp"], expect: () => "not tcp and not arp" },
  { args: ["--no-loopback"], expect: () => "not ip.addr == 127.0.0.0/8" },
  { args: ["-f", "tcp port 8080"], expect: () => "tcp.port == 8080" },
  {
    args: ["--direction", "out", "-p", "tcp", "--no-loopback"],
    expect: (n) => `${isLocal("src", n.clientAddr)} and not ${isLocal("dst", n.clientAddr)} and tcp`,
  },
];

Deno.test("capture filters keep exactly the packets tshark's equivalent display filters pick", () =>
  withLab("wiresight_filters_", async (net, dir) => {
    // A server on the client side's loopback: traffic that is local both ways.
    await withLoopbackHttp(net, dir, 8090, async (local) => {
      const { reference, runs } = await startFilterCaptures(net, dir, CASES);
      // Forget the server's address, so ARP asks for it again.
      await run("ip", ["-n", net.client, "neigh", "flush", "dev", net.clientIf]);
      for (let i = 0; i < 2; i++) {
        await curl(net, 45000 + i);
        await dig(net, 45100 + i, "app.lab.test");
        await local();
        await client(net, "python3", [`${dir}/ping.py`, net.serverAddr]);
      }
      // The traffic is over, tcpdump has all of it; then each capture, once its pcapng holds as
      // many packets as its filter should keep (stopping earlier would lose what waits in the
      // kernel's buffer).
      await waitTcpQuiet(net.client, net.server);
      await reference.stop();
      const expected = await Promise.all(runs.map(({ c }) => packetKeys(`${dir}/all.pcap`, c.expect(net))));
      const results = await stopFilterCaptures(runs, expected);
      const all = await packetKeys(`${dir}/all.pcap`);
      for (const proto of ["tcp", "udp", "icmp", "arp"]) {
        assert((await packetKeys(`${dir}/all.pcap`, proto)).length > 0, `no ${proto} in the traffic`);
      }
      await checkFilterCaptures(results, expected, all.length);
    });
  }, { ipv4Only: true }));
