// TLS anomalies: a self-signed or expired server certificate, a certificate that does not name
// the server the client asked for (SNI), and client fingerprints (JA3, JA4) on a known-bad list.
// Certificates are visible up to TLS 1.2 only (TLS 1.3 encrypts them). A self-signed certificate
// is a notice (severity info: local test servers have them), an alert when promoted (notices.ts).
import type { TlsRecord } from "../../app/tls/message.ts";
import type { DetectConfig } from "../config.ts";
import { type AppContext, appSubject, type Detector, type Raise } from "../detector.ts";
import { BoundedTable } from "../../base/bounded_table.ts";

/** RFC 6125 matching: exact, or a wildcard standing for exactly the leftmost label. */
export function nameMatches(sni: string, names: string[]): boolean {
  const host = sni.toLowerCase().replace(/\.$/, "");
  return names.some((n) =>
    n === host ||
    (n.startsWith("*.") && host.endsWith(n.slice(1)) && !host.slice(0, -n.length + 1).includes("."))
  );
}

export function tlsAnomaly(cfg: DetectConfig["tls"], raise: Raise, maxEntries: number): Detector {
  const sniByFlow = new BoundedTable<string>("tls_sni", maxEntries);
  /** SNIs each mismatching (client, certificate) asked for, for the evidence. */
  const mismatched = new BoundedTable<Set<string>>("tls_sni_mismatch", maxEntries);
  const badJa3 = new Set(cfg.bad_ja3.map((s) => s.toLowerCase()));
  const badJa4 = new Set(cfg.bad_ja4.map((s) => s.toLowerCase()));
  return {
    tables: [sniByFlow, mismatched],
    tls(r: TlsRecord, c: AppContext) {
      if (r.kind === "client_hello") {
        if (r.sni) sniByFlow.upsert(String(c.flowId), () => r.sni!);
        const ja3 = r.ja3 && badJa3.has(r.ja3) ? r.ja3 : null;
        const ja4 = r.ja4 && badJa4.has(r.ja4.toLowerCase()) ? r.ja4 : null;
        if (ja3 || ja4) {
          raise({
            type: "tls.bad_fingerprint",
            severity: "high",
            key: `${c.src}|${ja3 ?? ""}|${ja4 ?? ""}`,
            ...appSubject(c),
            message: `${c.src} uses a listed TLS client fingerprint (${ja3 ? `JA3 ${ja3}` : `JA4 ${ja4}`})`,
            evidence: { ja3: r.ja3, ja4: r.ja4, sni: r.sni, listed: ja3 ? "ja3" : "ja4" },
          });
        }
        return;
      }
      if (r.kind !== "certificate" || !r.cert || r.cert.subject === null) return;
      // The certificate comes from the server: the client is the packet's destination.
      const [client, server, port] = [c.dst, c.src, c.srcPort];
      const base = {
        ts: c.ts,
        flowId: c.flowId,
        src: client,
        dst: server,
        dstPort: port,
        proto: c.proto,
      };
      const cert = {
        subject: r.cert.subject,
        issuer: r.cert.issuer,
        not_before: r.cert.not_before,
        not_after: r.cert.not_after,
        sha256: r.cert.sha256,
      };
      const key = `${server}:${port}|${r.cert.sha256}`;
      if (cfg.self_signed && r.cert.self_signed) {
        raise({
          ...base,
          type: "tls.self_signed",
          severity: "info",
          key,
          message: `${server}:${port} presented a self-signed certificate (${r.cert.subject})`,
          evidence: cert,
        });
      }
      if (cfg.expired && r.expired) {
        raise({
          ...base,
          type: "tls.expired",
          severity: "medium",
          key,
          message: `${server}:${port} presented a certificate that expired ${r.cert.not_after}`,
          evidence: cert,
        });
      }
      const sni = sniByFlow.get(String(c.flowId));
      if (cfg.sni_mismatch && sni && r.x509) {
        const names = r.x509.names;
        if (names.length && !nameMatches(sni, names)) {
          // One alert per client and certificate; the names it asked for are collected.
          const k = `${client}|${key}`;
          const asked = mismatched.upsert(k, () => new Set());
          if (asked.size < 20) asked.add(sni);
          raise({
            ...base,
            type: "tls.sni_mismatch",
            severity: "medium",
            key: k,
            message: `${client} asked ${server}:${port} for ${sni} but the certificate names ${
              names.slice(0, 3).join(", ")
            }`,
            evidence: { sni, snis: [...asked], certificate_names: names.slice(0, 20), ...cert },
          });
        }
      }
    },
  };
}
