// Encrypted DNS recognised from the first flight of a TLS or QUIC connection: DNS over TLS (RFC
// 7858), over QUIC (RFC 9250) and over HTTPS (RFC 8484) hide their messages, but the port, the
// ALPN protocols and the server name say what they are. The rules, in order:
//   - QUIC offering ALPN "doq", or QUIC to port 853: DoQ;
//   - TCP to port 853, or offering ALPN "dot": DoT;
//   - port 443 (TCP or QUIC) to a well-known public resolver's DoH name (below, or a name under
//     one), offering only HTTP ALPN protocols (h2, http/1.1, h3) or none: DoH.
// DoH to a resolver not listed looks like any HTTPS and is not recognised.

export type EncryptedDns = "doh" | "dot" | "doq";

/** DoH host names of public resolvers (their documentation's endpoints). */
export const DOH_RESOLVERS = [
  "dns.google",
  "cloudflare-dns.com",
  "one.one.one.one",
  "dns.quad9.net",
  "dns9.quad9.net",
  "dns10.quad9.net",
  "dns11.quad9.net",
  "doh.opendns.com",
  "doh.familyshield.opendns.com",
  "dns.adguard-dns.com",
  "dns.adguard.com",
  "unfiltered.adguard-dns.com",
  "family.adguard-dns.com",
  "dns.nextdns.io",
  "doh.cleanbrowsing.org",
  "dns.alidns.com",
  "doh.pub",
  "doh.dns.sb",
  "dns.mullvad.net",
  "doh.mullvad.net",
  "dns.controld.com",
  "freedns.controld.com",
  "dns.twnic.tw",
];

const HTTP_ALPN = new Set(["h2", "http/1.1", "h3"]);

export interface Hello {
  transport: "tcp" | "quic";
  /** The port the client connected to. */
  serverPort: number;
  sni: string | null;
  alpn: string[];
}

export function encryptedDns(h: Hello): EncryptedDns | null {
  if (h.transport === "quic" && (h.alpn.includes("doq") || h.serverPort === 853)) return "doq";
  if (h.transport === "tcp" && (h.serverPort === 853 || h.alpn.includes("dot"))) return "dot";
  if (h.serverPort !== 443 || h.sni === null || !h.alpn.every((a) => HTTP_ALPN.has(a))) return null;
  const sni = h.sni.toLowerCase().replace(/\.$/, "");
  return DOH_RESOLVERS.some((r) => sni === r || sni.endsWith(`.${r}`)) ? "doh" : null;
}
