// The detection engine: turns decoder records into alerts. It routes flow starts and host-rate
// windows (live signals for scans and floods), flow records and parsed application messages to
// the detectors the configuration enables, keeps one alert per incident (incidents.ts) and per
// subject in a bounded book, and tells its listener about each new alert as it is raised (later
// raises update it in the book: count, evidence, a higher severity).
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import type { DecoderConfig } from "../decoder/decoder.ts";
import type { EventHandlers } from "../decoder/records.ts";
import { dnsMessage } from "../app/dns/message.ts";
import { httpMessage } from "../app/http/message.ts";
import { tlsRecord } from "../app/tls/message.ts";
import { type Alert, AlertBook, type AlertInput, SEVERITIES, type Severity } from "./alert.ts";
import type { DetectConfig } from "./config.ts";
import { type AppContext, type Detector, seconds, TCP, UDP } from "./detector.ts";
import type { IntelLists } from "./intel.ts";
import { DEFAULT_MEMORY_MIB, type MemoryPlan, planMemory } from "./budget.ts";
import { Incidents } from "./incidents.ts";
import { promoter } from "./notices.ts";
import { portScan } from "./detectors/scan.ts";
import { connectionFlood, packetRate, synFlood } from "./detectors/flood.ts";
import { cleartext } from "./detectors/cleartext.ts";
import { unusualPort } from "./detectors/unusual_port.ts";
import { beacon } from "./detectors/beacon.ts";
import { dnsTunnel } from "./detectors/dns_tunnel.ts";
import { httpThreats } from "./detectors/http_threats.ts";
import { tlsAnomaly } from "./detectors/tls_anomaly.ts";
import { exfil } from "./detectors/exfil.ts";
import { intelMatch } from "./detectors/intel_match.ts";

/** The engine's own figures for the report. */
export interface DetectionSummary {
  /** Alerts (severity low and above). */
  alerts: number;
  /** Notices (severity info). */
  notices: number;
  /** Distinct alerts not kept because the book was full (limits.max_alerts). */
  alerts_dropped: number;
  by_severity: Record<Severity, number>;
  by_type: Record<string, number>;
  detectors: string[];
  /**
   * Entries each bounded table evicted to stay under its limit; flow_table (flows ended early),
   * host_rate_overflow and host_rate_unreported are the decoder's (wasm/ABI.md, HOST_RATE event).
   */
  evictions: Record<string, number>;
  /** The memory budget and what it gave the flow table and each detector table. */
  memory: { budget_mib: number; max_flows: number; table_entries: number };
}

const TLS_KINDS = new Set([abi.AK_TLS_CLIENT_HELLO, abi.AK_TLS_SERVER_HELLO, abi.AK_TLS_CERTIFICATE]);

export class DetectionEngine {
  readonly book: AlertBook;
  readonly #detectors: Detector[] = [];
  readonly #names: string[] = [];
  readonly #incidents: Incidents;
  /**
   * The decoder's own bounded tables (set from its statistics at the end): flows ended early,
   * packets of hosts not counted.
   */
  decoderOverflow = { flow_table: 0, host_rate_overflow: 0, host_rate_unreported: 0 };
  /** Entries of each detector table: limits.max_entries, else the memory plan's. */
  readonly tableEntries: number;
  /** Called once for each new alert, as it is raised. */
  onAlert: (a: Alert) => void = () => {};

  constructor(
    readonly config: DetectConfig,
    intel: IntelLists,
    readonly memory: MemoryPlan = planMemory(DEFAULT_MEMORY_MIB, true),
  ) {
    this.book = new AlertBook(config.limits.max_alerts);
    this.tableEntries = config.limits.max_entries || memory.tableEntries;
    const max = this.tableEntries;
    this.#incidents = new Incidents(max);
    const promote = promoter(config.notices);
    const raise = (input: AlertInput) => {
      if (!this.#incidents.admit(input)) return;
      const r = this.book.raise(promote(input));
      if (r?.isNew) this.onAlert(r.alert);
    };
    const c = config;
    const add = (name: string, on: boolean, make: () => Detector) => {
      if (!on) return;
      this.#detectors.push(make());
      this.#names.push(name);
    };
    add("port_scan", c.port_scan.enabled, () => portScan(c.port_scan, raise, max));
    add("syn_flood", c.syn_flood.enabled, () => synFlood(c.syn_flood, raise, max));
    add(
      "connection_flood",
      c.connection_flood.enabled,
      () => connectionFlood(c.connection_flood, raise, max),
    );
    add("packet_rate", c.packet_rate.enabled, () => packetRate(c.packet_rate, raise));
    add("cleartext", c.cleartext.enabled, () => cleartext(c.cleartext, raise));
    add("unusual_port", c.unusual_port.enabled, () => unusualPort(c.unusual_port, raise, max));
    add("beacon", c.beacon.enabled, () => beacon(c.beacon, raise, max));
    add("dns_tunnel", c.dns_tunnel.enabled, () => dnsTunnel(c.dns_tunnel, raise, max));
    add("http", c.http.enabled, () => httpThreats(c.http, raise));
    add("tls", c.tls.enabled, () => tlsAnomaly(c.tls, raise, max));
    add("exfil", c.exfil.enabled, () => exfil(c.exfil, raise));
    add("intel", c.intel.enabled && !intel.empty, () => intelMatch(intel, raise));
  }

  /**
   * What the decoder must produce for the enabled detectors: flow starts, and per-host window
   * counts for packet rates and SYN floods (thresholds scaled to the decoder's window).
   */
  decoderSettings(): Pick<DecoderConfig, "flowStarts" | "hostRates"> {
    const has = (hook: keyof Detector) => this.#detectors.some((d) => d[hook]);
    const { packet_rate: pr, syn_flood: sf } = this.config;
    const windowMs = Math.max(1, Math.round(pr.window_ms));
    const windowS = windowMs / 1000;
    const never = 0xffffffff;
    const minPackets = pr.enabled && pr.packets > 0 ? Math.ceil(pr.packets * windowS) : never;
    const minSyns = sf.enabled && sf.syns > 0
      ? Math.ceil((sf.syns * windowS) / Math.max(sf.window_s, 1e-3))
      : never;
    return {
      flowStarts: has("flowStart"),
      hostRates: has("hostRate") && (minPackets !== never || minSyns !== never)
        ? { windowMs, minPackets, minSyns }
        : undefined,
    };
  }

  /** `next` with the engine's hooks added (each handler still gets every record). */
  handlers(next: EventHandlers): EventHandlers {
    const ds = this.#detectors;
    const pick = <K extends keyof Detector>(k: K) => ds.filter((d) => d[k]);
    const [starts, rates, flows] = [pick("flowStart"), pick("hostRate"), pick("flow")];
    const [dns, http, tls, banner] = [pick("dns"), pick("http"), pick("tls"), pick("banner")];
    return {
      ...next,
      flowStart: starts.length
        ? (f) => {
          for (const d of starts) d.flowStart!(f);
          next.flowStart?.(f);
        }
        : next.flowStart,
      hostRate: rates.length
        ? (r) => {
          for (const d of rates) d.hostRate!(r);
          next.hostRate?.(r);
        }
        : next.hostRate,
      flow: flows.length
        ? (f) => {
          for (const d of flows) d.flow!(f);
          next.flow?.(f);
        }
        : next.flow,
      app: next.app && ((e: AppEvent) => {
        next.app!(e);
        const want = e.kind === abi.AK_DNS
          ? dns
          : e.kind === abi.AK_HTTP_REQUEST || e.kind === abi.AK_HTTP_RESPONSE
          ? http
          : TLS_KINDS.has(e.kind)
          ? tls
          : e.kind === abi.AK_BANNER
          ? banner
          : [];
        if (!want.length) return;
        const c = context(e);
        if (e.kind === abi.AK_DNS) {
          const m = dnsMessage(e);
          c.proto = m.transport === "tcp" ? TCP : UDP;
          for (const d of want) d.dns!(m, c);
        } else if (want === http) {
          const m = httpMessage(e);
          for (const d of want) d.http!(m, c);
        } else if (want === tls) {
          const r = tlsRecord(e);
          if (r.transport === "quic") c.proto = UDP;
          for (const d of want) d.tls!(r, c, e);
        } else {
          const text = e.str(abi.F_BANNER) ?? "";
          for (const d of want) d.banner!(e.app, text, c);
        }
      }),
    };
  }

  /** End of input: detectors that judge the whole capture run their last pass. */
  finish(): void {
    for (const d of this.#detectors) d.finish?.();
  }

  alerts(): Alert[] {
    return this.book.all();
  }

  summary(): DetectionSummary {
    const alerts = this.book.all();
    const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    const byType: Record<string, number> = {};
    for (const a of alerts) {
      bySeverity[a.severity]++;
      byType[a.type] = (byType[a.type] ?? 0) + 1;
    }
    const evictions: Record<string, number> = {};
    const tables = [...this.#detectors.flatMap((d) => d.tables ?? []), ...this.#incidents.tables];
    for (const t of tables) evictions[t.name] = t.evictions;
    Object.assign(evictions, this.decoderOverflow);
    return {
      alerts: alerts.length - bySeverity.info,
      notices: bySeverity.info,
      alerts_dropped: this.book.dropped,
      by_severity: bySeverity,
      by_type: byType,
      detectors: [...this.#names],
      evictions,
      memory: {
        budget_mib: this.memory.memoryMib,
        max_flows: this.memory.maxFlows,
        table_entries: this.tableEntries,
      },
    };
  }
}

function context(e: AppEvent): AppContext {
  return {
    flowId: e.flowId,
    ts: seconds(e.tsSec, e.tsNsec),
    src: e.src,
    srcPort: e.srcPort,
    dst: e.dst,
    dstPort: e.dstPort,
    proto: TCP,
  };
}
