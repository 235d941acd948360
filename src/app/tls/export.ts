// `--export-type tls`: one row per handshake message.
import * as abi from "../../decoder/abi.ts";
import { via } from "../../base/columns.ts";
import { appExport } from "../protocol.ts";
import { tlsRecord } from "./message.ts";

export const TLS_EXPORT = appExport(
  "tls",
  [abi.AK_TLS_CLIENT_HELLO, abi.AK_TLS_SERVER_HELLO, abi.AK_TLS_CERTIFICATE],
  via(tlsRecord, [
    { name: "kind", type: "text", get: (r) => r.kind },
    { name: "transport", type: "text", get: (r) => r.transport },
    { name: "version", type: "text", get: (r) => r.version },
    { name: "sni", type: "text", get: (r) => r.sni },
    { name: "alpn", type: "text", get: (r) => r.alpn.join(",") || null },
    { name: "ja3", type: "text", get: (r) => r.ja3 },
    { name: "ja3_string", type: "text", get: (r) => r.ja3_string },
    { name: "ja4", type: "text", get: (r) => r.ja4 },
    { name: "ja4_r", type: "text", get: (r) => r.ja4_r },
    { name: "ja3s", type: "text", get: (r) => r.ja3s },
    { name: "ja3s_string", type: "text", get: (r) => r.ja3s_string },
    { name: "cipher", type: "text", get: (r) => r.cipher },
    { name: "cert_subject", type: "text", get: (r) => r.cert?.subject ?? null },
    { name: "cert_issuer", type: "text", get: (r) => r.cert?.issuer ?? null },
    { name: "cert_not_before", type: "text", get: (r) => r.cert?.not_before ?? null },
    { name: "cert_not_after", type: "text", get: (r) => r.cert?.not_after ?? null },
    { name: "cert_sha256", type: "text", get: (r) => r.cert?.sha256 ?? null },
    { name: "cert_count", type: "integer", get: (r) => r.cert_count },
    { name: "self_signed", type: "boolean", get: (r) => r.cert?.self_signed ?? null },
    { name: "expired", type: "boolean", get: (r) => r.expired },
    { name: "sslv2_hello", type: "boolean", get: (r) => r.kind === "client_hello" ? r.sslv2 : null },
  ]),
);
