// The library entry (mod.ts): the README's example run as a program, and readPackets /
// readFlows / analyze checked against tshark, capinfos and the CLI.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { analyze, type FlowRecord, readFlows, readPackets } from "../mod.ts";
import { capinfos, REPO, run, SAMPLE, wiresight } from "./helpers/cli.ts";

interface Frame {
  number: number;
  len: number;
  src: string;
  dst: string;
  ports: number[];
  /** "tcp 3" / "udp 0": tshark's conversation index, one per flow here (no timeouts cut them). */
  stream: string;
}

/** tshark's view of each frame: the facts the library results are checked against. */
async function tsharkFrames(path: string): Promise<Frame[]> {
  const fields = [
    "frame.number",
    "frame.len",
    "ip.src",
    "ip.dst",
    "tcp.port",
    "udp.port",
    "tcp.stream",
    "udp.stream",
  ];
  const r = await run("tshark", [
    "-n",
    "-r",
    path,
    "-T",
    "fields",
    "-E",
    "separator=\t",
    ...fields.flatMap((f) => ["-e", f]),
  ]);
  if (r.code !== 0) throw new Error(`tshark failed on ${path}: ${r.stderr}`);
  return r.stdout.trimEnd().split("\n").map((line) => {
    const [number, len, src, dst, tcpPorts, udpPorts, tcpStream, udpStream] = line.split("\t");
    const ports = (tcpPorts || udpPorts).split(",").filter((p) => p !== "").map(Number);
    return {
      number: Number(number),
      len: Number(len),
      src,
      dst,
      ports,
      stream: tcpStream ? `tcp ${tcpStream}` : udpStream ? `udp ${udpStream}` : "",
    };
  });
}

interface Stream {
  /** Address:port of the side that sent the first frame (wiresight's side A). */
  initiator: string;
  responder: string;
  packetsAtoB: number;
  bytesAtoB: number;
  packetsBtoA: number;
  bytesBtoA: number;
}

function streams(frames: Frame[]): Map<string, Stream> {
  const out = new Map<string, Stream>();
  for (const f of frames.filter((f) => f.stream)) {
    let s = out.get(f.stream);
    if (!s) {
      s = {
        initiator: `${f.src}:${f.ports[0]}`,
        responder: `${f.dst}:${f.ports[1]}`,
        packetsAtoB: 0,
        bytesAtoB: 0,
        packetsBtoA: 0,
        bytesBtoA: 0,
      };
      out.set(f.stream, s);
    }
    if (`${f.src}:${f.ports[0]}` === s.initiator) {
      s.packetsAtoB++;
      s.bytesAtoB += f.len;
    } else {
      s.packetsBtoA++;
      s.bytesBtoA += f.len;
    }
  }
  return out;
}

/** The sample's frames, read by tshark once for all the tests below. */
let sampleCache: Promise<Frame[]> | undefined;
const sampleFrames = () => sampleCache ??= tsharkFrames(SAMPLE);

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Open descriptors of this process that point at `path` (Linux). */
function openDescriptors(path: string): string[] {
  const open: string[] = [];
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${e.name}`) === path) open.push(e.name);
    } catch { /* the descriptor readDir itself used, already closed */ }
  }
  return open;
}

Deno.test("the README's library example runs and prints tshark's numbers", async () => {
  const readme = await Deno.readTextFile(`${REPO}/README.md`);
  const section = readme.slice(readme.indexOf("\n## Library\n"));
  const example = section.match(/```ts\n([\s\S]*?)\n```/)?.[1];
  const shown = section.match(/```ts\n[\s\S]*?\n```[\s\S]*?\n```\n([\s\S]*?)\n```/)?.[1];
  assert(example && shown, "no ts example and printed output under '## Library' in README.md");
  assert(example.includes(`from "./mod.ts"`), "the example should import ./mod.ts");

  const dir = await Deno.makeTempDir({ prefix: "wiresight_example_" });
  try {
    // Outside the repository, importing its mod.ts; run from the root as the README says.
    const program = `${dir}/example.ts`;
    await Deno.writeTextFile(
      program,
      example.replaceAll(`"./mod.ts"`, `"${new URL("../mod.ts", import.meta.url)}"`),
    );
    const [r, frames, cap] = await Promise.all([
      run(Deno.execPath(), ["run", "--allow-read", program]),
      sampleFrames(),
      capinfos(SAMPLE),
    ]);
    assertEquals([r.code, r.stderr], [0, ""]);
    assertEquals(r.stdout.trimEnd(), shown, "README shows a different output");

    const dns = frames.filter((f) => f.ports.includes(53)).length;
    const web = frames.filter((f) => f.stream.startsWith("tcp") && f.ports.includes(8080));
    const flows = new Set(frames.map((f) => f.stream)).size;
    const bytesByHost = new Map<string, number>();
    for (const f of frames) {
      for (const a of new Set([f.src, f.dst])) bytesByHost.set(a, (bytesByHost.get(a) ?? 0) + f.len);
    }
    const topTalker = [...bytesByHost].sort((a, b) => b[1] - a[1])[0][0];
    assertEquals(r.stdout.trimEnd().split("\n"), [
      `DNS packets: ${dns}`,
      `HTTP flows: ${new Set(web.map((f) => f.stream)).size} (${sum(web.map((f) => f.len))} bytes)`,
      `total: ${cap.packets} packets, ${cap.bytes} bytes, ${flows} flows`,
      `top talker: ${topTalker}`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readPackets: every frame tshark sees, in order, with its length", async () => {
  const expected = await sampleFrames();
  const packets = [];
  for await (const p of readPackets(SAMPLE)) packets.push(p);
  assertEquals(packets.length, expected.length);
  assertEquals(packets.map((p) => [p.frame, p.wirelen]), expected.map((f) => [f.number, f.len]));
});

Deno.test("readPackets with a BPF filter, compiled for each of the sample's two link types", async () => {
  const dnsOverUdp = (await sampleFrames()).filter((f) => f.stream.startsWith("udp") && f.ports.includes(53));
  let n = 0;
  for await (const p of readPackets(SAMPLE, { filter: "udp port 53" })) {
    assert(p.protocol === "UDP" && (p.srcPort === 53 || p.dstPort === 53), `frame ${p.frame} passed`);
    n++;
  }
  assertEquals(n, dnsOverUdp.length);
});

Deno.test("breaking out of readPackets / readFlows early closes the file", async () => {
  // A private copy, so descriptors other tests hold on the sample cannot be mistaken for ours.
  const dir = await Deno.makeTempDir({ prefix: "wiresight_break_" });
  const copy = `${dir}/sample.pcapng`;
  try {
    await Deno.copyFile(SAMPLE, copy);
    let seen = 0;
    for await (const p of readPackets(copy)) {
      assertEquals(p.frame, ++seen);
      if (seen === 3) break;
    }
    assertEquals(seen, 3);
    assertEquals(openDescriptors(copy), [], "readPackets left the capture open after break");

    for await (const _ of readFlows(copy)) break;
    assertEquals(openDescriptors(copy), [], "readFlows left the capture open after break");

    // And a fresh read afterwards still sees everything.
    let all = 0;
    for await (const _ of readPackets(copy)) all++;
    assertEquals(all, (await capinfos(copy)).packets);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readFlows: one flow per tshark conversation, same sides, packets and bytes", async () => {
  const [frames, cap] = await Promise.all([sampleFrames(), capinfos(SAMPLE)]);
  const flows: FlowRecord[] = [];
  for await (const f of readFlows(SAMPLE)) flows.push(f);
  assertEquals(sum(flows.map((f) => f.packetsAtoB + f.packetsBtoA)), cap.packets);
  assertEquals(sum(flows.map((f) => f.bytesAtoB + f.bytesBtoA)), cap.bytes);

  const expected = [...streams(frames).values()].map((s) => JSON.stringify(s)).sort();
  const actual = flows.map((f) =>
    JSON.stringify({
      initiator: `${f.src}:${f.srcPort}`,
      responder: `${f.dst}:${f.dstPort}`,
      packetsAtoB: f.packetsAtoB,
      bytesAtoB: f.bytesAtoB,
      packetsBtoA: f.packetsBtoA,
      bytesBtoA: f.bytesBtoA,
    })
  ).sort();
  assertEquals(actual, expected);
});

Deno.test("analyze() is the report the CLI prints with --report json", async () => {
  const [report, cli] = await Promise.all([
    analyze(SAMPLE, { geoip: true }),
    wiresight(["read", SAMPLE, "--report", "json"]),
  ]);
  assertEquals(cli.code, 0);
  const printed = JSON.parse(cli.stdout);
  for (const key of ["packets", "bytes", "flows", "protocols"]) {
    assertEquals(report[key as keyof typeof report], printed[key], key);
  }
  // Beyond the headline numbers: the whole object, as JSON would carry it.
  assertEquals(JSON.parse(JSON.stringify(report)), printed);
});
