// The server certificate, parsed once per distinct certificate: the report, the tls export, the
// EVE stream and the TLS detector all read this one parse.
import { createHash, X509Certificate } from "node:crypto";
import { BoundedTable } from "../../base/bounded_table.ts";

/** The certificate as the report and the tls export show it. */
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

/** Everything read from one certificate; fields are null (names empty) when it does not parse. */
export interface Certificate {
  info: CertInfo;
  /** SHA-1 of the DER, lower-case colon hex (EVE's fingerprint). */
  sha1: string | null;
  /** The serial as DER writes it, upper-case colon hex (EVE's serial). */
  serial: string | null;
  /** The DNS names (and addresses) it is valid for: its SANs, else its subject CN, lower-case. */
  names: string[];
}

/** Certificates parsed, by the SHA-256 of their DER (servers send the same one again and again). */
const parsed = new BoundedTable<Certificate>("x509", 1024);

/** The certificate of these DER bytes, parsed once while it stays among the recent ones. */
export function certificate(der: Uint8Array): Certificate {
  const sha256 = createHash("sha256").update(der).digest("hex");
  return parsed.upsert(sha256, () => parse(der, sha256));
}

/** The report's view of a leaf certificate (DER). */
export function certInfo(der: Uint8Array): CertInfo {
  return certificate(der).info;
}

/** "C=US, O=Example, CN=host" from node's one-attribute-per-line form. */
const dn = (s: string) => s.split("\n").join(", ");

/** "ab:cd" style hex. */
const colonHex = (hex: string) => hex.toLowerCase().match(/../g)?.join(":") ?? "";

function parse(der: Uint8Array, sha256: string): Certificate {
  let cert: X509Certificate | null = null;
  try {
    cert = new X509Certificate(der);
  } catch { /* not a certificate: every field null */ }
  // Node reads some fields only when asked, so a damaged one (an issuer of invalid attributes)
  // throws then: each field is read on its own, and one that cannot be read is null.
  const read = <T>(get: (c: X509Certificate) => T): T | null => {
    if (!cert) return null;
    try {
      return get(cert);
    } catch {
      return null;
    }
  };
  const subject = read((c) => dn(c.subject));
  const issuer = read((c) => dn(c.issuer));
  const verifies = read((c) => c.verify(c.publicKey)) ?? false;
  // As DER writes it: a leading zero byte keeps a serial with its high bit set positive.
  const serial = read((c) => {
    const hex = c.serialNumber.length % 2 ? `0${c.serialNumber}` : c.serialNumber;
    return colonHex(/^[89a-f]/i.test(hex) ? `00${hex}` : hex).toUpperCase();
  });
  return {
    info: {
      subject,
      issuer,
      not_before: read((c) => new Date(c.validFrom).toISOString()),
      not_after: read((c) => new Date(c.validTo).toISOString()),
      self_signed: subject !== null && subject === issuer && verifies,
      sha256,
    },
    sha1: read((c) => c.fingerprint.toLowerCase()),
    serial,
    names: read((c) => certNames(c, subject)) ?? [],
  };
}

function certNames(c: X509Certificate, subject: string | null): string[] {
  const san = c.subjectAltName;
  if (san) {
    return san.split(/,\s*/).map((e) => e.replace(/^(DNS|IP Address):/, "")).filter((e) => !e.includes(":"))
      .map((e) => e.toLowerCase());
  }
  const cn = subject?.match(/(?:^|, )CN=([^,]+)/)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}
