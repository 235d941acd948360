// The one session builder: `read`, `capture`, the web view's analyses and live captures, and the
// library all run through here. It assembles the source (files or a live capture), the decoder
// settings, the application layer, process attribution (live owners, or those a wiresight pcapng
// noted per packet), the detectors and the sinks, and builds the report. Entry points parse their
// options and pick sinks; what a flow row says comes from here, the same whoever asks.
import type { DecoderConfig } from "../decoder/decoder.ts";
import type { DecoderPool } from "../decoder/pool.ts";
import type { EventHandlers, FlowRecord, PacketRecord } from "../decoder/records.ts";
import { AppSummary } from "../app/summary.ts";
import type { DetectionEngine } from "../detect/engine.ts";
import { CommentOwners } from "../proc/comment.ts";
import type { Attribution, Attributor, FlowOwners } from "../proc/owners.ts";
import { ProcessTable } from "../report/processes.ts";
import { buildReport, type Report } from "../report/report.ts";
import { flowCommunityId, type FlowView } from "../sinks/rows.ts";
import type { FlowProcesses, PacketContext, SessionSink, SinkContext } from "../sinks/sink.ts";
import { type DecodeResult, decodeSteps } from "../source/decode.ts";
import type { LiveCapture } from "../source/live.ts";
import type { CaptureSource } from "../source/file.ts";
import { PacketSelector, type SelectRules } from "./live_select.ts";
import { appMarks } from "./app_marks.ts";
import { AppHold } from "./app_hold.ts";
import type { GeoInfo, GeoIp } from "../enrich/geo.ts";
import { GeoTotals } from "../enrich/totals.ts";
import { parallelDecodeSteps } from "./workers.ts";

export interface LiveSource {
  capture: LiveCapture;
  /** Live process attribution; without it packets carry no owner. */
  owners?: FlowOwners;
  /** Filters only a decoded packet can tell (direction, process, count); they need `owners`. */
  select?: SelectRules;
}

export interface SessionOptions {
  /** Capture files (or captures in memory), read in order as one capture... */
  files?: CaptureSource[];
  /** ...or a live capture. */
  live?: LiveSource;
  decoder: DecoderConfig;
  /** A tcpdump-style filter expression, compiled by libpcap per link type (files). */
  bpf?: string;
  /** Entries in each of the report's top tables (default 10). */
  top?: number;
  detection?: DetectionEngine;
  sinks?: SessionSink[];
  /**
   * Sinks that see each event after the detectors did (the EVE stream: an alert is written
   * before the flow or message that raised it).
   */
  lateSinks?: SessionSink[];
  /** Bytes read of all the files, as they are read. */
  progress?(done: number, total: number, path: string): void;
  /** The seed of the flows' Community IDs (default 0). */
  communityIdSeed?: number;
  /** Reuse the decoder of this pool (a process that analyses many inputs in turn). */
  decoders?: DecoderPool;
  /** Country and AS of flows' ends and of talkers (none without it). */
  geo?: GeoIp | null;
  /**
   * Decode files over this many workers (workers.ts) when the report is all that is asked for
   * (no sinks, detection, attribution or geoip: workers send no flow records back); default 1:
   * no worker threads.
   */
  workers?: number;
}

export interface SessionResult {
  report: Report;
  decoded: DecodeResult;
}

const NO_CONTEXT: PacketContext = { direction: null, owner: null, peer: null };

export class Session implements SinkContext {
  readonly apps = new AppSummary();
  /** Traffic per process: from live owners, or from the owners a wiresight pcapng noted. */
  readonly processes = new ProcessTable();
  readonly #comments = new CommentOwners();
  /** Each open flow's processes as attribution last gave them, until its record goes out. */
  readonly #flowOwners = new Map<number, Attribution>();
  readonly #sinks: SessionSink[];
  readonly #late: SessionSink[];
  #attributor: Attributor | undefined;
  #selector: PacketSelector | undefined;
  /** Traffic per country and AS, when geoip is on. */
  readonly #geoTotals: GeoTotals | null;
  /** The view of the flow record being handed out (sinks before and after the detectors share it). */
  #view: FlowView | null = null;

  private constructor(private readonly opts: SessionOptions) {
    this.#sinks = opts.sinks ?? [];
    this.#late = opts.lateSinks ?? [];
    this.#geoTotals = opts.geo ? new GeoTotals() : null;
  }

  static async open(opts: SessionOptions): Promise<Session> {
    const s = new Session(opts);
    const live = opts.live;
    if (live?.select && live.owners) {
      s.#selector = await PacketSelector.create(
        opts.decoder,
        live.capture.fileHeader(),
        live.owners,
        live.select,
        () => live.capture.stop(),
      );
      live.capture.select = s.#selector.select;
    }
    if (live && opts.decoder.apps) {
      // The selector keys its packets by their order, which holding flows back would change.
      if (s.#selector) {
        throw new Error(
          "application protocols cannot be filtered with --direction, --process or --count yet",
        );
      }
      live.capture.hold = await AppHold.create(opts.decoder, live.capture.fileHeader());
    }
    s.#attributor = s.#selector ?? live?.owners;
    if (live?.owners) live.capture.onOwners = (hints) => live.owners!.hint(hints);
    return s;
  }

  /** Decodes to the end of input, yielding after each chunk or live batch (for rendering, flushing). */
  async *steps(): AsyncGenerator<void, SessionResult> {
    const { opts } = this;
    const all = [...this.#sinks, ...this.#late];
    for (const s of all) s.bind?.(this);
    const wantsFlows = all.some((s) => s.flow) || this.#attributor !== undefined;
    this.apps.flowNames.enabled = this.apps.flowLabels.enabled = all.some((s) => s.flow);
    const decoder: DecoderConfig = {
      ...opts.decoder,
      packets: opts.decoder.packets ??
        (all.some((s) => s.packet) || this.#attributor ? { payloadMax: 0 } : undefined),
      ...opts.detection?.decoderSettings(),
    };
    const plain = this.#handlers(decoder.appDecoding !== false, wantsFlows);
    const handlers = this.#withLate(opts.detection ? opts.detection.handlers(plain) : plain);
    const batchSinks = this.#sinks.filter((s) => s.batch);
    const sizes = opts.progress ? await fileSizes(opts.files ?? []) : [];
    const total = sizes.reduce((a, b) => a + b, 0);
    /** Progress over all files from one file's, with what is being done to it. */
    const progress = (label: (path: string) => string) =>
      opts.progress &&
      ((path: string, index: number, read: number) =>
        opts.progress!(sizes.slice(0, index).reduce((a, b) => a + b, 0) + read, total, label(path)));
    let decoded: DecodeResult;
    let decoding: AsyncGenerator<void, DecodeResult> | undefined;
    try {
      if (decoder.apps && opts.files?.length) {
        decoder.appMarks = await appMarks(
          opts.files,
          decoder,
          progress((path) => `${path} (finding applications)`),
        );
      }
      const parallel = (opts.workers ?? 1) > 1 && opts.files?.length && !opts.live && !opts.decoders &&
        !all.length && !opts.detection && !this.#attributor;
      decoding = parallel
        ? parallelDecodeSteps({
          files: opts.files!,
          workers: opts.workers!,
          decoder,
          bpf: opts.bpf,
          top: opts.top,
          progress: progress((path) => path),
        }, handlers)
        : decodeSteps({
          files: opts.files ?? [],
          live: opts.live?.capture,
          onBatch: batchSinks.length ? (records) => batchSinks.forEach((s) => s.batch!(records)) : undefined,
          decoder,
          bpf: opts.bpf,
          top: opts.top,
          progress: progress((path) => path),
          decoders: opts.decoders,
        }, handlers);
      for (;;) {
        const step = await decoding.next();
        if (step.done) {
          decoded = step.value;
          break;
        }
        yield;
      }
      opts.detection?.finish();
    } finally {
      // Stopped early (a library caller's break): the file is closed and the decoder freed.
      await decoding?.return(undefined as never);
      for (const s of all) s.close?.();
      this.#selector?.free();
      opts.live?.owners?.close();
    }
    return { report: this.#report(decoded), decoded };
  }

  /** Country and AS of an address, when geoip is on. */
  geoOf(address: string): GeoInfo | null {
    return this.opts.geo?.lookup(address) ?? null;
  }

  /** The processes of an open flow: live attribution's, else those its pcapng comments noted. */
  processesOf(flowId: number): FlowProcesses | null {
    const who = this.#flowOwners.get(flowId);
    if (who) return { owner: who.flow, responder: who.responder };
    const noted = this.#comments.peek(flowId);
    return noted ? { owner: noted, responder: null } : null;
  }

  async run(): Promise<SessionResult> {
    const steps = this.steps();
    for (;;) {
      const step = await steps.next();
      if (step.done) return step.value;
    }
  }

  /** The handlers of the sinks that come before the detectors, with attribution and app layer. */
  #handlers(app: boolean, wantsFlows: boolean): EventHandlers {
    const sinks = this.#sinks;
    const packetSinks = sinks.filter((s) => s.packet);
    const appSinks = sinks.filter((s) => s.app);
    const flowSinks = sinks.filter((s) => s.flow);
    const commentSinks = sinks.filter((s) => s.comment);
    const attributor = this.#attributor;
    const geo = this.opts.geo;
    return {
      comment: (c) => {
        this.processes.addComment(c);
        if (wantsFlows) this.#comments.note(c);
        for (const s of commentSinks) s.comment!(c);
      },
      packet: packetSinks.length || attributor
        ? (p) => {
          const who = attributor ? this.#attribute(attributor, p) : NO_CONTEXT;
          for (const s of packetSinks) s.packet!(p, who);
        }
        : undefined,
      flow: wantsFlows || geo
        ? (f) => {
          if (geo) {
            const packets = f.packetsAtoB + f.packetsBtoA, bytes = f.bytesAtoB + f.bytesBtoA;
            this.#geoTotals!.add(geo.lookup(f.src), geo.lookup(f.dst), packets, bytes);
          }
          if (!wantsFlows) return;
          const view = this.#viewOf(f);
          for (const s of flowSinks) s.flow!(view);
        }
        : undefined,
      app: app
        ? (e) => {
          this.apps.add(e);
          for (const s of appSinks) s.app!(e);
        }
        : undefined,
    };
  }

  #attribute(attributor: Attributor, p: PacketRecord): PacketContext {
    const who = attributor.attribute(p);
    if (p.flowId) this.#flowOwners.set(p.flowId, who);
    // On loopback the packet counts for both: sent by one process, received by the other.
    if (who.packet) this.processes.add(who.packet.process, p.flowId, p.wirelen, who.packet.sent);
    if (who.peer) this.processes.add(who.peer, p.flowId, p.wirelen, false);
    return { direction: attributor.direction(p), owner: who.packet, peer: who.peer };
  }

  /** A flow record with its name and owner, made once for every sink that takes it. */
  #viewOf(f: FlowRecord): FlowView {
    if (this.#view?.record === f) return this.#view;
    let who: Attribution | undefined;
    if (this.#attributor) {
      who = this.#flowOwners.get(f.id);
      this.#flowOwners.delete(f.id);
      this.#attributor.flowEnded(f.id);
    }
    this.#view = {
      record: f,
      serverName: this.apps.flowNames.enabled ? this.apps.flowName(f) : null,
      encryptedDns: this.apps.flowLabels.enabled ? this.apps.flowLabel(f) : null,
      owner: who?.flow ?? this.#comments.take(f.id),
      responder: who?.responder ?? null,
      communityId: flowCommunityId(f, this.opts.communityIdSeed ?? 0),
      srcGeo: this.opts.geo?.lookup(f.src) ?? null,
      dstGeo: this.opts.geo?.lookup(f.dst) ?? null,
    };
    return this.#view;
  }

  /** `inner` followed by the late sinks. */
  #withLate(inner: EventHandlers): EventHandlers {
    const late = this.#late;
    if (!late.length) return inner;
    const flows = late.filter((s) => s.flow), apps = late.filter((s) => s.app);
    return {
      ...inner,
      flow: inner.flow && ((f) => {
        inner.flow!(f);
        const view = this.#viewOf(f);
        for (const s of flows) s.flow!(view);
      }),
      app: inner.app && ((e) => {
        inner.app!(e);
        for (const s of apps) s.app!(e);
      }),
    };
  }

  #report(decoded: DecodeResult): Report {
    const top = this.opts.top ?? 10;
    const report = buildReport(decoded, this.apps, top, this.opts.geo);
    if (this.#geoTotals) {
      report.top_countries = this.#geoTotals.countries(top);
      report.top_as = this.#geoTotals.ases(top);
    }
    const capture = this.opts.live?.capture;
    if (capture) {
      report.processes = this.processes.top(top);
      report.capture = {
        interface: capture.device,
        ...decoded.capture,
        attribution: this.opts.live?.owners?.method ?? "none",
      };
    } else if (this.processes.size) report.processes = this.processes.top(top);
    return report;
  }
}

async function fileSizes(files: CaptureSource[]): Promise<number[]> {
  const sizes: number[] = [];
  for (const f of files) sizes.push(typeof f === "string" ? (await Deno.stat(f)).size : f.bytes.length);
  return sizes;
}
