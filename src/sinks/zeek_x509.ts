// x509.log as Zeek's base/files/x509 writes it: one row per certificate of a TLS chain (the
// server's, and the client's from AK_TLS_STATE), host_cert for the first of a chain, client_cert
// for the client's. Like Zeek, a certificate already logged (same fingerprint, host_cert and
// client_cert) is not logged again until X509::relog_known_certificates_after (a day of capture
// time) has passed since it was.
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import { type ZeekCertificate, zeekCertificate } from "../app/tls/x509_zeek.ts";
import type { SessionSink } from "./sink.ts";
import { ders, sha256Hex } from "./zeek_ssl.ts";
import { eventSeconds, type ZeekField, ZeekLog } from "./zeek_log.ts";

/** X509::relog_known_certificates_after. */
const RELOG_AFTER_SECONDS = 86400;
/** Certificates remembered (Zeek's X509::known_log_certs_maximum_size is 1,000,000): beyond it,
 * new ones are logged every time, as in Zeek once its set is full. */
const MAX_KNOWN = 100_000;

interface X509Row {
  ts: number;
  fingerprint: string;
  cert: ZeekCertificate | null;
  hostCert: boolean;
  clientCert: boolean;
}

const certField = (
  name: string,
  type: string,
  get: (c: ZeekCertificate) => string | number | boolean | string[] | null,
): ZeekField<X509Row> => ({ name, type, get: (r) => (r.cert ? get(r.cert) : null) });

const X509_FIELDS: ZeekField<X509Row>[] = [
  { name: "ts", type: "time", get: (r) => r.ts },
  { name: "fingerprint", type: "string", get: (r) => r.fingerprint },
  certField("certificate.version", "count", (c) => c.version),
  certField("certificate.serial", "string", (c) => c.serial),
  certField("certificate.subject", "string", (c) => c.subject),
  certField("certificate.issuer", "string", (c) => c.issuer),
  certField("certificate.not_valid_before", "time", (c) => c.notValidBefore),
  certField("certificate.not_valid_after", "time", (c) => c.notValidAfter),
  certField("certificate.key_alg", "string", (c) => c.keyAlg),
  certField("certificate.sig_alg", "string", (c) => c.sigAlg),
  certField("certificate.key_type", "string", (c) => c.keyType),
  certField("certificate.key_length", "count", (c) => c.keyLength),
  certField("certificate.exponent", "string", (c) => c.exponent),
  certField("certificate.curve", "string", (c) => c.curve),
  certField("san.dns", "vector[string]", (c) => c.san?.dns ?? null),
  certField("san.uri", "vector[string]", (c) => c.san?.uri ?? null),
  certField("san.email", "vector[string]", (c) => c.san?.email ?? null),
  certField("san.ip", "vector[addr]", (c) => c.san?.ip ?? null),
  certField("basic_constraints.ca", "bool", (c) => c.basicConstraints?.ca ?? null),
  certField("basic_constraints.path_len", "count", (c) => c.basicConstraints?.pathLen ?? null),
  { name: "host_cert", type: "bool", get: (r) => r.hostCert },
  { name: "client_cert", type: "bool", get: (r) => r.clientCert },
];

/** `--zeek-logs DIR`: x509.log rows from the certificates of the session's TLS handshakes. */
export class ZeekX509Log {
  readonly log: ZeekLog<X509Row>;
  /** When each (fingerprint, host_cert, client_cert) was last logged, in capture seconds. */
  readonly #known = new Map<string, number>();

  constructor(dir: string, json: boolean) {
    this.log = new ZeekLog(dir, "x509", X509_FIELDS, json);
  }

  app(e: AppEvent): void {
    if (e.kind === abi.AK_TLS_CERTIFICATE) this.#chain(e, ders(e, abi.F_TLS_CERT), false);
    else if (e.kind === abi.AK_TLS_STATE) this.#chain(e, ders(e, abi.F_TLS_CLIENT_CERT), true);
  }

  #chain(e: AppEvent, chain: Uint8Array[], client: boolean): void {
    const ts = eventSeconds(e);
    chain.forEach((der, i) => {
      const fingerprint = sha256Hex(der);
      const key = `${fingerprint} ${i === 0} ${client}`;
      const logged = this.#known.get(key);
      if (logged !== undefined && ts - logged < RELOG_AFTER_SECONDS) return;
      if (logged !== undefined || this.#known.size < MAX_KNOWN) this.#known.set(key, ts);
      this.log.write({ ts, fingerprint, cert: zeekCertificate(der), hostCert: i === 0, clientCert: client });
    });
  }

  sink(): SessionSink {
    return { app: (e) => this.app(e), close: () => this.log.close() };
  }
}
