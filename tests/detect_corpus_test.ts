// Detection over every benign capture of the shared corpus: none raises an alert (severity low
// or above). The notices raised there (severity info) are pinned here so the count cannot grow
// unnoticed, each with why it stays (true by the detector's own definition on benign traffic).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { basename } from "node:path";
import { runDecode } from "../src/source/decode.ts";
import { DEFAULT_CONFIG } from "../src/detect/config.ts";
import { DetectionEngine } from "../src/detect/engine.ts";
import { IntelLists } from "../src/detect/intel.ts";
import { corpusFile, corpusFiles } from "./helpers/corpus.ts";
import { readDetect } from "./helpers/detect.ts";

/** file -> notice types raised on it, with the reason each is accepted. */
const NOTICES: Record<string, string[]> = {
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

const NOTICE_COUNT = Object.values(NOTICES).flat().length;

Deno.test(`the whole corpus with every detector on: no alert, ${NOTICE_COUNT} notices, each accepted`, async () => {
  const seen: Record<string, string[]> = {};
  const alerts: Record<string, string[]> = {};
  for (const path of corpusFiles()) {
    const engine = new DetectionEngine(structuredClone(DEFAULT_CONFIG), new IntelLists());
    await runDecode(
      { files: [path], decoder: engine.decoderSettings() },
      engine.handlers({ app: () => {} }),
    );
    engine.finish();
    const types = (info: boolean) =>
      engine.alerts().filter((a) => (a.severity === "info") === info).map((a) => `${a.type} ${a.severity}`);
    if (types(true).length) seen[basename(path)] = types(true).map((t) => t.split(" ")[0]).sort();
    if (types(false).length) alerts[basename(path)] = types(false);
  }
  assertEquals(alerts, {});
  assertEquals(seen, NOTICES);
});

Deno.test("--report json keeps every report key and adds file, summary, alerts and notices apart", async () => {
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
  assertEquals(report.alerts, []);
  assertEquals(report.notices.length, 1);
  const [{ flow, alerts }] = report.notices;
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
    "info",
  ]]);
  assertEquals([report.detection.alerts, report.detection.notices], [0, 1]);
  assert(/^[0-9a-f]{16}$/.test(alerts[0].id));
  // Stable: the same capture gives the same id.
  assertEquals((await readDetect(path)).notices[0].id, alerts[0].id);
});
