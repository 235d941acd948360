// Application protocols in the filters of `wiresight capture` (root): a packet belongs to its
// flow's application, which shows only at the flow's first payload, so capture holds a flow's
// first packets back until it is known. Real clients in a client namespace (curl to the lab's HTTP
// server and to an HTTP server on a port nothing names, dig, a connection that sends nothing, a
// ping) while tcpdump captures everything; each capture's pcapng and report must hold exactly the
// packets of the streams in which tshark dissects the application (or, excluded, the others).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { runCli } from "../helpers/run_cli.ts";
import { streamPackets } from "../helpers/app_streams.ts";
import {
  checkFilterCaptures,
  client,
  curl,
  dig,
  packetKeys,
  sleep,
  startFilterCaptures,
  stopFilterCaptures,
  waitTcpQuiet,
  withLab,
  withLoopbackHttp,
} from "../helpers/live.ts";
import { HOLD_SECONDS } from "../../src/pipeline/app_hold.ts";

/** HTTP on the client side's loopback, on a port tshark dissects as HTTP only when told. */
const ODD_PORT = 18093;

interface AppCase {
  args: string[];
  /** The display filter that picks the same packets from tcpdump's capture, given the streams' filters. */
  expect: (streams: { http: string; dns: string }) => string;
}

const CASES: AppCase[] = [
  { args: ["-p", "http"], expect: (s) => s.http },
  { args: ["-p", "dns"], expect: (s) => s.dns },
  { args: ["--exclude-protocol", "http"], expect: (s) => `not ${s.http}` },
  { args: ["-p", "udp,http"], expect: (s) => `udp or ${s.http}` },
];

Deno.test("capture with application protocols keeps whole flows, as tshark's streams say", () =>
  withLab("wiresight_app_capture_", async (net, dir) => {
    await withLoopbackHttp(net, dir, ODD_PORT, async (local) => {
      const { reference, runs } = await startFilterCaptures(net, dir, CASES);
      for (let i = 0; i < 2; i++) {
        await curl(net, 45200 + i);
        await dig(net, 45300 + i, "app.lab.test");
        await local();
        // A connection that says nothing: no application, whatever its port.
        await client(net, "nc", ["-z", "-w", "2", net.serverAddr, "9000"]);
        await client(net, "python3", [`${dir}/ping.py`, net.serverAddr]);
      }
      await waitTcpQuiet(net.client, net.server);
      // A ping past the hold's time bound lets go the flows still undecided (the silent connections).
      await sleep(HOLD_SECONDS * 1000 + 500);
      await client(net, "python3", [`${dir}/ping.py`, net.serverAddr]);
      await reference.stop();
      const all = `${dir}/all.pcap`;
      const http = await streamPackets(all, "http", [`tcp.port==${ODD_PORT},http`]);
      const dns = await streamPackets(all, "dns");
      assert(http.streams >= 4 && dns.streams >= 2, `streams: http ${http.streams}, dns ${dns.streams}`);
      const filters = { http: http.filter, dns: dns.filter };
      const expected = await Promise.all(runs.map(({ c }) => packetKeys(all, c.expect(filters))));
      const results = await stopFilterCaptures(runs, expected);
      const everything = await packetKeys(all);
      await checkFilterCaptures(results, expected, everything.length);
    });
  }, { ipv4Only: true }));

Deno.test("capture refuses application protocols with the filters that count packets in order", async () => {
  const r = await runCli(["capture", "-i", "lo", "-p", "dns", "-c", "5"]);
  assertEquals(r.code, 2);
  assert(r.stderr.includes("--count"), r.stderr);
});
