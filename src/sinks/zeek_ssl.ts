// ssl.log as Zeek's base/protocols/ssl writes it: one row per TLS connection (STARTTLS ones too),
// from the ClientHello, the ServerHello, the server's certificate chain and the decoder's
// AK_TLS_STATE (ssl_history, curve, last alert, resumption, client certificates). Written when the
// handshake is established, as Zeek logs it, or when the flow ends. TLS inside QUIC is not
// logged here (Zeek's QUIC analyzer feeds it; wiresight reports QUIC hellos in its own section).
import { createHash } from "node:crypto";
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import { helloParams, serverChoice } from "../app/tls/message.ts";
import { cipherName } from "../app/tls/names.ts";
import { certMatchesHost, type ZeekCertificate, zeekCertificate } from "../app/tls/x509_zeek.ts";
import type { FlowView } from "./rows.ts";
import type { SessionSink } from "./sink.ts";
import type { UidMaker } from "./zeek_conn.ts";
import { eventIds, eventSeconds, idFields, type ZeekField, type ZeekIds, ZeekLog } from "./zeek_log.ts";

/** Zeek's version_strings. */
export function zeekTlsVersion(v: number): string {
  const names: Record<number, string> = {
    0x0002: "SSLv2",
    0x0300: "SSLv3",
    0x0301: "TLSv10",
    0x0302: "TLSv11",
    0x0303: "TLSv12",
    0x0304: "TLSv13",
    0xfeff: "DTLSv10",
    0xfefd: "DTLSv12",
    0xfefc: "DTLSv13",
  };
  if (names[v]) return names[v];
  return v >> 8 === 0x7f ? `TLSv13-draft${v % 0x7f}` : `unknown-${v}`;
}

/** Zeek's ec_curves (the named groups in use; others as Zeek's default names them). */
const CURVES: Record<number, string> = {
  21: "secp224r1",
  22: "secp256k1",
  23: "secp256r1",
  24: "secp384r1",
  25: "secp521r1",
  26: "brainpoolP256r1",
  27: "brainpoolP384r1",
  28: "brainpoolP512r1",
  29: "x25519",
  30: "x448",
  256: "ffdhe2048",
  257: "ffdhe3072",
  258: "ffdhe4096",
  259: "ffdhe6144",
  260: "ffdhe8192",
  512: "MLKEM512",
  513: "MLKEM768",
  514: "MLKEM1024",
  4587: "SecP256r1MLKEM768",
  4588: "X25519MLKEM768",
  4589: "SecP384r1MLKEM1024",
  25497: "X25519Kyber768Draft00",
};
export const zeekCurve = (c: number) => CURVES[c] ?? `unknown-${c}`;

/** Zeek's alert_descriptions. */
const ALERTS: Record<number, string> = {
  0: "close_notify",
  10: "unexpected_message",
  20: "bad_record_mac",
  21: "decryption_failed",
  22: "record_overflow",
  30: "decompression_failure",
  40: "handshake_failure",
  41: "no_certificate",
  42: "bad_certificate",
  43: "unsupported_certificate",
  44: "certificate_revoked",
  45: "certificate_expired",
  46: "certificate_unknown",
  47: "illegal_parameter",
  48: "unknown_ca",
  49: "access_denied",
  50: "decode_error",
  51: "decrypt_error",
  60: "export_restriction",
  70: "protocol_version",
  71: "insufficient_security",
  80: "internal_error",
  86: "inappropriate_fallback",
  90: "user_canceled",
  100: "no_renegotiation",
  110: "unsupported_extension",
  111: "certificate_unobtainable",
  112: "unrecognized_name",
  113: "bad_certificate_status_response",
  114: "bad_certificate_hash_value",
  115: "unknown_psk_identity",
  116: "certificate_required",
  117: "general_error",
  120: "no_application_protocol",
  121: "ech_required",
};
const zeekAlert = (a: number) => ALERTS[a] ?? `unknown-${a}`;

export const sha256Hex = (der: Uint8Array) => createHash("sha256").update(der).digest("hex");

interface SslRow {
  ts: number;
  uid: string;
  ids: ZeekIds;
  version: number | null;
  cipher: number | null;
  curve: number | null;
  serverName: string | null;
  nextProtocol: string | null;
  resumed: boolean;
  established: boolean;
  lastAlert: number | null;
  history: string;
  /** DER of the server's chain; null until a certificate of either side is seen (Zeek's rule). */
  chain: Uint8Array[] | null;
  clientChain: Uint8Array[] | null;
  /** The decoder's AK_TLS_STATE came: `history` is whole. */
  stated: boolean;
  /** The leaf of `chain` as Zeek reads it, once read (undefined: not yet). */
  leaf?: ZeekCertificate | null;
}

/** The leaf of the server's chain as Zeek reads it. */
function leaf(r: SslRow): ZeekCertificate | null {
  if (r.leaf === undefined) r.leaf = r.chain?.length ? zeekCertificate(r.chain[0]) : null;
  return r.leaf;
}

/** Zeek's curve: the ECDHE ServerKeyExchange's (a DHE one has none) or TLS 1.3's key_share. */
function curveOf(r: SslRow): string | null {
  if (r.curve === null || r.cipher === null) return null;
  const ecdhe = r.version === 0x0304 || r.version! >> 8 === 0x7f || cipherName(r.cipher).includes("_ECDH");
  return ecdhe ? zeekCurve(r.curve) : null;
}

function sslFields(subjectIssuer: boolean): ZeekField<SslRow>[] {
  return [
    { name: "ts", type: "time", get: (r) => r.ts },
    { name: "uid", type: "string", get: (r) => r.uid },
    ...idFields<SslRow>(),
    { name: "version", type: "string", get: (r) => r.version === null ? null : zeekTlsVersion(r.version) },
    // Names for the suites in names.ts; others as hex (Zeek knows every IANA name).
    { name: "cipher", type: "string", get: (r) => r.cipher === null ? null : cipherName(r.cipher) },
    { name: "curve", type: "string", get: curveOf },
    { name: "server_name", type: "string", get: (r) => r.serverName },
    { name: "resumed", type: "bool", get: (r) => r.resumed },
    { name: "last_alert", type: "string", get: (r) => r.lastAlert === null ? null : zeekAlert(r.lastAlert) },
    { name: "next_protocol", type: "string", get: (r) => r.nextProtocol },
    { name: "established", type: "bool", get: (r) => r.established },
    { name: "ssl_history", type: "string", get: (r) => r.history },
    { name: "cert_chain_fps", type: "vector[string]", get: (r) => r.chain?.map(sha256Hex) ?? null },
    {
      name: "client_cert_chain_fps",
      type: "vector[string]",
      get: (r) => r.clientChain?.map(sha256Hex) ?? null,
    },
    // Zeek's SSL::log_include_server_certificate_subject_issuer.
    ...(subjectIssuer
      ? [
        { name: "subject", type: "string", get: (r: SslRow) => leaf(r)?.subject ?? null },
        { name: "issuer", type: "string", get: (r: SslRow) => leaf(r)?.issuer ?? null },
      ]
      : []),
    {
      name: "sni_matches_cert",
      type: "bool",
      get: (r) => {
        const cert = leaf(r);
        return cert && r.serverName !== null ? certMatchesHost(cert, r.serverName) : null;
      },
    },
  ];
}

/** Every certificate of an event's `id` fields (copied: the event's bytes are reused). */
export function ders(e: AppEvent, id: number): Uint8Array[] {
  return [...e.fields()].filter(([f]) => f === id).map(([, v]) => v.slice());
}

export interface ZeekSslOptions {
  /** ssl.log's subject and issuer columns (Zeek's SSL::log_include_server_certificate_subject_issuer). */
  subjectIssuer?: boolean;
}

/** `--zeek-logs DIR`: ssl.log rows from the session's TLS handshakes. */
export class ZeekSslLog {
  readonly log: ZeekLog<SslRow>;
  readonly #rows = new Map<number, SslRow>();

  constructor(dir: string, json: boolean, private readonly uids: UidMaker, options: ZeekSslOptions = {}) {
    this.log = new ZeekLog(dir, "ssl", sslFields(options.subjectIssuer ?? false), json);
  }

  #row(e: AppEvent): SslRow {
    let row = this.#rows.get(e.flowId);
    if (!row) {
      row = {
        ts: eventSeconds(e),
        uid: this.uids.of(e.flowId),
        // The flow's initiator is the client (Zeek's originator).
        ids: eventIds(e, e.dir === 0),
        version: null,
        cipher: null,
        curve: null,
        serverName: null,
        nextProtocol: null,
        resumed: false,
        established: false,
        lastAlert: null,
        history: "",
        chain: null,
        clientChain: null,
        stated: false,
      };
      this.#rows.set(e.flowId, row);
    }
    return row;
  }

  app(e: AppEvent): void {
    const tls = e.kind === abi.AK_TLS_CLIENT_HELLO || e.kind === abi.AK_TLS_SERVER_HELLO ||
      e.kind === abi.AK_TLS_CERTIFICATE || e.kind === abi.AK_TLS_STATE;
    if (!tls || e.num(abi.F_TLS_QUIC) === 1) return;
    const row = this.#row(e);
    // Without the decoder's state (a flow that ended mid-handshake), the letters of the messages
    // that have events of their own.
    const mark = (letter: string) => {
      if (!row.stated) row.history += e.dir === 0 ? letter.toUpperCase() : letter;
    };
    if (e.kind === abi.AK_TLS_CLIENT_HELLO) {
      mark("c");
      row.serverName ??= helloParams(e).sni;
    } else if (e.kind === abi.AK_TLS_SERVER_HELLO) {
      mark("s");
      const s = serverChoice(e);
      row.version = s.negotiated;
      row.cipher = s.cipher;
      row.nextProtocol = s.alpn;
    } else if (e.kind === abi.AK_TLS_CERTIFICATE) {
      mark("x");
      row.chain = ders(e, abi.F_TLS_CERT);
      row.clientChain ??= [];
    } else {
      row.stated = true;
      row.history = e.str(abi.F_TLS_HISTORY) ?? "";
      row.established = e.num(abi.F_TLS_ESTABLISHED) === 1;
      row.resumed = e.num(abi.F_TLS_RESUMED) === 1;
      row.curve = e.num(abi.F_TLS_CURVE) ?? null;
      row.lastAlert = e.num(abi.F_TLS_ALERT) ?? null;
      const client = ders(e, abi.F_TLS_CLIENT_CERT);
      if (client.length) {
        row.clientChain = client;
        row.chain ??= [];
      }
      // Zeek logs the connection once the handshake is established.
      if (row.established) this.#write(e.flowId);
    }
  }

  flow(view: FlowView): void {
    if (view.record.endReason !== "active_timeout") this.#write(view.record.id);
  }

  #write(id: number): void {
    const row = this.#rows.get(id);
    if (!row) return;
    this.#rows.delete(id);
    this.log.write(row);
  }

  sink(): SessionSink {
    return {
      app: (e) => this.app(e),
      flow: (v) => this.flow(v),
      close: () => {
        for (const id of [...this.#rows.keys()]) this.#write(id);
        this.log.close();
      },
    };
  }
}
