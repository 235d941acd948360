// Country and autonomous system of an address, offline. Private and special-purpose addresses are
// marked by their class (special.ts) and never looked up. Databases: the bundled ones (npm
// packages, read lazily at the first public address, so a capture of private traffic never loads
// them), or the user's own MaxMind-format files (--geoip DIR). Answers are cached per address in
// a bounded table.
import { Buffer } from "node:buffer";
import { Reader } from "mmdb-lib";
import countryPackage from "@ip-location-db/geo-whois-asn-country-mmdb/package.json" with { type: "json" };
import asnPackage from "@ip-location-db/asn/package.json" with { type: "json" };
import { BoundedTable } from "../base/bounded_table.ts";
import { ipv4Number, ipv6Words } from "./address_words.ts";
import { AsnTable } from "./asn_table.ts";
import { type AddressScope, ipv4Scope, ipv6Scope } from "./special.ts";

export interface GeoInfo {
  /** ISO 3166-1 alpha-2 code; the address's class when it is not public; null when unknown. */
  country: string | null;
  asn: number | null;
  as_org: string | null;
}

/** Addresses whose answers are kept (the busiest stay: least recently used goes first). */
export const GEO_CACHE_ENTRIES = 65_536;

/** The file names --geoip DIR looks for (MaxMind's GeoLite2 names); City gives countries too. */
export const GEOIP_FILES = {
  country: ["GeoLite2-Country.mmdb", "GeoLite2-City.mmdb"],
  asn: ["GeoLite2-ASN.mmdb"],
} as const;

/** A database that cannot be used: a missing directory or file, or one that is not an mmdb. */
export class GeoIpError extends Error {}

/** What answers the public addresses. */
interface Databases {
  country(address: string): string | null;
  as(address: string, v4: number | null, v6: Uint32Array | null): { asn: number; org: string | null } | null;
}

const NOTHING: GeoInfo = Object.freeze({ country: null, asn: null, as_org: null });
const SCOPES = new Map<AddressScope, GeoInfo>(
  (["private", "loopback", "link-local", "multicast", "special"] as const).map((
    s,
  ) => [s, Object.freeze({ country: s, asn: null, as_org: null })]),
);

let shared: GeoIp | null = null;

export class GeoIp {
  readonly #cache = new BoundedTable<GeoInfo>("geoip", GEO_CACHE_ENTRIES);
  readonly #words = new Uint32Array(4);
  #databases: Databases | null = null;
  /** Database lookups made so far (public addresses not found in the cache). */
  lookups = 0;

  private constructor(
    /** Where the answers come from, for the report and --help. */
    readonly source: string,
    private readonly open: () => Databases,
  ) {}

  /** The bundled databases, loaded at the first public address (once per process or worker). */
  static bundled(): GeoIp {
    return shared ??= new GeoIp(
      `ip-location-db geo-whois-asn-country ${countryPackage.version}, asn ${asnPackage.version}`,
      bundledDatabases,
    );
  }

  /** The MaxMind-format files in DIR, opened now so that a bad one is reported before any work. */
  static fromDir(dir: string): GeoIp {
    const dbs = dirDatabases(dir);
    return new GeoIp(`${dir}`, () => dbs);
  }

  lookup(address: string): GeoInfo {
    const hit = this.#cache.get(address);
    if (hit !== undefined) return hit;
    const info = this.#resolve(address);
    this.#cache.set(address, info);
    return info;
  }

  #resolve(address: string): GeoInfo {
    let v4 = ipv4Number(address);
    let v6 = v4 === null && ipv6Words(address, this.#words) ? this.#words : null;
    if (v4 === null && v6 === null) return NOTHING;
    if (v6 && v6[0] === 0 && v6[1] === 0 && v6[2] === 0xffff) {
      // IPv4-mapped (::ffff:a.b.c.d): the IPv4 address it carries.
      v4 = v6[3];
      v6 = null;
      address = `${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}`;
    }
    const scope = v4 !== null ? ipv4Scope(v4) : ipv6Scope(v6!);
    if (scope) return SCOPES.get(scope)!;
    this.lookups++;
    const dbs = this.#databases ??= this.open();
    const as = dbs.as(address, v4, v6);
    return { country: dbs.country(address), asn: as?.asn ?? null, as_org: as?.org ?? null };
  }
}

/** The file of an npm package the project imports (deno compile embeds the whole package). */
function packageFile(packageJson: string, file: string): string {
  return new URL(file, import.meta.resolve(packageJson)).pathname;
}

/** PATH's bytes, read into one buffer of its size (Deno.readFileSync took twice the CPU here). */
function readWhole(path: string): Uint8Array {
  using file = Deno.openSync(path);
  const out = new Uint8Array(file.statSync().size);
  for (let off = 0; off < out.length;) {
    const n = file.readSync(out.subarray(off));
    if (n === null) throw new Error(`shorter than its size (${off} of ${out.length} bytes)`);
    off += n;
  }
  return out;
}

function readMmdb(path: string): Reader<Record<string, unknown>> {
  let bytes: Uint8Array;
  try {
    bytes = readWhole(path);
  } catch (e) {
    throw new GeoIpError(`${path}: ${e instanceof Error ? e.message : e}`);
  }
  try {
    return new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new GeoIpError(`${path}: not a MaxMind DB file (${e instanceof Error ? e.message : e})`);
  }
}

/** The country of a record, in each database's shape: ip-location-db's, GeoLite2 Country/City's. */
function countryOf(r: Record<string, unknown> | null): string | null {
  if (!r) return null;
  if (typeof r.country_code === "string") return r.country_code;
  for (const key of ["country", "registered_country"]) {
    const iso = (r[key] as { iso_code?: unknown } | undefined)?.iso_code;
    if (typeof iso === "string") return iso;
  }
  return null;
}

function bundledDatabases(): Databases {
  const country = readMmdb(
    packageFile("@ip-location-db/geo-whois-asn-country-mmdb/package.json", "geo-whois-asn-country.mmdb"),
  );
  // Each family's table is built when an address of that family first needs it.
  let v4Table: AsnTable | null = null, v6Table: AsnTable | null = null;
  const table = (file: string, width: 1 | 4) =>
    AsnTable.open(packageFile("@ip-location-db/asn/package.json", file), width);
  return {
    country: (a) => countryOf(country.get(a)),
    as: (_a, v4, v6) =>
      v4 !== null
        ? (v4Table ??= table("asn-ipv4-num.csv", 1)).lookupV4(v4)
        : (v6Table ??= table("asn-ipv6.csv", 4)).lookupV6(v6!),
  };
}

function dirDatabases(dir: string): Databases {
  let entries: Set<string>;
  try {
    entries = new Set([...Deno.readDirSync(dir)].map((e) => e.name));
  } catch (e) {
    throw new GeoIpError(`--geoip ${dir}: ${e instanceof Error ? e.message : e}`);
  }
  const find = (names: readonly string[]) => names.find((n) => entries.has(n));
  const countryFile = find(GEOIP_FILES.country), asnFile = find(GEOIP_FILES.asn);
  if (!countryFile && !asnFile) {
    throw new GeoIpError(
      `--geoip ${dir}: none of ${[...GEOIP_FILES.country, ...GEOIP_FILES.asn].join(", ")} found there`,
    );
  }
  const country = countryFile ? readMmdb(`${dir}/${countryFile}`) : null;
  const asn = asnFile ? readMmdb(`${dir}/${asnFile}`) : null;
  return {
    country: (a) => country ? countryOf(country.get(a)) : null,
    as: (a) => {
      const r = asn?.get(a);
      const n = r?.autonomous_system_number;
      if (typeof n !== "number") return null;
      const org = r?.autonomous_system_organization;
      return { asn: n, org: typeof org === "string" ? org : null };
    },
  };
}
