// Tunnels and encapsulations against tshark: on every Zeek corpus trace of the tunnel and layer-2
// encapsulation groups, each packet we report is the innermost IP packet tshark reads in its frame,
// and each flow inside a tunnel has tshark's packets and IP bytes for that conversation, with
// tunnel_parents naming flows of the same run.
import assert from "node:assert/strict";
import type { FlowRecord, PacketRecord } from "../src/decoder/records.ts";
import { DEFAULT_TIMEOUTS, type FlowTimeouts } from "../src/decoder/decoder.ts";
import { runDecode } from "../src/source/decode.ts";
import { corpusFile, corpusRoot, NO_TIMEOUTS } from "./helpers/corpus.ts";
import { tsharkFields } from "./helpers/app.ts";
import { runTool } from "./helpers/tool.ts";
import { FLOW_ROWS } from "../src/sinks/rows.ts";

/** The traces of MANIFEST.tsv's l2-encap and tunnel:* groups, and the public captures of tunnels. */
function tunnelTraces(): string[] {
  const dir = `${corpusRoot()}/zeek`;
  const [head, ...rows] = Deno.readTextFileSync(`${dir}/MANIFEST.tsv`).trim().split("\n").map((l) =>
    l.split("\t")
  );
  const [trace, group] = [head.indexOf("trace"), head.indexOf("group")];
  const zeek = rows.filter((r) => r[group] === "l2-encap" || r[group].startsWith("tunnel:")).map((r) =>
    `${dir}/${r[trace]}`
  );
  return [...zeek, ...["various_gre.pcap", "vxlan.pcap", "geneve.pcap", "pptp.pcap"].map(corpusFile)];
}

/** A conversation key: IP version, protocol and the two endpoints in a fixed order. */
function conversation(version: number, proto: string, a: string, b: string): string {
  return `${version} ${proto} ${[a, b].sort().join(" ")}`;
}

interface Inner {
  key: string;
  ipBytes: number;
  /** More than one IP layer: the frame is a tunnel's. */
  tunneled: boolean;
}

/**
 * tshark's innermost IP packet of each frame: the last IPv4/IPv6 layer before any ICMP (whose
 * errors quote a packet), with the TCP/UDP ports right after it.
 */
async function tsharkInner(path: string): Promise<Map<number, Inner>> {
  const fields = [
    "frame.protocols",
    "ip.src",
    "ip.dst",
    "ip.len",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.plen",
    "tcp.srcport",
    "tcp.dstport",
    "udp.srcport",
    "udp.dstport",
    "ip.frag_offset",
  ];
  const out = new Map<number, Inner>();
  // Zeek looks for Teredo on any UDP port; tshark does when its heuristic is on. Fragmented
  // datagrams are read reassembled, as Zeek and we decapsulate them (later -o options win).
  const prefs = [
    "--enable-heuristic",
    "teredo_udp",
    "-o",
    "ip.defragment:TRUE",
    "-o",
    "ipv6.defragment:TRUE",
  ];
  for (const { frame, values } of await tsharkFields(path, "ip or ipv6", fields, prefs)) {
    const [protocols, ipSrc, ipDst, ipLen, v6Src, v6Dst, v6Plen, tcpSrc, tcpDst, udpSrc, udpDst, fragOffset] =
      values;
    let layers = protocols[0].split(":");
    const icmp = layers.findIndex((l) => l === "icmp" || l === "icmpv6");
    if (icmp >= 0) layers = layers.slice(0, icmp + 1);
    const at = Math.max(layers.lastIndexOf("ip"), layers.lastIndexOf("ipv6"));
    const v6 = layers[at] === "ipv6";
    const nth = (name: string, upTo: number) =>
      layers.slice(0, upTo + 1).filter((l) => l === name).length - 1;
    const k = nth(layers[at], at);
    // A fragment whose datagram is not complete yet: no upper layer to read in this frame.
    if (!v6 && (fragOffset[k] ?? "0") !== "0") continue;
    const [src, dst] = v6 ? [v6Src[k], v6Dst[k]] : [ipSrc[k], ipDst[k]];
    // IPv6 extension headers are layers of their own in tshark.
    const upper = layers.findIndex((l, i) => i > at && !l.startsWith("ipv6."));
    const next = upper < 0 ? "" : layers[upper];
    const proto = ["tcp", "udp", "icmp", "icmpv6"].includes(next) ? next : "other";
    let [a, b] = [src, dst];
    if (next === "tcp" || next === "udp") {
      const i = nth(next, upper);
      const [sp, dp] = next === "tcp" ? [tcpSrc, tcpDst] : [udpSrc, udpDst];
      [a, b] = [`${src}:${sp[i]}`, `${dst}:${dp[i]}`];
    }
    const ipBytes = v6 ? Number(v6Plen[k]) + 40 : Number(ipLen[k]);
    const tunneled = layers.filter((l) => l === "ip" || l === "ipv6").length > 1;
    out.set(frame, { key: conversation(v6 ? 6 : 4, proto, a, b), ipBytes, tunneled });
  }
  return out;
}

const PROTO_NAMES: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6" };

function ourKey(
  version: number,
  ipProto: number,
  src: string,
  dst: string,
  sport: number | null,
  dport: number | null,
) {
  const proto = PROTO_NAMES[ipProto] ?? "other";
  const ports = ipProto === 6 || ipProto === 17;
  const at = (addr: string, port: number | null) => ports ? `${addr}:${port}` : addr;
  return conversation(version, proto, at(src, sport), at(dst, dport));
}

/** Our packets and flows of a capture (timeouts off: tshark never splits a conversation by time). */
async function ours(path: string, timeouts: FlowTimeouts = NO_TIMEOUTS) {
  const packets: PacketRecord[] = [];
  const flows: FlowRecord[] = [];
  await runDecode({ files: [path], decoder: { timeouts, packets: { payloadMax: 0 } } }, {
    packet: (p) => packets.push(p),
    flow: (f) => flows.push(f),
  });
  return { packets, flows };
}

Deno.test("tunnels: every inner packet and inner flow is tshark's reading of the innermost layers", async () => {
  const traces = tunnelTraces();
  assert.ok(traces.length >= 20, `tunnel and l2-encap traces: ${traces.length}`);
  const problems: string[] = [];
  let innerFlows = 0;
  for (const path of traces) {
    const name = path.split("/").pop();
    const [shark, us] = await Promise.all([tsharkInner(path), ours(path)]);
    for (const p of us.packets) {
      const theirs = shark.get(p.frame);
      // A fragment is reported as itself; its datagram's reading is tshark's frame that
      // completes it, which the flows below compare.
      if (!p.ipVersion || p.fragment) continue;
      const key = ourKey(p.ipVersion, p.ipProto, p.src, p.dst, p.srcPort, p.dstPort);
      if (theirs?.key !== key) problems.push(`${name} frame ${p.frame}: ours ${key}, tshark ${theirs?.key}`);
    }
    const ids = new Set(us.flows.map((f) => f.id));
    const carriers = new Set(us.flows.flatMap((f) => f.tunnelParents));
    // The innermost flows of tunnels (a carrier's own packets are not tshark's innermost layers),
    // summed per endpoint pair: ICMP flows are keyed by message types as Zeek keys them, so one
    // tshark conversation can be several of our flows.
    const byKey = new Map<string, { packets: number; bytes: number }>();
    for (const f of us.flows.filter((f) => f.tunnelParents.length && !carriers.has(f.id))) {
      innerFlows++;
      const key = ourKey(f.ipVersion, f.ipProto, f.src, f.dst, f.srcPort, f.dstPort);
      const sum = byKey.get(key) ?? { packets: 0, bytes: 0 };
      sum.packets += f.packetsAtoB + f.packetsBtoA;
      sum.bytes += f.bytesAtoB + f.bytesBtoA;
      byKey.set(key, sum);
      for (const parent of f.tunnelParents) {
        if (!ids.has(parent) || parent === f.id) {
          problems.push(`${name} flow ${key}: parent ${parent} is no other flow`);
        }
      }
    }
    for (const [key, { packets, bytes }] of byKey) {
      // (A tunnel's outer flow may have the same endpoints: a GRE keepalive inside GRE.)
      const frames = [...shark.values()].filter((t) => t.tunneled && t.key === key);
      const theirBytes = frames.reduce((n, t) => n + t.ipBytes, 0);
      if (packets !== frames.length || bytes !== theirBytes) {
        problems.push(
          `${name} flow ${key}: ours ${packets} pkts ${bytes} B, tshark ${frames.length}/${theirBytes}`,
        );
      }
    }
  }
  assert.deepEqual(problems, KNOWN_DIFFERENCES);
  assert.ok(innerFlows >= 40, `inner flows: ${innerFlows}`);
});

/** Where tshark reads a frame otherwise, and why. */
const KNOWN_DIFFERENCES: string[] = [
  // The trace holds each packet twice, plain and in Cisco FabricPath. On these 70-byte FabricPath
  // copies of IPv6 packets (protocol 99), tshark takes the last 4 bytes for a frame check sequence
  // and finds the IPv6 header cut short (no destination); Zeek and we read the whole header.
  ...[114, 116, 118, 120, 122, 124, 126, 128].map((frame, i) => {
    const src =
      ["1234::50", "1234::41", "1234::10", "1234::1", "1234::40", "1234::51", "1234::", "1234::11"][i];
    return `core.cisco-fabric-path.pcap frame ${frame}: ours 6 other ${src} 5678::, tshark 6 other ${src} `;
  }),
  // An A-MSDU of two subframes, each an IP packet of this connection (281 and 75 bytes): we read
  // the first subframe, tshark's last-occurrence fields the second (Zeek counts both: 2 packets).
  "core.tunnels.gre-aruba-amsdu.pcap flow 4 tcp 149.159.130.184:49392 157.240.18.16:443: ours 1 pkts 281 B, tshark 1/75",
];

/** conn_compare.py's summary of our flow export of each trace against Zeek's conn.log. */
async function zeekComparison(traces: string[]) {
  const dir = await Deno.makeTempDir();
  try {
    const pairs: string[] = [];
    for (const path of traces) {
      const { flows } = await ours(path, DEFAULT_TIMEOUTS);
      const rows = flows.map((record) =>
        FLOW_ROWS.row({ record, serverName: null, owner: null, responder: null, communityId: "" })
      );
      // A JSON array: conn_compare.py reads a one-line NDJSON file as one object and takes its
      // first list (tunnel_parents) for the records.
      const out = `${dir}/${path.split("/").pop()}.flows.json`;
      await Deno.writeTextFile(out, JSON.stringify(rows));
      pairs.push(path.replace(/\.pcap(ng)?$/, ".conn.log"), out);
    }
    const fields = ["--proto", "protocol", "--pkts-fwd", "packets_a_to_b", "--pkts-rev", "packets_b_to_a"];
    const script = `${corpusRoot()}/zeek/conn_compare.py`;
    const { stdout } = await runTool("python3", [script, ...fields, "--json", ...pairs]);
    return stdout.trim().split("\n").map((l) =>
      JSON.parse(l) as { rows: number; matched: number; pkts_ok: number }
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("tunnels: Zeek's conn.log rows of the tunnel and l2-encap traces are our flows", async () => {
  const files = await zeekComparison(tunnelTraces().filter((t) => t.includes("/zeek/")));
  const sum = (k: "rows" | "matched" | "pkts_ok") => files.reduce((n, f) => n + f[k], 0);
  // Before decapsulation: 100 of these 169 rows matched by 5-tuple, 42 with Zeek's packets each way.
  assert.equal(sum("rows"), 169);
  assert.ok(sum("matched") >= MATCHED, `matched ${sum("matched")}`);
  assert.ok(sum("pkts_ok") >= PACKETS_AGREE, `packets agree ${sum("pkts_ok")}`);
});

/** What decapsulation reaches (with these traces' remaining differences: see the report). */
const MATCHED = 129;
const PACKETS_AGREE = 116;
