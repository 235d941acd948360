// The protocol rooms in one place: `--export-type` and the stored records take their exports
// from here, the EVE stream their logs.
import { dnsEve } from "./dns/eve.ts";
import { DNS_EXPORT } from "./dns/export.ts";
import { httpEve } from "./http/eve.ts";
import { HTTP_EXPORT } from "./http/export.ts";
import { ftpEve } from "./ftp/eve.ts";
import { FTP_EXPORT } from "./ftp/export.ts";
import type { AppExport, EveLog } from "./protocol.ts";
import { tlsEve } from "./tls/eve.ts";
import { TLS_EXPORT } from "./tls/export.ts";

/** Exports made of application-layer records, by type name ("dns", "http", "tls", "ftp"). */
export const APP_EXPORTS: Readonly<Record<string, AppExport>> = Object.fromEntries(
  [DNS_EXPORT, HTTP_EXPORT, TLS_EXPORT, FTP_EXPORT].map((x) => [x.type, x]),
);

/** A fresh set of the protocols' EVE logs (they keep state per stream), in the order they flush. */
export function eveLogs(): EveLog[] {
  return [dnsEve(), httpEve(), tlsEve(), ftpEve()];
}
