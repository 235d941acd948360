// IPFIX export checked by the collectors users run (Debian's nfdump and pmacct) and by tshark's
// cflow dissector: what `read --ipfix` sends for real captures must be stored and listed with the
// same flows, packets and bytes as wiresight's own flow export, and every field must read back.
import assert from "node:assert/strict";
import { captureLoopback, freePort } from "./helpers/capture.ts";
import { assertIncludes, SAMPLE, wiresight } from "./helpers/cli.ts";
import { corpusFile, corpusRoot } from "./helpers/corpus.ts";
import { runTool } from "./helpers/tool.ts";
import { waitFor } from "./helpers/wait.ts";

/** IPv4 (HTTP, DNS over UDP and TCP), IPv6 (FTP), QUIC with JA4, a long IRC session. */
const FILES = [
  SAMPLE,
  `${corpusRoot()}/zeek/scripts.base.protocols.ftp.ftp-ipv6.pcap`,
  corpusFile("sv-ja4-quic.pcap"),
  `${corpusRoot()}/zeek/scripts.base.protocols.irc.basic.pcapng`,
];

interface ExportedFlow {
  protocol: string;
  src: string;
  src_port: number | null;
  dst: string;
  dst_port: number | null;
  start: string;
  end: string;
  packets_a_to_b: number;
  bytes_a_to_b: number;
  packets_b_to_a: number;
  bytes_b_to_a: number;
  tcp_flags_a: string | null;
  tcp_flags_b: string | null;
  end_reason: string;
  app: string | null;
  server_name: string | null;
}

/**
 * A daemon the test starts, stopped at the end with `stop` (nfcapd writes out what it holds on
 * SIGTERM; nfacctd's core waits on it forever once its plugin has gone, so it takes SIGKILL).
 */
async function startDaemon(cmd: string, args: string[], ready: string, stop: Deno.Signal = "SIGTERM") {
  const proc = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
  let log = "";
  const dec = new TextDecoder();
  const pumps = [proc.stdout, proc.stderr].map(async (s) => {
    for await (const chunk of s) log += dec.decode(chunk, { stream: true });
  });
  let exited = false;
  proc.status.then(() => exited = true);
  await waitFor(`${cmd} to start`, () => log.includes(ready) || exited, { detail: () => log });
  if (exited) throw new Error(`${cmd} exited: ${log}`);
  return {
    log: () => log,
    async stop() {
      proc.kill(stop);
      await proc.status;
      await Promise.all(pumps);
    },
  };
}

const ms = (iso: string) => Date.parse(iso.slice(0, 23) + "Z");

async function readFlows(args: string[], dir: string): Promise<{ flows: ExportedFlow[]; stderr: string }> {
  const path = `${dir}/flows.ndjson`;
  const r = await wiresight(["read", ...args, "-q", "--export", path, "--export-type", "flows"]);
  assert.deepEqual(r.code, 0, r.stderr);
  const text = await Deno.readTextFile(path);
  return { flows: text.trim().split("\n").map((l) => JSON.parse(l)), stderr: r.stderr };
}

/** One line per flow record, as both sides can say it: the tuple, first and last millisecond, counts. */
const key = (proto: number, src: string, sp: number, dst: string, dp: number, first: number, last: number) =>
  `${proto} ${src}:${sp} > ${dst}:${dp} ${first}-${last}`;

const ourLine = (f: ExportedFlow) =>
  `${key(PROTOCOLS[f.protocol], f.src, f.src_port ?? 0, f.dst, f.dst_port ?? 0, ms(f.start), ms(f.end))} ` +
  `${f.packets_a_to_b}/${f.bytes_a_to_b} ${f.packets_b_to_a}/${f.bytes_b_to_a}`;

const FLAG_BITS: Record<string, number> = { F: 1, S: 2, R: 4, P: 8, A: 16, U: 32, E: 64, C: 128 };
const flagBits = (letters: string | null) => [...letters ?? ""].reduce((n, c) => n | FLAG_BITS[c], 0);
const END_REASONS: Record<string, number> = {
  idle_timeout: 1,
  active_timeout: 2,
  fin: 3,
  rst: 3,
  end_of_capture: 4,
  evicted: 5,
};
const PROTOCOLS: Record<string, number> = { TCP: 6, UDP: 17, ICMP: 1, ICMPv6: 58 };

Deno.test("read --ipfix: nfcapd stores every flow, nfdump lists the export's flows, tshark reads every field", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight-ipfix-" });
  try {
    const port = freePort();
    await Deno.mkdir(`${dir}/nf`);
    const nfcapd = await startDaemon(
      "nfcapd",
      ["-b", "127.0.0.1", "-p", String(port), "-w", `${dir}/nf`],
      "Startup",
    );
    const capture = await captureLoopback(dir, "ipfix.pcap", `udp port ${port}`);
    let ours: ExportedFlow[];
    try {
      // One run per capture (they are years apart: read as one, time would jump back and forth).
      // Records of an active timeout without packets are not exported (they say nothing).
      // Each run is an exporter of its own to nfcapd (its sequence numbers start at 0): a domain each.
      ours = [];
      for (const [i, file] of FILES.entries()) {
        const { flows } = await readFlows([
          file,
          "--ipfix",
          `127.0.0.1:${port}`,
          "--ipfix-domain",
          String(i + 1),
        ], dir);
        ours.push(...flows.filter((f) => f.packets_a_to_b + f.packets_b_to_a > 0));
      }
    } finally {
      await capture.stop();
      await nfcapd.stop();
    }
    assert.match(nfcapd.log(), /Sequence Errors: 0, Bad Packets: 0/);

    // nfdump's listing of the stored records against the flow export, record for record.
    const fmt = "fmt:%pr|%sa|%sp|%da|%dp|%ipkt|%ibyt|%opkt|%obyt|%ts|%te";
    const listed = (await runTool("nfdump", ["-R", `${dir}/nf`, "-q", "-N", "-6", "-o", fmt])).stdout.trim()
      .split(
        "\n",
      );
    const theirs = listed.map((line) => {
      const [pr, sa, sp, da, dp, ipkt, ibyt, opkt, obyt, ts, te] = line.split("|").map((s) => s.trim());
      const time = (t: string) => Date.parse(t.replace(" ", "T") + "Z");
      return `${
        key(Number(pr), sa, Number(sp), da, Number(dp), time(ts), time(te))
      } ${ipkt}/${ibyt} ${opkt}/${obyt}`;
    }).sort();
    assert.deepEqual(theirs, ours.map(ourLine).sort());
    assert.deepEqual(ours.length > 40 && ours.some((f) => f.src.includes(":")), true, "IPv4 and IPv6 flows");

    // tshark's cflow dissector: no expert warning, and every field of every record as exported.
    const tsharkArgs = ["-r", capture.path, "-d", `udp.port==${port},cflow`];
    const expert = (await runTool("tshark", [...tsharkArgs, "-q", "-z", "expert"])).stdout;
    assert.deepEqual(/Warning|Error|Malformed/.test(expert), false, expert);
    const frames = JSON.parse(
      (await runTool("tshark", [...tsharkArgs, "-T", "json", "--no-duplicate-keys"])).stdout,
    );
    const records: Record<string, unknown>[] = [];
    // Messages of at most 1400 bytes (the default --ipfix-mtu), and more than one: records were packed.
    const lengths = frames.map((f: { _source: { layers: { cflow: Record<string, string> } } }) =>
      Number(f._source.layers.cflow["cflow.len"])
    );
    assert.ok(
      lengths.length > 4 && lengths.every((n: number) => n <= 1400) && lengths.some((n: number) => n > 1200),
      `${lengths}`,
    );
    for (const frame of frames) {
      for (const [name, set] of Object.entries(frame._source.layers.cflow as Record<string, unknown>)) {
        if (!name.startsWith("Set ")) continue;
        for (const [flow, fields] of Object.entries(set as Record<string, unknown>)) {
          if (flow.startsWith("Flow ")) records.push(fields as Record<string, unknown>);
        }
      }
    }
    const text = (hex: string) =>
      new TextDecoder().decode(new Uint8Array(hex.split(":").map((h) => parseInt(h, 16))));
    const time = (t: string) => Date.parse(t.replace(/ UTC$/, "Z").replace(/(\d)\.(\d{3})\d+/, "$1.$2"));
    const read = records.map((r) => {
      const times = r["cflow.timedelta_tree"] as Record<string, string>;
      const [octets, rOctets] = r["cflow.octets"] as string[];
      const [packets, rPackets] = r["cflow.packets"] as string[];
      const [flags, rFlags] = (r["cflow.tcpflags"] as string[]).map(Number);
      // wiresight's own elements, as tshark shows unknown enterprise elements (hex); it leaves out
      // the empty ones (no process on a file): pids of 0, then the server name and JA4 when known.
      const own = ([r["cflow.enterprise_private_entry"] ?? []].flat() as string[])
        .filter((e) => e !== "00:00:00:00").map(text);
      const tuple = key(
        Number(r["cflow.protocol"]),
        String(r["cflow.srcaddr"] ?? r["cflow.srcaddrv6"]),
        Number(r["cflow.srcport"]),
        String(r["cflow.dstaddr"] ?? r["cflow.dstaddrv6"]),
        Number(r["cflow.dstport"]),
        time(times["cflow.abstimestart"]),
        time(times["cflow.abstimeend"]),
      );
      return {
        line: `${tuple} ${packets}/${octets} ${rPackets}/${rOctets}`,
        flags: [flags, rFlags],
        endReason: Number(r["cflow.flow_end_reason"]),
        biflowDirection: r["cflow.biflow_direction"],
        app: r["cflow.appl_name"] ?? null,
        own,
      };
    }).sort((a, b) => a.line < b.line ? -1 : 1);
    const ja4 = /^[qt]1[0-3]d\d{4}[a-z0-9]{2}_[0-9a-f]{12}_[0-9a-f]{12}$/;
    const expected = ours.map((f) => ({
      line: ourLine(f),
      flags: [flagBits(f.tcp_flags_a), flagBits(f.tcp_flags_b)],
      endReason: END_REASONS[f.end_reason],
      biflowDirection: "1",
      app: f.app,
      own: f.server_name ? [f.server_name] : [],
    })).sort((a, b) => a.line < b.line ? -1 : 1);
    // JA4 is beyond the flow export: a QUIC or TLS flow's ClientHello gives it; its shape is checked.
    const ja4s = read.map((r) =>
      r.own.length > r.own.filter((o) => !ja4.test(o)).length ? r.own.pop()! : null
    );
    assert.deepEqual(read, expected);
    assert.ok(ja4s.filter((j) => j?.startsWith("q13")).length >= 5, `JA4 of the QUIC flows: ${ja4s}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("read --ipfix: pmacct's nfacctd accepts the export (its print plugin shows each flow)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight-ipfix-" });
  try {
    const port = freePort();
    const csv = `${dir}/flows.csv`;
    await Deno.writeTextFile(
      `${dir}/nfacctd.conf`,
      [
        "daemonize: false",
        "nfacctd_ip: 127.0.0.1",
        `nfacctd_port: ${port}`,
        "plugins: print",
        "aggregate: src_host, dst_host, src_port, dst_port, proto",
        "print_output: csv",
        `print_output_file: ${csv}`,
        "print_output_file_append: true",
        "print_refresh_time: 1",
      ].join("\n") + "\n",
    );
    const nfacctd = await startDaemon("nfacctd", ["-f", `${dir}/nfacctd.conf`], "cache entries=", "SIGKILL");
    let ours: ExportedFlow[];
    let rows: string[] = [];
    try {
      ours = (await readFlows([SAMPLE, "--ipfix", `127.0.0.1:${port}`], dir)).flows;
      // The print plugin writes what it accounted at each refresh (every second).
      rows = await waitFor("nfacctd to print every flow", async () => {
        const lines = (await Deno.readTextFile(csv).catch(() => "")).trim().split("\n").slice(1);
        return lines.length >= ours.length && lines;
      }, { timeoutMs: 30_000, detail: () => nfacctd.log().slice(-2000) });
    } finally {
      await nfacctd.stop();
    }
    // nfacctd 1.7.7 accounts the forward direction of a biflow (it has no reverse counters).
    const theirs = rows.map((r) => r.split(",").join(" ")).sort();
    const expected = ours.map((f) =>
      [f.src, f.dst, f.src_port, f.dst_port, f.protocol.toLowerCase(), f.packets_a_to_b, f.bytes_a_to_b].join(
        " ",
      )
    ).sort();
    assert.deepEqual(theirs, expected);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("read --ipfix tcp://: messages framed back to back on the stream, as tshark reads them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight-ipfix-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    // A listener that takes the stream (no collector here speaks IPFIX over TCP: nfcapd does not).
    const received = (async () => {
      const conn = await listener.accept();
      let n = 0;
      for await (const chunk of conn.readable) n += chunk.length;
      return n;
    })();
    const capture = await captureLoopback(dir, "tcp.pcap", `tcp port ${port}`);
    let ours: ExportedFlow[];
    try {
      ours = (await readFlows([SAMPLE, "--ipfix", `tcp://127.0.0.1:${port}`], dir)).flows;
      assert.ok(await received > 0);
    } finally {
      await capture.stop();
    }
    const tsharkArgs = ["-r", capture.path, "-d", `tcp.port==${port},cflow`];
    const expert = (await runTool("tshark", [...tsharkArgs, "-q", "-z", "expert"])).stdout;
    assert.equal(/Malformed|Error/.test(expert), false, expert);
    const fields = (await runTool("tshark", [
      ...tsharkArgs,
      "-Y",
      "cflow",
      "-T",
      "fields",
      "-E",
      "occurrence=a",
      "-e",
      "cflow.srcport",
    ])).stdout;
    const ports = fields.split(/[\n,]/).filter((p) => p !== "").map(Number).sort((a, b) => a - b);
    assert.deepEqual(ports, ours.map((f) => f.src_port ?? 0).sort((a, b) => a - b));
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("read --ipfix: a collector that cannot be reached is said on stderr, and the run goes on", async () => {
  const closed = freePort();
  for (
    const [target, said] of [
      [`tcp://127.0.0.1:${closed}`, `IPFIX collector tcp://127.0.0.1:${closed}: ECONNREFUSED`],
      [
        "collector.invalid:4739",
        "IPFIX collector udp://collector.invalid:4739: cannot resolve 'collector.invalid'",
      ],
    ]
  ) {
    const r = await wiresight(["read", SAMPLE, "--ipfix", target, "--report", "json"]);
    assert.equal(r.code, 0, r.stderr);
    assertIncludes(r.stderr, said);
    assert.equal(JSON.parse(r.stdout).flows, 26);
  }
  const bad = await wiresight(["read", SAMPLE, "--ipfix", "nowhere"]);
  assert.equal(bad.code, 2);
  assertIncludes(bad.stderr, "--ipfix takes HOST:PORT");
  const alone = await wiresight(["read", SAMPLE, "--ipfix-mtu", "1200"]);
  assert.equal(alone.code, 2);
  assertIncludes(alone.stderr, "--ipfix-mtu: only with --ipfix");
});
