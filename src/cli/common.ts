// Options `read` and `capture` share: filters, flow settings, exports.
import * as abi from "../decoder/abi.ts";
import { type DecoderConfig, DEFAULT_TIMEOUTS } from "../decoder/decoder.ts";
import { parseCidr } from "../base/address.ts";
import { APP_NAMES } from "../app/names.ts";
import { DEFAULT_MEMORY_MIB, type MemoryPlan, MIN_MEMORY_MIB, planMemory } from "../detect/budget.ts";
import {
  EXPORT_FORMATS,
  EXPORT_TYPES,
  type ExportFormat,
  type ExportType,
  formatFromPath,
} from "../sinks/export.ts";
import { BpfCompileError, compileBpf } from "../../ffi/libpcap.ts";
import { choice, intOption, listOption, type Options, secondsOption } from "./args.ts";
import { UsageError } from "./errors.ts";
import { callerPath } from "./paths.ts";
import { GeoIp, GEOIP_FILES, GeoIpError } from "../enrich/geo.ts";

/** tcpdump's -n, taken so habits work: wiresight never resolves names anyway. */
export const NUMERIC_OPTION: Options = { numeric: { type: "boolean", short: "n" } };

export const FILTER_OPTIONS: Options = {
  protocol: { type: "string", short: "p", multiple: true },
  "exclude-protocol": { type: "string", multiple: true },
  host: { type: "string", multiple: true },
  port: { type: "string", multiple: true },
  "no-loopback": { type: "boolean" },
  filter: { type: "string", short: "f" },
};

export const FLOW_OPTIONS: Options = {
  "tcp-timeout": { type: "string" },
  "udp-timeout": { type: "string" },
  "closed-timeout": { type: "string" },
  "active-timeout": { type: "string" },
  "max-flows": { type: "string" },
  memory: { type: "string" },
  "no-app": { type: "boolean" },
};

export const EXPORT_OPTIONS: Options = {
  export: { type: "string" },
  "export-format": { type: "string" },
  "export-type": { type: "string" },
  "export-payload": { type: "string" },
};

/** Zeek and Suricata interop: Zeek-format logs, the Community ID's seed. */
export const ZEEK_OPTIONS: Options = {
  "zeek-logs": { type: "string" },
  "zeek-json": { type: "boolean" },
  "community-id-seed": { type: "string" },
  "zeek-checksums": { type: "boolean" },
};

export const ZEEK_HELP = `Zeek and Suricata interop:
      --zeek-logs DIR          write DIR/conn.log, dns.log, http.log, ssh.log as Zeek does (TSV;
                               conn.log: conn_state, history, uid, community_id, then the local ends'
                               processes as extra columns; app log rows carry their flow's conn.log uid)
      --zeek-json              Zeek's JSON lines instead of TSV
      --community-id-seed N    seed of the Community IDs (flow exports, EVE, conn.log; default 0)
      --zeek-checksums         conn.log leaves out TCP/UDP packets with a wrong checksum (history C), as
                               zeek does without -C (off by default: local captures have offloaded ones)`;

export interface ZeekChoice {
  /** --zeek-logs DIR, created if missing. */
  dir?: string;
  json: boolean;
  communityIdSeed: number;
  /** --zeek-checksums: Zeek's checksum checks for conn.log. */
  checksums: boolean;
}

/** The Zeek options, validated; the log directory is created. */
export function zeekFrom(v: Record<string, unknown>): ZeekChoice {
  const dir = callerPath(v["zeek-logs"] as string | undefined);
  if (v["zeek-json"] && dir === undefined) throw new UsageError("--zeek-json needs --zeek-logs DIR");
  if (v["zeek-checksums"] && dir === undefined) {
    throw new UsageError("--zeek-checksums needs --zeek-logs DIR");
  }
  if (dir !== undefined) {
    try {
      Deno.mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new UsageError(`--zeek-logs ${dir}: ${e instanceof Error ? e.message : e}`);
    }
  }
  const seed = intOption(v["community-id-seed"] as string | undefined, "community-id-seed", 0, 65535) ?? 0;
  return {
    dir,
    json: Boolean(v["zeek-json"]),
    communityIdSeed: seed,
    checksums: Boolean(v["zeek-checksums"]),
  };
}

/** Country and AS of addresses (talkers, flow exports, EVE). */
export const GEOIP_OPTIONS: Options = {
  geoip: { type: "string" },
  "no-geoip": { type: "boolean" },
};

export const GEOIP_HELP =
  `Country and AS (offline; private and special addresses are marked, never looked up):
      --geoip DIR              MaxMind-format databases from DIR instead of the bundled ones:
                               ${[...GEOIP_FILES.country, ...GEOIP_FILES.asn].join(", ")}
      --no-geoip               no country and AS columns`;

/** The geoip the options ask for: the bundled databases by default, null with --no-geoip. */
export function geoFrom(v: Record<string, unknown>): GeoIp | null {
  const dir = callerPath(v.geoip as string | undefined);
  if (v["no-geoip"]) {
    if (dir !== undefined) throw new UsageError("--geoip DIR and --no-geoip contradict each other");
    return null;
  }
  if (dir === undefined) return GeoIp.bundled();
  try {
    return GeoIp.fromDir(dir);
  } catch (e) {
    if (e instanceof GeoIpError) throw new UsageError(e.message);
    throw e;
  }
}

const PROTOCOL_BITS: Record<string, number> = {
  tcp: abi.PROTO_TCP,
  udp: abi.PROTO_UDP,
  icmp: abi.PROTO_ICMP,
  icmpv6: abi.PROTO_ICMPV6,
  arp: abi.PROTO_ARP,
  ip: abi.PROTO_IPV4,
  ipv4: abi.PROTO_IPV4,
  ipv6: abi.PROTO_IPV6,
  other: abi.PROTO_OTHER,
};

/** Applications by name (those the decoder detects), for the same lists. */
const APP_CODES: Record<string, number> = Object.fromEntries(
  Object.entries(APP_NAMES).map(([code, name]) => [name, Number(code)]),
);

/** A protocol list: network/transport names as decoder bits, application names as APP_* codes. */
function protocolList(values: string[], flag: string): { mask: number; apps: number[] } {
  let mask = 0;
  const apps: number[] = [];
  for (const v of values) {
    const name = v.toLowerCase();
    const bit = PROTOCOL_BITS[name], app = APP_CODES[name];
    if (bit !== undefined) mask |= bit;
    else if (app !== undefined) apps.push(app);
    else {
      const l34 = Object.keys(PROTOCOL_BITS).join(", "), known = Object.keys(APP_CODES).join(", ");
      throw new UsageError(
        `--${flag}: unknown protocol '${v}' (network and transport: ${l34}; applications: ${known})`,
      );
    }
  }
  return { mask, apps };
}

function ports(values: string[]): number[] {
  return values.map((v) => intOption(v, "port", 0, 65535)!);
}

/** The memory budget (--memory) shared out; --max-flows, when given, overrides its flows. */
export function memoryPlanFrom(v: Record<string, unknown>, detect: boolean): MemoryPlan {
  const mib = intOption(v.memory as string | undefined, "memory", MIN_MEMORY_MIB, 1 << 20) ??
    DEFAULT_MEMORY_MIB;
  const plan = planMemory(mib, detect);
  const maxFlows = intOption(v["max-flows"] as string | undefined, "max-flows", 16, 50_000_000);
  return maxFlows === undefined ? plan : { ...plan, maxFlows };
}

/** Validates the filter options and turns them into decoder settings (flows from `plan`). */
export function decoderConfigFrom(v: Record<string, unknown>, plan: MemoryPlan): DecoderConfig {
  const hosts = listOption(v.host as string[] | undefined);
  for (const h of hosts) {
    if (!parseCidr(h)) throw new UsageError(`--host: '${h}' is not an IPv4/IPv6 address or CIDR`);
  }
  const include = protocolList(listOption(v.protocol as string[] | undefined), "protocol");
  const exclude = protocolList(listOption(v["exclude-protocol"] as string[] | undefined), "exclude-protocol");
  return {
    maxFlows: plan.maxFlows,
    timeouts: {
      tcpIdle: secondsOption(v["tcp-timeout"] as string | undefined, "tcp-timeout") ??
        DEFAULT_TIMEOUTS.tcpIdle,
      udpIdle: secondsOption(v["udp-timeout"] as string | undefined, "udp-timeout") ??
        DEFAULT_TIMEOUTS.udpIdle,
      closedLinger: secondsOption(v["closed-timeout"] as string | undefined, "closed-timeout") ??
        DEFAULT_TIMEOUTS.closedLinger,
      active: secondsOption(v["active-timeout"] as string | undefined, "active-timeout") ??
        DEFAULT_TIMEOUTS.active,
    },
    protocols: include.mask || exclude.mask ? { include: include.mask, exclude: exclude.mask } : undefined,
    apps: include.apps.length || exclude.apps.length
      ? { include: include.apps, exclude: exclude.apps }
      : undefined,
    hosts,
    ports: ports(listOption(v.port as string[] | undefined)),
    noLoopback: Boolean(v["no-loopback"]),
    appDecoding: !v["no-app"],
  };
}

/** Compiles the BPF expression once up front, so a typo is a usage error before any reading. */
export function checkBpf(expression: string): void {
  try {
    compileBpf(expression, abi.LINKTYPE_ETHERNET);
  } catch (e) {
    if (e instanceof BpfCompileError) throw new UsageError(e.message.replace(/ for link type 1:/, ":"));
    throw e;
  }
}

export interface ExportChoice {
  path: string;
  format: ExportFormat;
  type: ExportType;
  payloadMax: number;
}

/** The export the options ask for, validated (undefined without --export). */
export function exportFrom(v: Record<string, unknown>): ExportChoice | undefined {
  const path = callerPath(v.export as string | undefined);
  if (path === undefined) {
    if (v["export-format"] || v["export-type"] || v["export-payload"]) {
      throw new UsageError("--export-format, --export-type and --export-payload need --export PATH");
    }
    return undefined;
  }
  const type = choice(v["export-type"] as string | undefined, "export-type", EXPORT_TYPES) ?? "packets";
  const payloadMax = intOption(v["export-payload"] as string | undefined, "export-payload", 0, 65535) ?? 0;
  const format = choice(v["export-format"] as string | undefined, "export-format", EXPORT_FORMATS) ??
    formatFromPath(path);
  if (!format) {
    throw new UsageError(`cannot tell the export format from '${path}': use --export-format json|ndjson|csv`);
  }
  if (type !== "packets" && type !== "flows" && v["no-app"]) {
    throw new UsageError(`--export-type ${type} needs application decoding: drop --no-app`);
  }
  return { path, format, type, payloadMax };
}
