// Detection over every benign capture of the shared corpus: the alerts raised there are false
// positives, counted and pinned here so the count cannot grow unnoticed. Each one left is listed
// with why it stays (most are true by the detector's own definition on traffic that is benign).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { basename } from "node:path";
import { runDecode } from "../src/source/decode.ts";
import { DEFAULT_CONFIG } from "../src/detect/config.ts";
import { DetectionEngine } from "../src/detect/engine.ts";
import { IntelLists } from "../src/detect/intel.ts";
import { corpusFile, corpusFiles } from "./helpers/corpus.ts";
import { readDetect } from "./helpers/detect.ts";

/** file -> alert types raised on it, with the reason each is accepted. */
const ACCEPTED: Record<string, string[]> = {
  // DNS messages on UDP port 500 (tcpdump's test captures): a service off its port, as defined.
  "dns-badlabel.pcap": ["unusual_port.service"],
  "dns_fwdptr.pcap": ["unusual_port.service"],
  // DNS served on 8053 over UDP (recognised: off its port) and TCP (not recognised: a rare high port).
  "dns_udp_8053.pcap": ["unusual_port.service"],
  "dns_tcp_8053.pcap": ["unusual_port.high_port"],
  // MPTCP subflows to port 10004, which no known service uses.
  "mptcp-v1.pcap": ["unusual_port.high_port"],
  // HTTP on 8002 and TLS on 4433: services off their ports, as defined.
  "sv-http-connect-http-connect-tls.pcap": ["unusual_port.service"],
  "sv-tls-tls13-draft28.pcap": ["unusual_port.service"],
  // Requests that carry no User-Agent at all (Suricata's test clients).
  "sv-http-auth-bearer.pcap": ["http.empty_user_agent"],
  "sv-http-evader-http-evader-000.pcap": ["http.empty_user_agent"],
  // The SELKS server's certificate is self-signed (issuer = subject, its own key verifies it).
  "sv-ja4-tls.pcap": ["tls.self_signed"],
  "sv-tls-tls-random.pcap": ["tls.self_signed"],
};

const FALSE_POSITIVES = Object.values(ACCEPTED).flat().length;

Deno.test(`the whole corpus with every detector on: ${FALSE_POSITIVES} false positives, each accepted`, async () => {
  const seen: Record<string, string[]> = {};
  for (const path of corpusFiles()) {
    const engine = new DetectionEngine(structuredClone(DEFAULT_CONFIG), new IntelLists());
    await runDecode(
      { files: [path], decoder: engine.decoderSettings() },
      engine.handlers({ app: () => {} }),
    );
    engine.finish();
    const types = engine.alerts().map((a) => a.type).sort();
    if (types.length) seen[basename(path)] = types;
  }
  assertEquals(seen, ACCEPTED);
});

Deno.test("--report json keeps every report key and adds file, summary and alerts", async () => {
  const path = corpusFile("sv-ja4-tls.pcap");
  const { report } = await readDetect(path);
  for (
    const key of ["wiresight_version", "files", "packets", "bytes", "flows", "top_talkers", "tls", "dns"]
  ) {
    assert(key in report, key);
  }
  assertEquals(report.file, path);
  assertEquals(report.summary, {
    total_flows: report.flows,
    total_packets: report.packets,
    total_bytes: report.bytes,
  });
  assertEquals(report.alerts.length, 1);
  const [{ flow, alerts }] = report.alerts;
  assertEquals(flow, {
    flow_id: null,
    src_ip: "192.168.56.1",
    src_port: null,
    dest_ip: "192.168.56.101",
    dest_port: 443,
    proto: "TCP",
  });
  assertEquals(alerts.map((a: { type: string; severity: string }) => [a.type, a.severity]), [[
    "tls.self_signed",
    "medium",
  ]]);
  assertEquals(report.detection.alerts, 1);
  assert(/^[0-9a-f]{16}$/.test(alerts[0].id));
  // Stable: the same capture gives the same id.
  assertEquals((await readDetect(path)).report.alerts[0].alerts[0].id, alerts[0].id);
});
