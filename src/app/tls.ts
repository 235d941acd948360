// TLS handshakes from the decoder's events: ClientHello (with JA3 and JA4), ServerHello (with
// JA3S) and the server's certificate (TLS <= 1.2; later versions encrypt it). ClientHellos that
// came over QUIC (F_TLS_QUIC) are counted here and reported in the QUIC section.
import { createHash, X509Certificate } from "node:crypto";
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import { count, counted, type Style, table } from "../report/format.ts";
import { APP_BASE_COLUMNS, appRowBase } from "../sinks/rows.ts";
import { Counter, RecentMap } from "./counter.ts";
import {
  clientFingerprints,
  type HelloParams,
  isGrease,
  ja3sString,
  serverFingerprint,
} from "./fingerprint.ts";
import type { QuicHellos } from "./quic.ts";
import type { AppExport, FlowNames, Section } from "./section.ts";
import { cipherName, tlsVersionName } from "./tls_names.ts";

const text = new TextDecoder();

/** The ClientHello of an AK_TLS_CLIENT_HELLO event. */
export function helloParams(e: AppEvent): HelloParams {
  const alpn: Uint8Array[] = [];
  for (const [id, v] of e.fields()) if (id === abi.F_TLS_ALPN) alpn.push(v.slice());
  return {
    quic: e.num(abi.F_TLS_QUIC) === 1,
    version: e.num(abi.F_TLS_VERSION) ?? 0,
    ciphers: e.u16s(abi.F_TLS_CIPHERS),
    extensions: e.u16s(abi.F_TLS_EXTENSIONS),
    sni: e.str(abi.F_TLS_SNI) ?? null,
    alpn,
    supportedVersions: e.u16s(abi.F_TLS_SUPPORTED_VERSIONS),
    groups: e.u16s(abi.F_TLS_GROUPS),
    pointFormats: [...(e.bytes(abi.F_TLS_EC_POINT_FORMATS) ?? [])],
    sigAlgs: e.u16s(abi.F_TLS_SIG_ALGS),
  };
}

/** The highest version a client offered; drafts of TLS 1.3 (0x7fXX) rank below TLS 1.3. */
export function highestVersion(h: HelloParams): number {
  const rank = (v: number) => (v >> 8 === 0x7f ? 0x0303 + (v & 0xff) / 256 : v);
  const offered = h.supportedVersions.filter((v) => !isGrease(v));
  return offered.length ? offered.reduce((a, b) => (rank(b) > rank(a) ? b : a)) : h.version;
}

/** What a ServerHello chose. */
export interface ServerChoice {
  /** legacy_version of the hello. */
  version: number;
  /** The version in use: supported_versions when present (TLS 1.3), else the hello's. */
  negotiated: number;
  cipher: number;
  extensions: number[];
  alpn: string | null;
}

export function serverChoice(e: AppEvent): ServerChoice {
  const version = e.num(abi.F_TLS_VERSION) ?? 0;
  return {
    version,
    negotiated: e.num(abi.F_TLS_SUPPORTED_VERSIONS) ?? version,
    cipher: e.u16s(abi.F_TLS_CIPHERS)[0] ?? 0,
    extensions: e.u16s(abi.F_TLS_EXTENSIONS),
    alpn: e.str(abi.F_TLS_ALPN) ?? null,
  };
}

export interface CertInfo {
  subject: string | null;
  issuer: string | null;
  /** ISO 8601. */
  not_before: string | null;
  not_after: string | null;
  /** Issued by itself: issuer equals subject and its own key verifies its signature. */
  self_signed: boolean;
  sha256: string;
}

/** "C=US, O=Example, CN=host" from node's one-attribute-per-line form. */
const dn = (s: string) => s.split("\n").join(", ");

/** The leaf certificate (DER) as the report shows it; fields are null when it does not parse. */
export function certInfo(der: Uint8Array): CertInfo {
  const sha256 = createHash("sha256").update(der).digest("hex");
  try {
    const c = new X509Certificate(der);
    const subject = dn(c.subject);
    const issuer = dn(c.issuer);
    let verifies = false;
    try {
      verifies = c.verify(c.publicKey);
    } catch { /* a key type node cannot use */ }
    return {
      subject,
      issuer,
      not_before: new Date(c.validFrom).toISOString(),
      not_after: new Date(c.validTo).toISOString(),
      self_signed: subject === issuer && verifies,
      sha256,
    };
  } catch {
    return { subject: null, issuer: null, not_before: null, not_after: null, self_signed: false, sha256 };
  }
}

/** One handshake message as the tls export writes it. */
export interface TlsRecord {
  kind: "client_hello" | "server_hello" | "certificate";
  transport: "tcp" | "quic";
  /** Client: the highest version offered; server: the one negotiated. */
  version: string | null;
  sni: string | null;
  alpn: string[];
  ja3: string | null;
  ja3_string: string | null;
  ja4: string | null;
  ja4_r: string | null;
  ja3s: string | null;
  ja3s_string: string | null;
  cipher: string | null;
  cert: CertInfo | null;
  /** Certificates in the chain. */
  cert_count: number | null;
  /** The leaf had expired at the time of the packet. */
  expired: boolean | null;
}

/** Certificates parsed, by the SHA-256 of their DER (servers send the same one again and again). */
const certCache = new RecentMap<CertInfo>(1024);

/** The TLS record of an AppEvent (parsed once per event, shared by whoever asks). */
export function tlsRecord(e: AppEvent): TlsRecord {
  return e.parsed(parseTlsRecord);
}

function parseTlsRecord(e: AppEvent): TlsRecord {
  const r: TlsRecord = {
    kind: "client_hello",
    transport: e.num(abi.F_TLS_QUIC) === 1 ? "quic" : "tcp",
    version: null,
    sni: null,
    alpn: [],
    ja3: null,
    ja3_string: null,
    ja4: null,
    ja4_r: null,
    ja3s: null,
    ja3s_string: null,
    cipher: null,
    cert: null,
    cert_count: null,
    expired: null,
  };
  if (e.kind === abi.AK_TLS_CLIENT_HELLO) {
    const h = helloParams(e);
    r.version = tlsVersionName(highestVersion(h));
    r.sni = h.sni;
    r.alpn = h.alpn.map((a) => text.decode(a));
    const f = clientFingerprints(h);
    r.ja3_string = f.ja3String;
    r.ja3 = f.ja3;
    r.ja4 = f.ja4;
    r.ja4_r = f.ja4r;
  } else if (e.kind === abi.AK_TLS_SERVER_HELLO) {
    const s = serverChoice(e);
    r.kind = "server_hello";
    r.version = tlsVersionName(s.negotiated);
    r.alpn = s.alpn === null ? [] : [s.alpn];
    r.ja3s_string = ja3sString(s.version, s.cipher, s.extensions);
    r.ja3s = serverFingerprint(r.ja3s_string);
    r.cipher = cipherName(s.cipher);
  } else {
    r.kind = "certificate";
    r.cert_count = e.num(abi.F_TLS_CERT_COUNT) ?? 0;
    const der = e.bytes(abi.F_TLS_CERT);
    if (der) {
      const key = createHash("sha256").update(der).digest("hex");
      r.cert = certCache.get(key) ?? certInfo(der);
      certCache.set(key, r.cert);
      if (r.cert.not_after) r.expired = e.tsSec * 1000 > Date.parse(r.cert.not_after);
    }
  }
  return r;
}

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
  readonly #ja3Strings = new RecentMap<string>();
  readonly #ja4 = new Counter();
  readonly #ciphers = new Counter(1000);
  readonly #certCounts = new Counter();
  readonly #certs = new RecentMap<CertInfo & { expired: boolean }>();

  constructor(private readonly flowNames: FlowNames, private readonly quic: QuicHellos) {}

  add(e: AppEvent): void {
    const r = tlsRecord(e);
    if (r.kind === "client_hello") {
      if (r.sni !== null) this.flowNames.set(e.flowId, r.sni);
      if (r.transport === "quic") return this.quic.add(r.sni, r.alpn, r.ja4!);
      this.#clientHellos++;
      if (r.sni !== null) this.#snis.add(r.sni);
      for (const a of r.alpn) this.#alpn.add(a);
      this.#ja3.add(r.ja3!);
      this.#ja3Strings.set(r.ja3!, r.ja3_string!);
      this.#ja4.add(r.ja4!);
    } else if (r.kind === "server_hello") {
      this.#serverHellos++;
      this.#versions.add(r.version!);
      this.#ciphers.add(r.cipher!);
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
        ja3_string: this.#ja3Strings.get(ja3) ?? "",
        count,
      })),
      top_ja4: this.#ja4.top(top).map(([ja4, count]) => ({ ja4, count })),
      ciphers: Object.fromEntries(this.#ciphers.top(top)),
      server_certificates: this.#certCounts.top(top).flatMap(([sha, count]) => {
        const c = this.#certs.get(sha);
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

export const TLS_EXPORT: AppExport = {
  type: "tls",
  kinds: [abi.AK_TLS_CLIENT_HELLO, abi.AK_TLS_SERVER_HELLO, abi.AK_TLS_CERTIFICATE],
  columns: [
    ...APP_BASE_COLUMNS,
    "kind",
    "transport",
    "version",
    "sni",
    "alpn",
    "ja3",
    "ja3_string",
    "ja4",
    "ja4_r",
    "ja3s",
    "ja3s_string",
    "cipher",
    "cert_subject",
    "cert_issuer",
    "cert_not_before",
    "cert_not_after",
    "cert_sha256",
    "cert_count",
    "self_signed",
    "expired",
  ],
  row(e) {
    const r = tlsRecord(e);
    return {
      ...appRowBase(e),
      kind: r.kind,
      transport: r.transport,
      version: r.version,
      sni: r.sni,
      alpn: r.alpn.join(",") || null,
      ja3: r.ja3,
      ja3_string: r.ja3_string,
      ja4: r.ja4,
      ja4_r: r.ja4_r,
      ja3s: r.ja3s,
      ja3s_string: r.ja3s_string,
      cipher: r.cipher,
      cert_subject: r.cert?.subject ?? null,
      cert_issuer: r.cert?.issuer ?? null,
      cert_not_before: r.cert?.not_before ?? null,
      cert_not_after: r.cert?.not_after ?? null,
      cert_sha256: r.cert?.sha256 ?? null,
      cert_count: r.cert_count,
      self_signed: r.cert?.self_signed ?? null,
      expired: r.expired,
    };
  },
};
