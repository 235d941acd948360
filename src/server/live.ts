// A live capture run by the server: packets go through the same capture source, decoder and
// process attribution as `wiresight capture`; the server aggregates them (totals, protocols, top
// talkers, ports, processes, per-interval rates) and pushes a snapshot a few times a second,
// whatever the packet rate, while the session's rows go to the store.
import { Counter } from "../base/counter.ts";
import { AppSummary } from "../app/summary.ts";
import type { DecoderConfig } from "../decoder/decoder.ts";
import type { EventHandlers, PacketRecord } from "../decoder/records.ts";
import { serviceName } from "../flows/services.ts";
import { pipelineSteps } from "../pipeline/pipeline.ts";
import type { ProcessInfo } from "../proc/process.ts";
import { FlowOwners, localAddresses, type PacketOwner } from "../proc/owners.ts";
import { ProcessTable, type ProcessTotals } from "../report/processes.ts";
import { buildReport, type ProtocolShare, type Report } from "../report/report.ts";
import type { ProcessNote } from "../proc/process.ts";
import { type CaptureStats, LiveCapture } from "../source/live.ts";
import { DEFAULT_LIMITS, FLUSH_ROWS, SessionRecorder, type StoreLimits } from "../store/recorder.ts";
import type { SessionStore, TimelinePoint } from "../store/types.ts";
import { alertRow, type EngineFactory } from "./detection.ts";
import type { EventHub } from "./events.ts";

/** Snapshots pushed per second at most. */
export const PUSH_INTERVAL_MS = 500;
const TALKERS_KEPT = 10_000;

/** What the dashboard shows of a running capture: the report's fields, so far. */
export interface LiveStats {
  session: number;
  running: boolean;
  interface: string;
  packets: number;
  bytes: number;
  flows: number;
  start_epoch: number | null;
  end_epoch: number | null;
  duration_s: number;
  rates: { packets_per_s: number; bits_per_s: number; avg_packet_bytes: number };
  /** The last interval: its start (Unix seconds), length and traffic. */
  interval: { t: number; seconds: number; packets: number; bytes: number };
  protocols: Record<string, ProtocolShare>;
  top_talkers: { address: string; name: null; packets: number; bytes: number }[];
  top_ports: { protocol: string; port: number; service: string | null; packets: number; bytes: number }[];
  processes: ProcessTotals[];
  capture: CaptureStats;
}

/** Running totals of a live capture, bounded whatever the traffic. */
export class LiveAggregator {
  packets = 0;
  bytes = 0;
  #first: number | null = null;
  #last: number | null = null;
  #endedFlows = 0;
  readonly #activeFlows = new Set<number>();
  readonly #protocols = new Map<string, { layer: ProtocolShare["layer"]; packets: number; bytes: number }>();
  readonly #talkerBytes = new Counter(TALKERS_KEPT);
  readonly #talkerPackets = new Counter(TALKERS_KEPT);
  readonly #portBytes = new Counter(TALKERS_KEPT);
  readonly #portPackets = new Counter(TALKERS_KEPT);
  readonly processes = new ProcessTable();
  #interval = { start: Date.now(), packets: 0, bytes: 0 };
  #lastInterval = { t: Date.now() / 1000, seconds: 0, packets: 0, bytes: 0 };

  add(p: PacketRecord, owner: PacketOwner | null): void {
    const t = p.tsSec + p.tsNsec / 1e9;
    this.#first ??= t;
    this.#last = t;
    this.packets++;
    this.bytes += p.wirelen;
    this.#interval.packets++;
    this.#interval.bytes += p.wirelen;
    const network = p.ipVersion === 4
      ? "IPv4"
      : p.ipVersion === 6
      ? "IPv6"
      : p.protocol === "ARP"
      ? "ARP"
      : null;
    if (network) this.#protocol(network, "network", p.wirelen);
    if (p.ipVersion && p.srcPort !== null) this.#protocol(p.protocol, "transport", p.wirelen);
    else if (p.ipVersion && p.icmpType !== null) this.#protocol(p.protocol, "transport", p.wirelen);
    for (const a of p.src === p.dst ? [p.src] : [p.src, p.dst]) {
      if (!a) continue;
      this.#talkerBytes.add(a, p.wirelen);
      this.#talkerPackets.add(a);
    }
    if (p.srcPort !== null && p.dstPort !== null) {
      // The responder's port names the service (the initiator's is usually ephemeral).
      const port = p.fromResponder ? p.srcPort : p.dstPort;
      const key = `${p.protocol.toLowerCase()} ${port}`;
      this.#portBytes.add(key, p.wirelen);
      this.#portPackets.add(key);
    }
    if (p.flowId && this.#activeFlows.size < 1_000_000) this.#activeFlows.add(p.flowId);
    if (owner) this.processes.add(owner.process, p.flowId, p.wirelen, owner.sent);
  }

  #protocol(name: string, layer: ProtocolShare["layer"], bytes: number): void {
    const e = this.#protocols.get(name);
    if (e) {
      e.packets++;
      e.bytes += bytes;
    } else if (this.#protocols.size < 300) this.#protocols.set(name, { layer, packets: 1, bytes });
  }

  endFlow(flowId: number): void {
    if (this.#activeFlows.delete(flowId)) this.#endedFlows++;
  }

  /** Closes the current interval (call once per push). */
  tick(): void {
    const now = Date.now();
    const i = this.#interval;
    this.#lastInterval = {
      t: i.start / 1000,
      seconds: (now - i.start) / 1000,
      packets: i.packets,
      bytes: i.bytes,
    };
    this.#interval = { start: now, packets: 0, bytes: 0 };
  }

  snapshot(session: number, device: string, running: boolean, capture: CaptureStats, top = 10): LiveStats {
    const duration = this.#first !== null && this.#last !== null ? Math.max(0, this.#last - this.#first) : 0;
    const pct = (n: number, of: number) => (of ? Math.round((10000 * n) / of) / 100 : 0);
    const protocols: Record<string, ProtocolShare> = {};
    for (const [name, e] of [...this.#protocols].sort((a, b) => b[1].packets - a[1].packets)) {
      protocols[name] = {
        ...e,
        percent_packets: pct(e.packets, this.packets),
        percent_bytes: pct(e.bytes, this.bytes),
      };
    }
    return {
      session,
      running,
      interface: device,
      packets: this.packets,
      bytes: this.bytes,
      flows: this.#endedFlows + this.#activeFlows.size,
      start_epoch: this.#first,
      end_epoch: this.#last,
      duration_s: duration,
      rates: {
        packets_per_s: duration > 0 ? Math.round((100 * this.packets) / duration) / 100 : 0,
        bits_per_s: duration > 0 ? Math.round((800 * this.bytes) / duration) / 100 : 0,
        avg_packet_bytes: this.packets ? Math.round((100 * this.bytes) / this.packets) / 100 : 0,
      },
      interval: this.#lastInterval,
      protocols,
      top_talkers: this.#talkerBytes.top(top).map(([address, bytes]) => ({
        address,
        name: null,
        packets: this.#talkerPackets.get(address),
        bytes,
      })),
      top_ports: this.#portBytes.top(top).map(([key, bytes]) => {
        const [protocol, port] = key.split(" ");
        return {
          protocol,
          port: Number(port),
          service: serviceName(protocol === "tcp" ? 6 : 17, Number(port)) ?? null,
          packets: this.#portPackets.get(key),
          bytes,
        };
      }),
      processes: this.processes.top(top),
      capture,
    };
  }
}

export interface LiveStart {
  device: string;
  filter?: string;
  snaplen?: number;
  promiscuous?: boolean;
  bufferBytes?: number;
  /** Stop after this many packets / seconds. */
  count?: number;
  duration?: number;
  decoder?: DecoderConfig;
}

export interface LiveDeps {
  store: SessionStore;
  hub: EventHub;
  sensor: string;
  top?: number;
  limits?: StoreLimits;
  /** The detectors to run (none without). */
  detection?: EngineFactory;
}

const flowProcess = (p: ProcessInfo | null | undefined): ProcessNote | null =>
  p ? { pid: p.pid, name: p.name, exe: p.exe, user: p.user } : null;

export class LiveSession {
  readonly aggregator = new LiveAggregator();
  readonly #recorder: SessionRecorder;
  #running = true;
  /** Settles with the final report when the capture has ended and the session is stored. */
  readonly done: Promise<Report>;

  private constructor(
    readonly id: number,
    readonly device: string,
    readonly capture: LiveCapture,
    private readonly deps: LiveDeps,
    private readonly opts: LiveStart,
  ) {
    this.#recorder = new SessionRecorder(deps.store, id, deps.limits ?? DEFAULT_LIMITS);
    this.done = this.#run();
    // Whoever awaits `done` sees a failure; the session row says it in any case.
    this.done.catch(() => {});
  }

  /** Opens the device (throws CaptureError with what to do when it cannot) and starts capturing. */
  static async start(opts: LiveStart, deps: LiveDeps): Promise<LiveSession> {
    const local = localAddresses();
    const capture = await LiveCapture.open(
      {
        device: opts.device,
        snaplen: opts.snaplen,
        promiscuous: opts.promiscuous ?? false,
        bufferBytes: opts.bufferBytes ?? 8 << 20,
        filter: opts.filter,
      },
      // The worker stops after `count` packets (those that pass the kernel's filter).
      opts.count ?? Infinity,
      { localAddresses: [...local], refreshMs: 1000 },
    );
    let id: number;
    try {
      id = await deps.store.createSession({
        kind: "capture",
        name: `capture on ${opts.device}`,
        sensor: deps.sensor,
      });
    } catch (e) {
      capture.stop();
      throw e;
    }
    return new LiveSession(id, opts.device, capture, deps, opts);
  }

  get running(): boolean {
    return this.#running;
  }

  stop(): void {
    this.capture.stop();
  }

  snapshot(top = 10): LiveStats {
    return this.aggregator.snapshot(this.id, this.device, this.#running, this.capture.stats, top);
  }

  timeline(): TimelinePoint[] {
    return this.#recorder.timeline.points();
  }

  async #run(): Promise<Report> {
    const { store, hub } = this.deps;
    const top = this.deps.top ?? 10;
    const owners = new FlowOwners(1000, localAddresses());
    this.capture.onOwners = (hints) => owners.hint(hints);
    const apps = new AppSummary();
    apps.flowNames.enabled = true;
    const agg = this.aggregator;
    const recorder = this.#recorder;
    const handlers: EventHandlers = {
      packet: (p) => {
        agg.add(p, owners.owner(p));
        recorder.packet(p);
      },
      flow: (f) => {
        recorder.flow({ record: f, serverName: apps.flowName(f), owner: flowProcess(owners.of(f.id)) });
        owners.forget(f.id);
        agg.endFlow(f.id);
      },
      app: (e) => {
        apps.add(e);
        recorder.app(e);
      },
    };
    const push = () => {
      agg.tick();
      hub.publish("stats", this.snapshot(top));
    };
    const engine = this.deps.detection?.();
    const pusher = setInterval(push, PUSH_INTERVAL_MS);
    const timer = this.opts.duration ? setTimeout(() => this.stop(), this.opts.duration * 1000) : undefined;
    let lastFlush = Date.now();
    try {
      const steps = pipelineSteps({
        files: [],
        live: this.capture,
        decoder: { ...this.opts.decoder, packets: { payloadMax: 0 }, ...engine?.decoderSettings() },
        top,
      }, engine ? engine.handlers(handlers) : handlers);
      let step = await steps.next();
      for (; !step.done; step = await steps.next()) {
        if (recorder.pending >= FLUSH_ROWS || Date.now() - lastFlush > 1000) {
          // Alerts so far (their counts and last-seen times move on as traffic does).
          if (engine?.alerts().length) recorder.alerts(engine.alerts().map(alertRow));
          await recorder.flush();
          lastFlush = Date.now();
        }
      }
      if (engine) {
        engine.finish();
        recorder.alerts(engine.alerts().map(alertRow));
      }
      const result = step.value;
      const report: Report = {
        ...buildReport(result, apps, top),
        processes: agg.processes.top(top),
        capture: { interface: this.device, ...result.capture },
      };
      const error = result.capture?.error ?? null;
      await recorder.finish(report, error ? "failed" : "done", error);
      return report;
    } catch (e) {
      await store.updateSession(this.id, { status: "failed", error: (e as Error).message });
      throw e;
    } finally {
      clearInterval(pusher);
      clearTimeout(timer);
      this.#running = false;
      push();
      hub.publish("sessions", { changed: this.id });
    }
  }
}
