// Insecure cleartext protocols: Telnet, FTP, HTTP basic authentication, POP3 and IMAP without
// TLS. Server greetings (FTP/POP3/IMAP) and HTTP requests alert as they are seen; Telnet, which
// has no greeting to parse, when its flow record comes.
import * as abi from "../../decoder/abi.ts";
import type { DetectConfig } from "../config.ts";
import { type Detector, type Raise, seconds, TCP, TCP_PSH } from "../detector.ts";

const BANNER_APPS: Record<number, "ftp" | "pop3" | "imap"> = {
  [abi.APP_FTP]: "ftp",
  [abi.APP_POP3]: "pop3",
  [abi.APP_IMAP]: "imap",
};

export function cleartext(cfg: DetectConfig["cleartext"], raise: Raise): Detector {
  const alert = (
    proto: string,
    severity: "medium" | "high",
    client: string,
    server: string,
    port: number,
    ts: number,
    flowId: number,
    what: string,
    evidence: Record<string, unknown>,
  ) =>
    raise({
      type: `cleartext.${proto}`,
      severity,
      key: `${client}>${server}:${port}`,
      ts,
      flowId,
      src: client,
      dst: server,
      dstPort: port,
      proto: TCP,
      message: `${what} between ${client} and ${server}:${port}`,
      evidence,
    });
  return {
    banner(app, text, c) {
      const proto = BANNER_APPS[app];
      if (!proto || !cfg[proto]) return;
      // The greeting comes from the server: the client is the packet's destination.
      alert(proto, "medium", c.dst, c.src, c.srcPort, c.ts, c.flowId, `${proto.toUpperCase()} without TLS`, {
        banner: text,
      });
    },
    http(m, c) {
      if (!cfg.http_basic || m.kind !== "request" || m.authScheme?.toLowerCase() !== "basic") return;
      alert(
        "http_basic",
        "high",
        c.src,
        c.dst,
        c.dstPort,
        c.ts,
        c.flowId,
        "HTTP basic authentication in clear",
        {
          method: m.method,
          host: m.host,
          uri: m.uri,
        },
      );
    },
    flow(f) {
      if (!cfg.telnet || f.ipProto !== TCP) return;
      // Payload said Telnet, or port 23 carried data both ways.
      const talked = (f.tcpFlagsA & TCP_PSH) !== 0 && (f.tcpFlagsB & TCP_PSH) !== 0;
      if (f.app !== abi.APP_TELNET && !(f.dstPort === 23 && talked)) return;
      alert(
        "telnet",
        "high",
        f.src,
        f.dst,
        f.dstPort,
        seconds(f.firstSec, f.firstNsec),
        f.id,
        "Telnet session",
        {
          packets: f.packetsAtoB + f.packetsBtoA,
          detected_by: f.app === abi.APP_TELNET ? "payload" : "port",
        },
      );
    },
  };
}
