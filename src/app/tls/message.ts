// TLS handshakes from the decoder's events: ClientHello (with JA3 and JA4), ServerHello (with
// JA3S) and the server's certificate (TLS <= 1.2; later versions encrypt it).
import * as abi from "../../decoder/abi.ts";
import type { AppEvent } from "../../decoder/app_event.ts";
import {
  clientFingerprints,
  type HelloParams,
  isGrease,
  ja3sString,
  serverFingerprint,
} from "./fingerprint.ts";
import { cipherName, tlsVersionName } from "./names.ts";
import { type Certificate, certificate, type CertInfo } from "./x509.ts";

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
  /** The leaf certificate as parsed (names, serial, fingerprints for EVE and the detectors). */
  x509: Certificate | null;
  /** Certificates in the chain. */
  cert_count: number | null;
  /** A ClientHello in the SSLv2-compatible format (no extensions, so no SNI, JA3 or JA4). */
  sslv2: boolean;
  /** The leaf had expired at the time of the packet. */
  expired: boolean | null;
}

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
    x509: null,
    cert_count: null,
    expired: null,
    sslv2: e.num(abi.F_TLS_SSLV2) === 1,
  };
  if (e.kind === abi.AK_TLS_CLIENT_HELLO) {
    const h = helloParams(e);
    r.version = tlsVersionName(highestVersion(h));
    r.sni = h.sni;
    r.alpn = h.alpn.map((a) => text.decode(a));
    // JA3 and JA4 are defined on TLS hellos only: Salesforce's ja3, Suricata and tshark compute
    // none for an SSLv2-compatible one.
    if (r.sslv2) return r;
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
      r.x509 = certificate(der);
      r.cert = r.x509.info;
      if (r.cert.not_after) r.expired = e.tsSec * 1000 > Date.parse(r.cert.not_after);
    }
  }
  return r;
}
