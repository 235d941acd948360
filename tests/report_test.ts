// The report's top talkers and conversations against tshark's `-z endpoints,ip[v6]` and
// `-z conv,ip[v6]` on captures whose IP packets all belong to flows.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { analyze, readPackets } from "../mod.ts";
import { LiveTraffic } from "../src/report/live.ts";
import { corpusFile, NO_TIMEOUTS } from "./helpers/corpus.ts";
import { sizeRange, TSHARK_PREFS } from "./helpers/tshark.ts";
import { runTool } from "./helpers/tool.ts";

const NO_CONTEXT = { direction: null, owner: null, peer: null };

const FILES = [
  "gen_multi_interface.pcapng",
  "gen_http_methods.pcap",
  "gen_dns_any_sll2.pcap",
  "dns_tcp.pcap",
  "ssh.pcap",
  "mptcp-v1.pcap",
  "afs.pcap",
  "sv-tls-tls13-draft28.pcap",
  "quic_handshake.pcap",
  "tfo-5c1fa7f9ae91.pcap",
];

interface Endpoint {
  packets: number;
  bytes: number;
  txPackets: number;
  txBytes: number;
}
interface Conversation {
  framesAtoB: number;
  bytesAtoB: [number, number];
  framesBtoA: number;
  bytesBtoA: [number, number];
}

async function tshark(path: string) {
  const args = ["-n", "-r", path, ...TSHARK_PREFS, "-q"];
  for (const z of ["endpoints,ip", "endpoints,ipv6", "conv,ip", "conv,ipv6"]) args.push("-z", z);
  const out = await runTool("tshark", args);
  const endpoints = new Map<string, Endpoint>();
  const conversations = new Map<string, Conversation>();
  for (const line of out.stdout.split("\n")) {
    const e = line.match(/^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/);
    if (e) {
      endpoints.set(e[1], { packets: +e[2], bytes: +e[3], txPackets: +e[4], txBytes: +e[5] });
      continue;
    }
    const size = "(\\d+ (?:bytes|[kMGT]B))";
    const c = line.match(new RegExp(`^(\\S+)\\s+<->\\s+(\\S+)\\s+(\\d+) ${size}\\s+(\\d+) ${size}`));
    if (c) {
      // "<-" is B to A, "->" A to B; key and orient by the lower address, as wiresight does.
      const [a, b, bToA, bToABytes, aToB, aToBBytes] = [c[1], c[2], +c[3], c[4], +c[5], c[6]];
      const forward = a <= b;
      conversations.set(forward ? `${a} ${b}` : `${b} ${a}`, {
        framesAtoB: forward ? aToB : bToA,
        bytesAtoB: sizeRange(forward ? aToBBytes : bToABytes),
        framesBtoA: forward ? bToA : aToB,
        bytesBtoA: sizeRange(forward ? bToABytes : aToBBytes),
      });
    }
  }
  return { endpoints, conversations };
}

for (const name of FILES) {
  Deno.test(`top talkers and conversations agree with tshark on ${name}`, async () => {
    const path = corpusFile(name);
    const [ts, report] = await Promise.all([
      tshark(path),
      analyze(path, { top: 10000, decoder: { timeouts: NO_TIMEOUTS } }),
    ]);
    // wiresight orders a pair's addresses numerically, the tshark table here by text: key both by text.
    const ours = new Map(report.top_conversations.map((c) => [[c.a, c.b].sort().join(" "), c]));
    assertEquals([...ours.keys()].sort(), [...ts.conversations.keys()].sort(), "address pairs");
    const self = new Map<string, number>();
    for (const [key, t] of ts.conversations) {
      const o = ours.get(key)!;
      if (o.a === o.b) {
        // A host talking to itself has no direction for tshark: everything is "A to B".
        self.set(o.a, o.packets);
        assertEquals(o.packets, t.framesAtoB + t.framesBtoA, `${key} frames`);
        continue;
      }
      // Both tables are keyed with the addresses in text order; orient ours the same way.
      const forward = [o.a, o.b].sort()[0] === o.a;
      const got = forward
        ? [o.packets_a_to_b, o.packets_b_to_a, o.bytes_a_to_b, o.bytes_b_to_a]
        : [o.packets_b_to_a, o.packets_a_to_b, o.bytes_b_to_a, o.bytes_a_to_b];
      assertEquals([got[0], got[1]], [t.framesAtoB, t.framesBtoA], `${key} frames`);
      for (const [v, [lo, hi]] of [[got[2], t.bytesAtoB], [got[3], t.bytesBtoA]] as const) {
        assertEquals(v >= lo && v <= hi, true, `${key} bytes ${v} outside tshark's ${lo}-${hi}`);
      }
    }
    // A host talking to itself sends and receives each of those frames, for tshark and wiresight.
    const talkers = new Map(report.top_talkers.map((t) => [t.address, t]));
    assertEquals([...talkers.keys()].sort(), [...ts.endpoints.keys()].sort(), "talkers");
    for (const [address, t] of ts.endpoints) {
      const o = talkers.get(address)!;
      assertEquals(
        [o.packets, o.bytes, o.packets_sent, o.bytes_sent, o.packets_received, o.bytes_received],
        [t.packets, t.bytes, t.txPackets, t.txBytes, t.packets - t.txPackets, t.bytes - t.txBytes],
        `${address} (${self.has(address) ? "talks to itself" : "talks to others"})`,
      );
    }
    // The live aggregator (terminal panels, web view) counts each packet's ends the same way.
    const live = new LiveTraffic();
    for await (const p of readPackets(path)) live.add(p, NO_CONTEXT, null);
    const liveTalkers = live.totals(10000).top_talkers;
    assertEquals(
      new Map(liveTalkers.map((t) => [t.address, [t.packets, t.bytes]])),
      new Map([...ts.endpoints].map(([a, t]) => [a, [t.packets, t.bytes]])),
      "live talkers",
    );
  });
}
