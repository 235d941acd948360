// Detection settings: which detectors run, their thresholds, intel lists and table limits.
// Loaded from TOML or JSON (by extension), merged over the defaults below, and validated key by
// key: a typo or a wrong type is an error naming the offending key, never silently ignored.
import { parse as parseToml } from "smol-toml";
import { dirname, resolve } from "node:path";
import { SEVERITIES } from "./alert.ts";
import { coversType, NOTICE_TYPES } from "./notices.ts";

export const DEFAULT_CONFIG = {
  limits: {
    /** Distinct alerts kept; more are counted, not kept. */
    max_alerts: 10000,
    /** Entries of each per-host / per-pair / per-domain table; 0: sized from the memory budget (--memory). */
    max_entries: 0,
  },
  port_scan: { enabled: true, window_s: 60, vertical_ports: 25, horizontal_hosts: 25 },
  syn_flood: { enabled: true, window_s: 1, syns: 200 },
  connection_flood: { enabled: true, window_s: 10, connections: 100 },
  packet_rate: { enabled: true, window_ms: 1000, packets: 5000 },
  cleartext: { enabled: true, telnet: true, ftp: true, http_basic: true, pop3: true, imap: true },
  unusual_port: { enabled: true, service_port: true, rare_high_port: true },
  beacon: {
    enabled: true,
    min_connections: 10,
    /** From the first connection of a pair to its last: a burst of requests is not a beacon. */
    min_duration_s: 5,
    min_score: 0.8,
    /**
     * The median interval must be at least this many times the capture's mean packet spacing (or
     * 1 s): a flood's connections are as regular as a beacon's but come as fast as the packets.
     */
    min_spacing_ratio: 5,
    max_timestamps: 256,
    /** Server ports not scored: name lookups and clock sync are periodic by design. */
    ignore_ports: [53, 123, 5353, 5355] as number[],
  },
  dns_tunnel: {
    enabled: true,
    unique_subdomains: 100,
    suspicious_subdomains: 30,
    long_label: 40,
    entropy: 3.5,
    entropy_min_length: 16,
    txt_null_queries: 50,
  },
  http: {
    enabled: true,
    sqli: true,
    xss: true,
    command_injection: true,
    path_traversal: true,
    user_agent: true,
    encoded_uri: true,
    /** Extra user-agent substrings to flag (case-insensitive). */
    bad_user_agents: [] as string[],
  },
  tls: {
    enabled: true,
    self_signed: true,
    expired: true,
    sni_mismatch: true,
    bad_ja3: [] as string[],
    bad_ja4: [] as string[],
  },
  exfil: { enabled: true, min_bytes: 10_000_000, min_ratio: 10 },
  intel: {
    enabled: true,
    ips: [] as string[],
    domains: [] as string[],
    /** Files of one IP/CIDR (or domain) per line; '#' starts a comment. Relative to the config file. */
    ip_files: [] as string[],
    domain_files: [] as string[],
  },
  notices: {
    /** Notice types (or their detectors, e.g. "unusual_port") to raise as alerts. */
    promote: [] as string[],
    /** The severity of a promoted notice. */
    severity: "low",
  },
};

export type DetectConfig = typeof DEFAULT_CONFIG;
export type DetectorName = Exclude<keyof DetectConfig, "limits" | "notices">;

/** A config file that cannot be used; the message names the file and the offending key. */
export class ConfigError extends Error {}

/** Numbers that must lie in [0, 1]; every other number must be finite and >= 0. */
const FRACTIONS = new Set(["beacon.min_score"]);

function typeName(v: unknown): string {
  return Array.isArray(v) ? "list" : v === null ? "null" : typeof v;
}

/** `over` merged into a copy of the defaults, checked key by key. */
export function mergeConfig(over: unknown, source = "config"): DetectConfig {
  const cfg = structuredClone(DEFAULT_CONFIG) as Record<string, Record<string, unknown>>;
  if (typeof over !== "object" || over === null || Array.isArray(over)) {
    throw new ConfigError(`${source}: the top level must be a table of sections`);
  }
  for (const [section, values] of Object.entries(over)) {
    const defaults = cfg[section];
    if (!defaults) {
      throw new ConfigError(
        `${source}: unknown section '${section}' (known: ${Object.keys(cfg).join(", ")})`,
      );
    }
    if (typeof values !== "object" || values === null || Array.isArray(values)) {
      throw new ConfigError(`${source}: '${section}' must be a table, got ${typeName(values)}`);
    }
    for (const [key, value] of Object.entries(values)) {
      const path = `${section}.${key}`;
      if (!(key in defaults)) {
        throw new ConfigError(
          `${source}: unknown key '${path}' (known in [${section}]: ${Object.keys(defaults).join(", ")})`,
        );
      }
      const want = typeName(defaults[key]);
      if (typeName(value) !== want) {
        throw new ConfigError(`${source}: '${path}' must be a ${want}, got ${typeName(value)}`);
      }
      if (typeof value === "number") {
        const ok = Number.isFinite(value) && value >= 0 && (!FRACTIONS.has(path) || value <= 1);
        if (!ok) {
          throw new ConfigError(
            `${source}: '${path}' must be ${
              FRACTIONS.has(path) ? "between 0 and 1" : "a number >= 0"
            }, got ${value}`,
          );
        }
      }
      if (Array.isArray(value)) {
        // Lists of ports hold numbers; every other list holds strings.
        const ports = key.endsWith("_ports");
        const ok = ports
          ? value.every((x) => Number.isInteger(x) && x >= 0 && x <= 65535)
          : value.every((x) => typeof x === "string");
        if (!ok) {
          throw new ConfigError(
            `${source}: '${path}' must be a list of ${ports ? "port numbers" : "strings"}`,
          );
        }
      }
      defaults[key] = value;
    }
  }
  checkNotices(cfg.notices as DetectConfig["notices"], source);
  return cfg as unknown as DetectConfig;
}

function checkNotices(n: DetectConfig["notices"], source: string): void {
  const alertSeverities = SEVERITIES.filter((s) => s !== "info") as string[];
  if (!alertSeverities.includes(n.severity)) {
    throw new ConfigError(
      `${source}: 'notices.severity' must be one of ${alertSeverities.join(", ")}, got '${n.severity}'`,
    );
  }
  for (const entry of n.promote) {
    if (!NOTICE_TYPES.some((t) => coversType(entry, t))) {
      throw new ConfigError(
        `${source}: 'notices.promote' names '${entry}', which is no notice (notices: ${
          NOTICE_TYPES.join(", ")
        })`,
      );
    }
  }
}

/** Reads a TOML (.toml) or JSON (anything else) config file; intel file paths become absolute. */
export async function loadConfig(path: string): Promise<DetectConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ConfigError(`cannot read config ${path}: ${e instanceof Error ? e.message : e}`);
  }
  let data: unknown;
  try {
    data = path.toLowerCase().endsWith(".toml") ? parseToml(text) : JSON.parse(text);
  } catch (e) {
    const what = path.toLowerCase().endsWith(".toml") ? "TOML" : "JSON";
    throw new ConfigError(`${path}: not valid ${what}: ${e instanceof Error ? e.message.split("\n")[0] : e}`);
  }
  const cfg = mergeConfig(data, path);
  const base = dirname(resolve(path));
  cfg.intel.ip_files = cfg.intel.ip_files.map((f) => resolve(base, f));
  cfg.intel.domain_files = cfg.intel.domain_files.map((f) => resolve(base, f));
  return cfg;
}
