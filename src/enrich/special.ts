// Addresses that belong to no country or network on the Internet: private, loopback, link-local,
// multicast and the other special-purpose ranges (IANA's IPv4 and IPv6 special-purpose registries,
// RFC 6890). They are marked by their class and never looked up in a database.

/** What an address is, when it is not a public one. */
export type AddressScope = "private" | "loopback" | "link-local" | "multicast" | "special";

/** [first address as a 32-bit number, prefix length, class] */
type V4Range = readonly [number, number, AddressScope];

const v4 = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

const V4_RANGES: readonly V4Range[] = [
  [v4(0, 0, 0, 0), 8, "special"], // "this network"
  [v4(10, 0, 0, 0), 8, "private"], // RFC 1918
  [v4(100, 64, 0, 0), 10, "private"], // carrier-grade NAT (RFC 6598)
  [v4(127, 0, 0, 0), 8, "loopback"],
  [v4(169, 254, 0, 0), 16, "link-local"],
  [v4(172, 16, 0, 0), 12, "private"],
  [v4(192, 0, 0, 0), 24, "special"], // IETF protocol assignments
  [v4(192, 0, 2, 0), 24, "special"], // documentation (TEST-NET-1)
  [v4(192, 88, 99, 0), 24, "special"], // deprecated 6to4 relay anycast
  [v4(192, 168, 0, 0), 16, "private"],
  [v4(198, 18, 0, 0), 15, "special"], // benchmarking
  [v4(198, 51, 100, 0), 24, "special"], // documentation (TEST-NET-2)
  [v4(203, 0, 113, 0), 24, "special"], // documentation (TEST-NET-3)
  [v4(224, 0, 0, 0), 4, "multicast"],
  [v4(240, 0, 0, 0), 4, "special"], // reserved, and the limited broadcast 255.255.255.255
];

/** The class of the IPv4 address N (a 32-bit number), or null for a public one. */
export function ipv4Scope(n: number): AddressScope | null {
  for (const [first, prefix, scope] of V4_RANGES) {
    const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
    if (((n & mask) >>> 0) === first) return scope;
  }
  return null;
}

/** The class of the IPv6 address in W (four 32-bit words, most significant first), or null. */
export function ipv6Scope(w: Uint32Array): AddressScope | null {
  const [a, b, c, d] = w;
  if (a === 0 && b === 0) {
    if (c === 0) return d === 1 ? "loopback" : "special"; // ::1; :: and the old IPv4-compatible form
    if (c === 0xffff) return ipv4Scope(d); // IPv4-mapped: the IPv4 address decides
  }
  const top16 = a >>> 16;
  if ((top16 & 0xfe00) === 0xfc00) return "private"; // unique local fc00::/7
  if ((top16 & 0xffc0) === 0xfe80) return "link-local"; // fe80::/10
  if ((top16 & 0xff00) === 0xff00) return "multicast"; // ff00::/8
  if (a === 0x20010db8) return "special"; // documentation 2001:db8::/32
  if (a === 0x01000000 && b === 0) return "special"; // discard-only 100::/64
  if ((top16 & 0xe000) !== 0x2000) return "special"; // outside global unicast 2000::/3
  return null;
}
