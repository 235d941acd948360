// The capture worker's first-packet spotting (src/proc/first_packets.ts) reads headers in place.
// On real captures of several link types (Ethernet, also with an 802.1Q tag added, Linux SLL2,
// BSD loopback, raw IP) and both IP versions, it must ask for exactly the packets tshark says open a
// connection: TCP SYNs and SYN-ACKs, and each UDP 4-tuple's first datagram, with their endpoints.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { FirstPackets } from "../src/proc/first_packets.ts";
import type { ProcessResolver } from "../src/proc/linux.ts";
import { corpusFile } from "./helpers/corpus.ts";
import { run } from "./helpers/capture.ts";

interface Lookup {
  frame: number;
  proto: string;
  local: string;
  remote: string;
}

/** The records of a pcap file. */
async function records(path: string): Promise<{ linktype: number; frames: Uint8Array[] }> {
  const b = await Deno.readFile(path);
  const d = new DataView(b.buffer);
  const frames: Uint8Array[] = [];
  for (let off = 24; off + 16 <= b.length;) {
    const caplen = d.getUint32(off + 8, true);
    frames.push(b.subarray(off + 16, off + 16 + caplen));
    off += 16 + caplen;
  }
  return { linktype: d.getUint32(20, true), frames };
}

/** The same capture with an 802.1Q tag (VLAN 10) after each Ethernet frame's addresses. */
async function withVlanTag(path: string, out: string): Promise<string> {
  const b = await Deno.readFile(path);
  const d = new DataView(b.buffer);
  const parts = [b.subarray(0, 24)];
  for (let off = 24; off + 16 <= b.length;) {
    const caplen = d.getUint32(off + 8, true);
    const hdr = b.slice(off, off + 16);
    const h = new DataView(hdr.buffer);
    h.setUint32(8, caplen + 4, true);
    h.setUint32(12, d.getUint32(off + 12, true) + 4, true);
    const frame = b.subarray(off + 16, off + 16 + caplen);
    parts.push(hdr, frame.subarray(0, 12), Uint8Array.of(0x81, 0x00, 0x00, 0x0a), frame.subarray(12));
    off += 16 + caplen;
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
  await Deno.writeFile(out, all);
  return out;
}

/** What FirstPackets asks the resolver, with every address of the capture taken as local. */
async function spotted(path: string, local: Set<string>): Promise<Lookup[]> {
  const { linktype, frames } = await records(path);
  const asked: Lookup[] = [];
  let frame = 0;
  const resolver = {
    lookup(proto: string, l: { address: string; port: number }, r: { address: string; port: number }) {
      asked.push({ frame, proto, local: `${l.address} ${l.port}`, remote: `${r.address} ${r.port}` });
      return null;
    },
  } as unknown as ProcessResolver;
  const first = new FirstPackets(resolver, local);
  // As the worker passes them: frames at an offset inside a larger buffer.
  const slot = new Uint8Array(1 << 20);
  const view = new DataView(slot.buffer);
  for (const f of frames) {
    frame++;
    slot.set(f, 100);
    first.see(linktype, slot, view, 100, f.length);
  }
  return asked;
}

/** tshark's answer: SYNs and SYN-ACKs, and the first datagram of each UDP 4-tuple. */
async function expected(path: string): Promise<{ lookups: Lookup[]; addresses: Set<string> }> {
  const fields = ["frame.number", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.srcport", "tcp.dstport"];
  const out = await run("tshark", [
    ...["-r", path, "-Y", "(tcp.flags.syn == 1 || udp) && !icmp && !icmpv6", "-T", "fields"],
    ...[...fields, "udp.srcport", "udp.dstport"].flatMap((f) => ["-e", f]),
  ]);
  const lookups: Lookup[] = [];
  const addresses = new Set<string>();
  const udpSeen = new Set<string>();
  for (const line of out.trim().split("\n").filter((l) => l)) {
    const [n, src4, src6, dst4, dst6, tsport, tdport, usport, udport] = line.split("\t");
    const src = src4 || src6, dst = dst4 || dst6;
    addresses.add(src).add(dst);
    const proto = tsport ? "tcp" : "udp";
    const local = `${src} ${tsport || usport}`, remote = `${dst} ${tdport || udport}`;
    if (proto === "udp") {
      if (udpSeen.has(`${local} ${remote}`)) continue;
      udpSeen.add(`${local} ${remote}`);
    }
    lookups.push({ frame: Number(n), proto, local, remote });
  }
  return { lookups, addresses };
}

const CAPTURES: [string, () => string][] = [
  ["Ethernet, IPv4 TCP (HTTP)", () => corpusFile("gen_http_methods.pcap")],
  ["Ethernet, IPv4 DNS over TCP", () => corpusFile("dns_tcp.pcap")],
  ["Ethernet, IPv4 UDP (DNS)", () => corpusFile("dns_udp.pcap")],
  ["Ethernet, IPv6 TCP (TLS)", () => corpusFile("sv-tls-tls13-draft28.pcap")],
  ["Linux SLL2, IPv4 UDP", () => corpusFile("gen_dns_any_sll2.pcap")],
  ["BSD loopback, IPv6 UDP (QUIC)", () => corpusFile("quic_handshake.pcap")],
  ["raw IPv6", () => corpusFile("LINKTYPE_RAW_ipv6.pcap")],
];

for (const [name, path] of CAPTURES) {
  Deno.test(`first packets: ${name}`, async () => {
    const want = await expected(path());
    assertEquals(await spotted(path(), want.addresses), want.lookups);
  });
}

Deno.test("first packets: Ethernet with an 802.1Q tag", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_first_" });
  try {
    const tagged = await withVlanTag(corpusFile("dns_tcp.pcap"), `${dir}/vlan.pcap`);
    const want = await expected(tagged);
    assertEquals(want.lookups.length > 0, true);
    assertEquals(await spotted(tagged, want.addresses), want.lookups);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("first packets: only local senders are looked up", async () => {
  const path = corpusFile("dns_tcp.pcap");
  const want = await expected(path);
  const client = "192.168.1.11";
  assertEquals(
    await spotted(path, new Set([client])),
    want.lookups.filter((l) => l.local.startsWith(`${client} `)),
  );
});
