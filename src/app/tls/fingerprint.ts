// TLS client and server fingerprints: JA3 and JA3S (Salesforce, md5) and JA4 with its raw form
// ja4_r (FoxIO, BSD-3-Clause; technical_details/JA4.md). GREASE values (RFC 8701) are left out
// everywhere, as both specifications say.
import { createHash } from "node:crypto";
import { BoundedTable } from "../../base/bounded_table.ts";

/** What a ClientHello offered, in wire order. */
export interface HelloParams {
  quic: boolean;
  /** legacy_version of the hello. */
  version: number;
  ciphers: number[];
  extensions: number[];
  /** server_name (host_name), if sent. */
  sni: string | null;
  /** ALPN protocols as sent (bytes: JA4 looks at the first and last byte). */
  alpn: Uint8Array[];
  supportedVersions: number[];
  groups: number[];
  pointFormats: number[];
  sigAlgs: number[];
}

export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && (v >> 8) === (v & 0xff);
}

const notGrease = (v: number) => !isGrease(v);
const md5 = (s: string) => createHash("md5").update(s).digest("hex");

/** SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats. */
export function ja3String(h: HelloParams): string {
  const list = (xs: number[]) => xs.filter(notGrease).join("-");
  return [h.version, list(h.ciphers), list(h.extensions), list(h.groups), h.pointFormats.join("-")].join(",");
}

export function ja3(h: HelloParams): string {
  return md5(ja3String(h));
}

/** SSLVersion,Cipher,Extensions of a ServerHello. */
export function ja3sString(version: number, cipher: number, extensions: number[]): string {
  return [version, cipher, extensions.filter(notGrease).join("-")].join(",");
}

const JA4_VERSIONS: Record<number, string> = {
  0x0304: "13",
  0x0303: "12",
  0x0302: "11",
  0x0301: "10",
  0x0300: "s3",
  0x0002: "s2",
  0xfeff: "d1",
  0xfefd: "d2",
  0xfefc: "d3",
};

const hex4 = (v: number) => v.toString(16).padStart(4, "0");
const count2 = (n: number) => String(Math.min(n, 99)).padStart(2, "0");
const isAlnum = (b: number) =>
  (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
const IP_LITERAL = /^(\d{1,3}\.){3}\d{1,3}$|:/;

/** First and last character of the first ALPN value; its hex form's when they are not alphanumeric. */
function alpnChars(first: Uint8Array | undefined): string {
  if (!first || first.length === 0) return "00";
  const [a, z] = [first[0], first[first.length - 1]];
  if (isAlnum(a) && isAlnum(z)) return String.fromCharCode(a, z);
  const hex = [...first].map((b) => b.toString(16).padStart(2, "0")).join("");
  return hex[0] + hex[hex.length - 1];
}

/** JA4 before hashing: part a, the sorted ciphers, the sorted extensions, the signature algorithms. */
function ja4Parts(h: HelloParams): [string, string, string, string] {
  const ciphers = h.ciphers.filter(notGrease);
  const extensions = h.extensions.filter(notGrease);
  const versions = h.supportedVersions.filter(notGrease);
  const version = versions.length ? Math.max(...versions) : h.version;
  const sni = h.sni !== null && !IP_LITERAL.test(h.sni) ? "d" : "i";
  const a = `${h.quic ? "q" : "t"}${JA4_VERSIONS[version] ?? "00"}${sni}` +
    `${count2(ciphers.length)}${count2(extensions.length)}${alpnChars(h.alpn[0])}`;
  // SNI and ALPN are already in part a.
  const exts = extensions.filter((e) => e !== 0x0000 && e !== 0x0010);
  return [
    a,
    ciphers.map(hex4).sort().join(","),
    exts.map(hex4).sort().join(","),
    h.sigAlgs.filter(notGrease).map(hex4).join(","),
  ];
}

const join = (exts: string, sigs: string) => (sigs ? `${exts}_${sigs}` : exts);
const sha12 = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 12);
const ZEROS = "000000000000";

export function ja4(h: HelloParams): string {
  const [a, ciphers, exts, sigs] = ja4Parts(h);
  // No ciphers, or no extensions left, hash to zeros.
  return `${a}_${ciphers ? sha12(ciphers) : ZEROS}_${exts ? sha12(join(exts, sigs)) : ZEROS}`;
}

/** JA4 with its lists unhashed. */
export function ja4r(h: HelloParams): string {
  const [a, ciphers, exts, sigs] = ja4Parts(h);
  return `${a}_${ciphers}_${join(exts, sigs)}`;
}

export interface ClientFingerprints {
  ja3String: string;
  ja3: string;
  ja4: string;
  ja4r: string;
}

/** Bounded memo: a client sends the same hello parameters on every connection. */
const MEMO_MAX = 4096;
const clientMemo = new BoundedTable<ClientFingerprints>("ja3_ja4_memo", MEMO_MAX);
const serverMemo = new BoundedTable<string>("ja3s_memo", MEMO_MAX);

/** JA3 and JA4 of a hello, computed once per distinct set of parameters. */
export function clientFingerprints(h: HelloParams): ClientFingerprints {
  // Everything either fingerprint reads: the JA3 string, then what only JA4 looks at.
  const ja3s = ja3String(h);
  const sniKind = h.sni !== null && !IP_LITERAL.test(h.sni) ? "d" : "i";
  const alpn = h.alpn[0] ? [...h.alpn[0]].join(".") : "";
  const key = `${ja3s}|${h.quic ? "q" : "t"}${sniKind}|${h.supportedVersions.join("-")}|` +
    `${h.sigAlgs.join("-")}|${alpn}`;
  return clientMemo.upsert(key, () => ({ ja3String: ja3s, ja3: md5(ja3s), ja4: ja4(h), ja4r: ja4r(h) }));
}

/** JA3S, computed once per distinct string. */
export function serverFingerprint(ja3sText: string): string {
  return serverMemo.upsert(ja3sText, () => md5(ja3sText));
}
