// A live capture run by the server: packets go through the same capture source, decoder and
// process attribution as `wiresight capture` (one session builder); the live aggregator the
// terminal panels use keeps the totals, and a snapshot is pushed a few times a second,
// whatever the packet rate, while the session's rows go to the store.
import type { DecoderConfig } from "../decoder/decoder.ts";
import { type LiveSource, Session } from "../pipeline/session.ts";
import { openLive } from "../pipeline/live.ts";
import type { AttributionMethod } from "../proc/attribution.ts";
import { type LiveTotals, LiveTraffic } from "../report/live.ts";
import type { ProcessTable, ProcessTotals } from "../report/processes.ts";
import type { Report } from "../report/report.ts";
import type { CaptureStats, LiveCapture } from "../source/live.ts";
import { DEFAULT_LIMITS, SessionRecorder, type StoreLimits } from "../store/recorder.ts";
import type { SessionStore, TimelinePoint } from "../store/types.ts";
import { alertRow, type EngineFactory } from "./detection.ts";
import type { EventHub } from "./events.ts";
import { GeoIp } from "../enrich/geo.ts";

/** The longest wait for packets before a step comes anyway. */
const TICK_MS = 250;

/** Snapshots pushed per second at most. */
export const PUSH_INTERVAL_MS = 500;

/** What the dashboard shows of a running capture: the report's fields, so far. */
export interface LiveStats extends LiveTotals {
  session: number;
  running: boolean;
  interface: string;
  processes: ProcessTotals[];
  capture: CaptureStats;
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
  /** How processes are found (default eBPF, falling back to netlink with a warning). */
  attribution?: AttributionMethod;
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

export class LiveSession {
  readonly traffic = new LiveTraffic();
  /** Set once the session runs: its per-process totals. */
  #processes: ProcessTable | null = null;
  readonly #recorder: SessionRecorder;
  #running = true;
  /** Settles with the final report when the capture has ended and the session is stored. */
  readonly done: Promise<Report>;

  get capture(): LiveCapture {
    return this.source.capture;
  }

  private constructor(
    readonly id: number,
    readonly device: string,
    private readonly source: LiveSource,
    /** What the user should know of this capture (process attribution degraded ...). */
    readonly warnings: string[],
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
    const { capture, owners, warnings } = await openLive({
      device: opts.device,
      snaplen: opts.snaplen,
      promiscuous: opts.promiscuous ?? false,
      bufferBytes: opts.bufferBytes ?? 8 << 20,
      filter: opts.filter,
      maxPackets: opts.count,
      attribution: opts.attribution,
    });
    let id: number;
    try {
      id = await deps.store.createSession({
        kind: "capture",
        name: `capture on ${opts.device}`,
        sensor: deps.sensor,
      });
    } catch (e) {
      capture.stop();
      owners.close();
      throw e;
    }
    return new LiveSession(id, opts.device, { capture, owners }, warnings, deps, opts);
  }

  get running(): boolean {
    return this.#running;
  }

  stop(): void {
    this.capture.stop();
  }

  snapshot(top = 10): LiveStats {
    return {
      session: this.id,
      running: this.#running,
      interface: this.device,
      ...this.traffic.totals(top),
      processes: this.#processes?.top(top) ?? [],
      capture: this.capture.stats,
    };
  }

  timeline(): TimelinePoint[] {
    return this.#recorder.timeline.points();
  }

  async #run(): Promise<Report> {
    const { store, hub } = this.deps;
    const top = this.deps.top ?? 10;
    const traffic = this.traffic;
    const recorder = this.#recorder;
    const engine = this.deps.detection?.();
    const session = await Session.open({
      live: this.source,
      decoder: { ...this.opts.decoder, packets: { payloadMax: 0 } },
      top,
      detection: engine,
      sinks: [{
        packet: (p, who) => {
          traffic.add(p, who, null);
          recorder.packet(p);
        },
        flow: (view) => {
          recorder.flow(view);
          traffic.endFlow(view.record.id);
        },
        app: (e) => recorder.app(e),
      }],
      geo: GeoIp.bundled(),
    });
    this.#processes = session.processes;
    const push = () => {
      traffic.tick();
      hub.publish("stats", this.snapshot(top));
    };
    const pusher = setInterval(push, PUSH_INTERVAL_MS);
    const timer = this.opts.duration ? setTimeout(() => this.stop(), this.opts.duration * 1000) : undefined;
    // Steps (and so the heartbeat) go on when no packet comes.
    this.capture.tickMs = TICK_MS;
    // Alerts so far (their counts and last-seen times move on as traffic does).
    const alerts = engine && (() => engine.alerts().map(alertRow));
    try {
      const steps = session.steps();
      let step = await steps.next();
      for (; !step.done; step = await steps.next()) await recorder.step(alerts);
      if (engine) recorder.alerts(engine.alerts().map(alertRow));
      const { report, decoded: result } = step.value;
      report.warnings.push(...this.warnings);
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
