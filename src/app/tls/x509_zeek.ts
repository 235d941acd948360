// A certificate's fields as Zeek's x509 analyzer reads them with OpenSSL (X509.cc): version,
// serial as its DER bytes in hex, names as X509_NAME_print_ex(XN_FLAG_RFC2253) prints them
// (last RDN first, short attribute names, RFC 2253 escapes, bytes above 0x7f as \XX), validity
// in epoch seconds, algorithm long names, key type, size and exponent or curve, the subject
// alternative names and the basic constraints. Parsed from the DER here (node's X509Certificate
// shows none of the orders and escapes Zeek's log has).
import { Der, DerError, type DerNode, derTime, oidText, TAG, unsigned } from "./der.ts";

export interface ZeekCertificate {
  version: number;
  serial: string;
  subject: string;
  issuer: string;
  notValidBefore: number;
  notValidAfter: number;
  keyAlg: string;
  sigAlg: string;
  keyType: string | null;
  keyLength: number | null;
  exponent: string | null;
  curve: string | null;
  /** null without a subjectAltName extension; each list null when it has no such name. */
  san: { dns: string[] | null; uri: string[] | null; email: string[] | null; ip: string[] | null } | null;
  /** null without a basicConstraints extension. */
  basicConstraints: { ca: boolean; pathLen: number | null } | null;
  /** Subject alternative DNS names, else the last subject CN: the names Zeek checks SNI against. */
  hostnames: string[];
}

/** OpenSSL's long names (i2t_ASN1_OBJECT) of the algorithms certificates use. */
const ALGORITHMS: Record<string, string> = {
  "1.2.840.113549.1.1.1": "rsaEncryption",
  "1.2.840.113549.1.1.2": "md2WithRSAEncryption",
  "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
  "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
  "1.2.840.113549.1.1.10": "rsassaPss",
  "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
  "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
  "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
  "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
  "1.2.840.10045.2.1": "id-ecPublicKey",
  "1.2.840.10045.4.1": "ecdsa-with-SHA1",
  "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
  "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
  "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
  "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
  "1.2.840.10040.4.1": "dsaEncryption",
  "1.2.840.10040.4.3": "dsaWithSHA1",
  "2.16.840.1.101.3.4.3.2": "dsa_with_SHA256",
  "1.3.101.112": "ED25519",
  "1.3.101.113": "ED448",
};

/** OpenSSL's short names of the named curves (OSSL_PKEY_PARAM_GROUP_NAME) and their order bits. */
const CURVES: Record<string, [string, number]> = {
  "1.2.840.10045.3.1.1": ["prime192v1", 192],
  "1.3.132.0.33": ["secp224r1", 224],
  "1.2.840.10045.3.1.7": ["prime256v1", 256],
  "1.3.132.0.10": ["secp256k1", 256],
  "1.3.132.0.34": ["secp384r1", 384],
  "1.3.132.0.35": ["secp521r1", 521],
  "1.3.36.3.3.2.8.1.1.7": ["brainpoolP256r1", 256],
  "1.3.36.3.3.2.8.1.1.11": ["brainpoolP384r1", 384],
  "1.3.36.3.3.2.8.1.1.13": ["brainpoolP512r1", 512],
};

/** OpenSSL's short names of name attributes (OBJ_nid2sn). */
const ATTRIBUTES: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.4": "SN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "street",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.12": "title",
  "2.5.4.13": "description",
  "2.5.4.15": "businessCategory",
  "2.5.4.17": "postalCode",
  "2.5.4.41": "name",
  "2.5.4.42": "GN",
  "2.5.4.43": "initials",
  "2.5.4.44": "generationQualifier",
  "2.5.4.46": "dnQualifier",
  "2.5.4.65": "pseudonym",
  "2.5.4.97": "organizationIdentifier",
  "1.2.840.113549.1.9.1": "emailAddress",
  "0.9.2342.19200300.100.1.1": "UID",
  "0.9.2342.19200300.100.1.25": "DC",
  "1.3.6.1.4.1.311.60.2.1.1": "jurisdictionL",
  "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionST",
  "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC",
};

const OID_SAN = "2.5.29.17";
const OID_BASIC_CONSTRAINTS = "2.5.29.19";

const hexUpper = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0").toUpperCase()).join("");

/** Bits of a big-endian unsigned number. */
function bitLength(c: Uint8Array): number {
  let i = 0;
  while (i < c.length && c[i] === 0) i++;
  return i === c.length ? 0 : (c.length - i - 1) * 8 + (32 - Math.clz32(c[i]));
}

/** A serial as i2a_ASN1_INTEGER prints it: the magnitude's bytes in hex ("00" for zero), "-" first
 * when negative. */
function serialText(c: Uint8Array): string {
  const negative = c.length > 0 && (c[0] & 0x80) !== 0;
  let magnitude = c;
  if (negative) {
    // Two's complement: invert and add one.
    magnitude = c.map((b) => ~b & 0xff);
    for (let i = magnitude.length - 1; i >= 0; i--) {
      magnitude[i] = (magnitude[i] + 1) & 0xff;
      if (magnitude[i] !== 0) break;
    }
  }
  let start = 0;
  while (start < magnitude.length && magnitude[start] === 0) start++;
  const hex = hexUpper(magnitude.subarray(start));
  return (negative ? "-" : "") + (hex || "00");
}

/** The text of a string value, as UTF-8 bytes (OpenSSL's ASN1_STRFLGS_UTF8_CONVERT). */
function stringBytes(c: Uint8Array, tag: number): Uint8Array | null {
  switch (tag) {
    case TAG.UTF8_STRING:
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
      return c;
    case TAG.T61_STRING: // Latin-1, as OpenSSL takes it
      return new TextEncoder().encode(String.fromCharCode(...c));
    case TAG.BMP_STRING: {
      let s = "";
      for (let i = 0; i + 1 < c.length; i += 2) s += String.fromCharCode(c[i] << 8 | c[i + 1]);
      return new TextEncoder().encode(s);
    }
    case TAG.UNIVERSAL_STRING: {
      let s = "";
      for (let i = 0; i + 3 < c.length; i += 4) {
        s += String.fromCodePoint(c[i + 1] << 16 | c[i + 2] << 8 | c[i + 3]);
      }
      return new TextEncoder().encode(s);
    }
    default:
      return null;
  }
}

/** RFC 2253 escapes as OpenSSL writes them (ESC_2253, ESC_CTRL, ESC_MSB). */
function escapeValue(bytes: Uint8Array): string {
  let out = "";
  bytes.forEach((b, i) => {
    const ch = String.fromCharCode(b);
    const edge = (i === 0 && (ch === " " || ch === "#")) || (i === bytes.length - 1 && ch === " ");
    if (b < 0x20 || b >= 0x7f) out += `\\${b.toString(16).toUpperCase().padStart(2, "0")}`;
    else if (edge || ',+"\\<>;'.includes(ch)) out += `\\${ch}`;
    else out += ch;
  });
  return out;
}

/** One attribute as `name=value`; unknown types dumped as #hex of their DER (DUMP_UNKNOWN_FIELDS). */
function attribute(der: Der, atv: DerNode): string {
  const [type, value] = der.children(atv);
  const oid = oidText(der.contents(type, TAG.OID));
  const name = ATTRIBUTES[oid] ?? oid;
  const text = stringBytes(der.contents(value), value.tag);
  if (text === null || !ATTRIBUTES[oid]) {
    return `${name}=#${hexUpper(der.bytes.subarray(type.end, value.end))}`;
  }
  return `${name}=${escapeValue(text)}`;
}

/** A Name as XN_FLAG_RFC2253 prints it: the last RDN first, ',' between RDNs, '+' within one. */
function distinguishedName(der: Der, name: DerNode): string {
  return der.children(name).reverse().map((rdn) =>
    der.children(rdn).map((atv) => attribute(der, atv)).join("+")
  )
    .join(",");
}

/** The value of the last CN of a Name. */
function lastCommonName(der: Der, name: DerNode): string | null {
  let cn: string | null = null;
  for (const rdn of der.children(name)) {
    for (const atv of der.children(rdn)) {
      const [type, value] = der.children(atv);
      if (oidText(der.contents(type, TAG.OID)) === "2.5.4.3") {
        const b = stringBytes(der.contents(value), value.tag);
        if (b) cn = new TextDecoder().decode(b);
      }
    }
  }
  return cn;
}

function ipText(b: Uint8Array): string | null {
  if (b.length === 4) return [...b].join(".");
  if (b.length !== 16) return null;
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8 | b[i + 1]).toString(16));
  // The longest run of zero groups (two or more) as "::", as Zeek prints addresses.
  let best = [-1, 0], run = [-1, 0];
  groups.forEach((g, i) => {
    if (g === "0") {
      run = run[0] < 0 || run[0] + run[1] !== i ? [i, 1] : [run[0], run[1] + 1];
      if (run[1] > best[1]) best = [...run];
    }
  });
  if (best[1] < 2) return groups.join(":");
  return `${groups.slice(0, best[0]).join(":")}::${groups.slice(best[0] + best[1]).join(":")}`;
}

function subjectAltNames(c: Uint8Array): NonNullable<ZeekCertificate["san"]> {
  const inner = new Der(c);
  const san: NonNullable<ZeekCertificate["san"]> = { dns: null, uri: null, email: null, ip: null };
  const add = (k: keyof typeof san, v: string | null) => {
    if (v !== null) (san[k] ??= []).push(v);
  };
  for (const g of inner.children(inner.node(0))) {
    const v = inner.contents(g);
    const text = () => new TextDecoder().decode(v);
    if (g.tag === 0x81) add("email", text());
    else if (g.tag === 0x82) add("dns", text());
    else if (g.tag === 0x86) add("uri", text());
    else if (g.tag === 0x87) add("ip", ipText(v));
  }
  return san;
}

function basicConstraints(c: Uint8Array): NonNullable<ZeekCertificate["basicConstraints"]> {
  const inner = new Der(c);
  const out = { ca: false, pathLen: null as number | null };
  for (const n of inner.children(inner.node(0))) {
    if (n.tag === TAG.BOOLEAN) out.ca = inner.contents(n)[0] !== 0;
    else if (n.tag === TAG.INTEGER) out.pathLen = Number(unsigned(inner.contents(n)));
  }
  return out;
}

/** The public key's type, size, exponent (RSA) and curve (EC), as OpenSSL reports them. */
function publicKey(der: Der, spki: DerNode, keyOid: string) {
  const [alg, bits] = der.children(spki);
  const [, params] = der.children(alg);
  const key = der.contents(bits, TAG.BIT_STRING).subarray(1);
  if (keyOid === "1.2.840.113549.1.1.1" || keyOid === "1.2.840.113549.1.1.4") {
    const inner = new Der(key);
    const [n, e] = inner.children(inner.node(0));
    return {
      keyType: "rsa",
      keyLength: bitLength(inner.contents(n, TAG.INTEGER)),
      exponent: unsigned(inner.contents(e, TAG.INTEGER)).toString(),
      curve: null,
    };
  }
  if (keyOid === "1.2.840.10045.2.1") {
    const curve = params?.tag === TAG.OID ? CURVES[oidText(der.contents(params))] : undefined;
    return { keyType: "ecdsa", keyLength: curve?.[1] ?? null, exponent: null, curve: curve?.[0] ?? null };
  }
  if (keyOid === "1.2.840.10040.4.1" && params?.tag === TAG.SEQUENCE) {
    const [p] = der.children(params);
    return {
      keyType: "dsa",
      keyLength: bitLength(der.contents(p, TAG.INTEGER)),
      exponent: null,
      curve: null,
    };
  }
  const named: Record<string, [string, number]> = {
    "1.3.101.112": ["ED25519", 253],
    "1.3.101.113": ["ED448", 456],
  };
  const [keyType, keyLength] = named[keyOid] ?? [null, null];
  return { keyType, keyLength, exponent: null, curve: null };
}

/** Zeek's view of a DER certificate; null when it does not parse. */
export function zeekCertificate(bytes: Uint8Array): ZeekCertificate | null {
  try {
    return parse(new Der(bytes));
  } catch (e) {
    if (e instanceof DerError || e instanceof TypeError) return null;
    throw e;
  }
}

function parse(der: Der): ZeekCertificate {
  const [tbs, sigAlg] = der.children(der.node(0));
  const fields = der.children(tbs);
  let i = 0;
  let version = 1;
  if (fields[0]?.tag === 0xa0) {
    const [v] = der.children(fields[i++]);
    version = Number(unsigned(der.contents(v, TAG.INTEGER))) + 1;
  }
  const serial = serialText(der.contents(fields[i++], TAG.INTEGER));
  i++; // the signature algorithm inside the TBS (Zeek logs the outer one)
  const issuer = fields[i++], validity = fields[i++], subject = fields[i++], spki = fields[i++];
  const [notBefore, notAfter] = der.children(validity);
  const keyOid = oidText(der.contents(der.children(der.children(spki)[0])[0], TAG.OID));
  const sigOid = oidText(der.contents(der.children(sigAlg)[0], TAG.OID));
  let san: ZeekCertificate["san"] = null;
  let bc: ZeekCertificate["basicConstraints"] = null;
  const extensions = fields.slice(i).find((n) => n.tag === 0xa3);
  if (extensions) {
    for (const ext of der.children(der.children(extensions)[0])) {
      const parts = der.children(ext);
      const oid = oidText(der.contents(parts[0], TAG.OID));
      const value = der.contents(parts[parts.length - 1], TAG.OCTET_STRING);
      if (oid === OID_SAN) san = subjectAltNames(value);
      else if (oid === OID_BASIC_CONSTRAINTS) bc = basicConstraints(value);
    }
  }
  const cn = lastCommonName(der, subject);
  return {
    version,
    serial,
    subject: distinguishedName(der, subject),
    issuer: distinguishedName(der, issuer),
    notValidBefore: derTime(der.contents(notBefore), notBefore.tag),
    notValidAfter: derTime(der.contents(notAfter), notAfter.tag),
    keyAlg: ALGORITHMS[keyOid] ?? keyOid,
    sigAlg: ALGORITHMS[sigOid] ?? sigOid,
    ...publicKey(der, spki, keyOid),
    san,
    basicConstraints: bc,
    hostnames: san?.dns ?? (cn === null ? [] : [cn]),
  };
}

/** Whether a certificate is valid for `host` (x509_check_cert_hostname: one wildcard label). */
export function certMatchesHost(cert: ZeekCertificate, host: string): boolean {
  const h = host.toLowerCase();
  return cert.hostnames.some((name) => {
    const n = name.toLowerCase();
    if (n === h) return true;
    if (!n.startsWith("*.")) return false;
    const dot = h.indexOf(".");
    return dot > 0 && h.slice(dot) === n.slice(1);
  });
}
