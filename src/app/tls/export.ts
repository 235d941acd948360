// `--export-type tls`: one row per handshake message.
import * as abi from "../../decoder/abi.ts";
import { APP_BASE_COLUMNS, type AppExport, appRowBase } from "../protocol.ts";
import { tlsRecord } from "./message.ts";

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
