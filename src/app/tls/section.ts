// The report's TLS section: versions, SNI, ALPN, JA3/JA4, ciphers, certificates. ClientHellos that
// came over QUIC (F_TLS_QUIC) are counted here and reported in the QUIC section.
import * as abi from "../../decoder/abi.ts";
import type { AppEvent } from "../../decoder/app_event.ts";
import { BoundedTable } from "../../base/bounded_table.ts";
import { Counter, COUNTER_CAPACITY } from "../../base/counter.ts";
import { count, counted, type Style, table } from "../../base/format.ts";
import type { FlowNames, Section } from "../protocol.ts";
import type { QuicHellos } from "../quic/section.ts";
import { tlsRecord } from "./message.ts";
import { encryptedDns } from "./encrypted_dns.ts";
import type { CertInfo } from "./x509.ts";

export interface TlsCertReport extends CertInfo {
  expired: boolean;
  /** Handshakes that showed it. */
  count: number;
}

export interface TlsReport {
  /** Over TCP; QUIC's are in the QUIC section. */
  client_hellos: number;
  server_hellos: number;
  certificates: number;
  quic_client_hellos: number;
  /** Negotiated versions (ServerHello). */
  versions: Record<string, number>;
  top_sni: { sni: string; count: number }[];
  /** ALPN protocols offered by clients. */
  alpn: Record<string, number>;
  top_ja3: { ja3: string; ja3_string: string; count: number }[];
  top_ja4: { ja4: string; count: number }[];
  /** Cipher suites chosen by servers. */
  ciphers: Record<string, number>;
  server_certificates: TlsCertReport[];
}

export class TlsSection implements Section<TlsReport> {
  readonly key = "tls";
  readonly kinds = [abi.AK_TLS_CLIENT_HELLO, abi.AK_TLS_SERVER_HELLO, abi.AK_TLS_CERTIFICATE];
  #clientHellos = 0;
  #serverHellos = 0;
  #certificates = 0;
  readonly #versions = new Counter(100);
  readonly #snis = new Counter();
  readonly #alpn = new Counter(1000);
  readonly #ja3 = new Counter();
  readonly #ja3Strings = new BoundedTable<string>("tls_ja3_strings", COUNTER_CAPACITY);
  readonly #ja4 = new Counter();
  readonly #ciphers = new Counter(1000);
  readonly #certCounts = new Counter();
  readonly #certs = new BoundedTable<CertInfo & { expired: boolean }>("tls_certificates", COUNTER_CAPACITY);

  constructor(
    private readonly flowNames: FlowNames,
    private readonly quic: QuicHellos,
    private readonly flowLabels: FlowNames,
  ) {}

  add(e: AppEvent): void {
    const r = tlsRecord(e);
    if (r.kind === "client_hello") {
      if (r.sni !== null) this.flowNames.set(e.flowId, r.sni);
      const label = encryptedDns({ transport: r.transport, serverPort: e.dstPort, sni: r.sni, alpn: r.alpn });
      if (label) this.flowLabels.set(e.flowId, label);
      if (r.transport === "quic") return this.quic.add(r.sni, r.alpn, r.ja4!);
      this.#clientHellos++;
      if (r.sni !== null) this.#snis.add(r.sni);
      for (const a of r.alpn) this.#alpn.add(a);
      // An SSLv2-format hello has no JA3 or JA4 (tls/message.ts).
      if (r.ja3 !== null) {
        this.#ja3.add(r.ja3);
        this.#ja3Strings.set(r.ja3, r.ja3_string ?? "");
      }
      if (r.ja4 !== null) this.#ja4.add(r.ja4);
    } else if (r.kind === "server_hello") {
      this.#serverHellos++;
      if (r.version !== null) this.#versions.add(r.version);
      if (r.cipher !== null) this.#ciphers.add(r.cipher);
    } else {
      this.#certificates++;
      if (!r.cert) return;
      this.#certCounts.add(r.cert.sha256);
      this.#certs.set(r.cert.sha256, { ...r.cert, expired: r.expired ?? false });
    }
  }

  report(top: number): TlsReport | null {
    if (this.#clientHellos + this.#serverHellos + this.#certificates === 0) return null;
    return {
      client_hellos: this.#clientHellos,
      server_hellos: this.#serverHellos,
      certificates: this.#certificates,
      quic_client_hellos: this.quic.hellos,
      versions: Object.fromEntries(this.#versions.top(100)),
      top_sni: this.#snis.top(top).map(([sni, count]) => ({ sni, count })),
      alpn: Object.fromEntries(this.#alpn.top(top)),
      top_ja3: this.#ja3.top(top).map(([ja3, count]) => ({
        ja3,
        ja3_string: this.#ja3Strings.peek(ja3) ?? "",
        count,
      })),
      top_ja4: this.#ja4.top(top).map(([ja4, count]) => ({ ja4, count })),
      ciphers: Object.fromEntries(this.#ciphers.top(top)),
      server_certificates: this.#certCounts.top(top).flatMap(([sha, count]) => {
        const c = this.#certs.peek(sha);
        return c ? [{ ...c, count }] : [];
      }),
    };
  }

  text(r: TlsReport, st: Style): string[] {
    const list = (o: Record<string, number>) =>
      Object.entries(o).map(([k, n]) => `${k} ${count(n)}`).join(", ");
    const out = [
      st.heading("TLS"),
      `  ${counted(r.client_hellos, "ClientHello")}, ${counted(r.server_hellos, "ServerHello")}, ` +
      `${counted(r.certificates, "certificate")}${
        r.quic_client_hellos ? ` (and ${counted(r.quic_client_hellos, "ClientHello")} over QUIC)` : ""
      }`,
    ];
    if (Object.keys(r.versions).length) out.push(`  Versions: ${list(r.versions)}`);
    if (r.top_sni.length) {
      out.push(table(["Server name", "Hellos"], r.top_sni.map((s) => [s.sni, count(s.count)])));
    }
    if (Object.keys(r.alpn).length) out.push(`  ALPN offered: ${list(r.alpn)}`);
    if (r.top_ja4.length) out.push(table(["JA4", "Hellos"], r.top_ja4.map((j) => [j.ja4, count(j.count)])));
    if (r.top_ja3.length) out.push(table(["JA3", "Hellos"], r.top_ja3.map((j) => [j.ja3, count(j.count)])));
    if (Object.keys(r.ciphers).length) out.push(`  Ciphers chosen: ${list(r.ciphers)}`);
    if (r.server_certificates.length) {
      out.push(table(
        ["Certificate subject", "Issuer", "Not after", "Notes"],
        r.server_certificates.map((c) => [
          c.subject ?? `(unreadable, sha256 ${c.sha256.slice(0, 16)})`,
          c.self_signed ? "(self-signed)" : c.issuer ?? "",
          c.not_after?.slice(0, 10) ?? "",
          c.expired ? "expired" : "",
        ]),
      ));
    }
    return out;
  }
}
