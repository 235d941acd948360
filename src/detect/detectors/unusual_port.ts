// Unusual ports: a protocol found in the payload on a port that is not its own (HTTP on 4444,
// SSH on 2222), and conversations on high ports no service is known for. Judged on flow
// records, once per server port. Both are notices (severity info: a developer's HTTP server on
// 8084 is routine), alerts when the config promotes them (notices.ts).
import * as abi from "../../decoder/abi.ts";
import { appName } from "../../app/names.ts";
import { serviceName } from "../../flows/services.ts";
import type { DetectConfig } from "../config.ts";
import { type Detector, protoName, type Raise, seconds, TCP, TCP_PSH } from "../detector.ts";
import { BoundedTable } from "../../base/bounded_table.ts";

/** The ports each protocol normally uses (IANA, and the common alternatives). */
const OWN_PORTS: Record<number, number[]> = {
  [abi.APP_DNS]: [53, 5353, 5355],
  [abi.APP_MDNS]: [5353],
  [abi.APP_LLMNR]: [5355],
  [abi.APP_HTTP]: [80, 591, 3128, 5985, 8000, 8008, 8080, 8081, 8888],
  [abi.APP_TLS]: [
    443,
    261,
    448,
    465,
    563,
    614,
    636,
    853,
    989,
    990,
    992,
    993,
    994,
    995,
    3269,
    4443,
    5061,
    5223,
    5986,
    6697,
    8443,
    8883,
    9443,
  ],
  [abi.APP_QUIC]: [443, 80, 853, 8443],
  [abi.APP_SSH]: [22],
  [abi.APP_DHCP]: [67, 68, 546, 547],
  [abi.APP_NTP]: [123],
  [abi.APP_SMTP]: [25, 465, 587, 2525],
  [abi.APP_FTP]: [21],
  [abi.APP_POP3]: [110],
  [abi.APP_IMAP]: [143],
  [abi.APP_REDIS]: [6379],
  [abi.APP_MQTT]: [1883],
  [abi.APP_SMB]: [139, 445],
  [abi.APP_RDP]: [3389],
  [abi.APP_MYSQL]: [3306],
  [abi.APP_POSTGRESQL]: [5432],
  [abi.APP_SYSLOG]: [514],
  [abi.APP_SNMP]: [161, 162],
  [abi.APP_TELNET]: [23],
};

export function unusualPort(cfg: DetectConfig["unusual_port"], raise: Raise, maxEntries: number): Detector {
  const seen = new BoundedTable<true>("unusual_port", maxEntries);
  return {
    tables: [seen],
    flow(f) {
      const ts = seconds(f.firstSec, f.firstNsec);
      const own = OWN_PORTS[f.app];
      if (cfg.service_port && own && f.dstPort !== 0 && !own.includes(f.dstPort)) {
        const name = appName(f.app)!;
        raise({
          type: "unusual_port.service",
          severity: "info",
          key: `${f.dst}:${f.dstPort}/${name}`,
          ts,
          flowId: f.id,
          src: f.src,
          dst: f.dst,
          dstPort: f.dstPort,
          proto: f.ipProto,
          hosts: [f.dst],
          message: `${name.toUpperCase()} on ${
            protoName(f.ipProto)
          } port ${f.dstPort} of ${f.dst} (its ports: ${own.slice(0, 4).join(", ")}${
            own.length > 4 ? " ..." : ""
          })`,
          evidence: { protocol: name, port: f.dstPort, usual_ports: own },
        });
        return;
      }
      // Data both ways over a completed TCP handshake, to a high port no known service uses.
      const talked = (f.tcpFlagsA & TCP_PSH) !== 0 && (f.tcpFlagsB & TCP_PSH) !== 0;
      if (
        !cfg.rare_high_port || f.ipProto !== TCP || f.app !== abi.APP_UNKNOWN || f.dstPort < 1024 ||
        !talked ||
        serviceName(f.ipProto, f.dstPort) !== undefined || f.tcpState === "midstream"
      ) return;
      const key = `${f.dst}:${f.dstPort}`;
      if (seen.get(key)) return;
      seen.upsert(key, () => true);
      raise({
        type: "unusual_port.high_port",
        severity: "info",
        key,
        ts,
        flowId: f.id,
        src: f.src,
        dst: f.dst,
        dstPort: f.dstPort,
        proto: TCP,
        message: `${f.src} talked to ${f.dst} on tcp port ${f.dstPort}, which no known service uses`,
        evidence: { port: f.dstPort, bytes_to_server: f.bytesAtoB, bytes_to_client: f.bytesBtoA },
      });
    },
  };
}
