/**
 * wiresight as a library: read pcap/pcapng files through the WASM decoder and iterate packets
 * and flows, or build the same report as `wiresight read`.
 *
 * ```ts
 * import { analyze, readFlows, readPackets } from "./mod.ts";
 *
 * for await (const p of readPackets("capture.pcapng")) {
 *   if (p.protocol === "TCP" && p.dstPort === 443) console.log(p.src, "->", p.dst);
 * }
 * for await (const f of readFlows(["a.pcap", "b.pcap"])) console.log(f.src, f.dst, f.bytesAtoB + f.bytesBtoA);
 * const report = await analyze("capture.pcapng");
 * console.log(report.packets, report.top_talkers[0]);
 * ```
 * @module
 */
import type { DecoderConfig } from "./src/decoder/decoder.ts";
import type { FlowRecord, PacketRecord } from "./src/decoder/records.ts";
import type { GeoInfo } from "./src/enrich/geo.ts";
import { Session } from "./src/pipeline/session.ts";
import type { ProcessNote } from "./src/proc/process.ts";
import type { Report } from "./src/report/report.ts";

export type { FlowRecord, InterfaceRecord, PacketRecord } from "./src/decoder/records.ts";
export type { AppEvent } from "./src/decoder/app_event.ts";
export { type DnsMessage, dnsMessage } from "./src/app/dns/message.ts";
export type { DecoderConfig, FlowTimeouts } from "./src/decoder/decoder.ts";
export type { Report } from "./src/report/report.ts";
export type { ProcessNote } from "./src/proc/process.ts";
export { DEFAULT_TIMEOUTS } from "./src/decoder/decoder.ts";
export { CaptureOpenError } from "./src/source/file.ts";
export { VERSION } from "./src/version.ts";

export interface ReadOptions {
  /** Decoder settings: filters (protocols, hosts, ports, noLoopback), flow timeouts, max flows. */
  decoder?: DecoderConfig;
  /** A tcpdump-style BPF expression (needs libpcap). */
  filter?: string;
  /** Payload bytes to keep per packet record (default 0). */
  payloadBytes?: number;
  /** Country and AS from the bundled databases, as `read` gives them (default false). */
  geoip?: boolean;
}

/** Loaded only when asked for: the databases are npm packages this project's deno.json maps. */
const geoOf = async (options: ReadOptions) =>
  options.geoip ? (await import("./src/enrich/geo.ts")).GeoIp.bundled() : null;

function list(files: string | string[]): string[] {
  return typeof files === "string" ? [files] : files;
}

/** Every decoded packet of the files, in order. Stopping early closes the file. */
export async function* readPackets(
  files: string | string[],
  options: ReadOptions = {},
): AsyncGenerator<PacketRecord> {
  const pending: PacketRecord[] = [];
  const session = await Session.open({
    files: list(files),
    decoder: { ...options.decoder, packets: { payloadMax: options.payloadBytes ?? 0 } },
    bpf: options.filter,
    sinks: [{ packet: (p) => pending.push(p) }],
  });
  yield* drive(session.steps(), pending);
}

/** A flow record with the name it is known by and its process, as `read --export-type flows` gives them. */
export interface NamedFlow extends FlowRecord {
  /** TLS/QUIC SNI or HTTP Host, else the DNS name that resolved the responder. */
  serverName: string | null;
  /** The process a wiresight pcapng noted for the flow. */
  process: ProcessNote | null;
  /** Community ID v1 (seed 0). */
  communityId: string;
  /** Country and AS of each end (null unless `geoip: true`). */
  srcGeo: GeoInfo | null;
  dstGeo: GeoInfo | null;
}

/** Flow records as flows end (FIN/RST, timeouts, end of input). */
export async function* readFlows(
  files: string | string[],
  options: ReadOptions = {},
): AsyncGenerator<NamedFlow> {
  const pending: NamedFlow[] = [];
  const session = await Session.open({
    files: list(files),
    decoder: options.decoder ?? {},
    bpf: options.filter,
    geo: await geoOf(options),
    sinks: [{
      flow: (v) =>
        pending.push({
          ...v.record,
          serverName: v.serverName,
          process: v.owner,
          communityId: v.communityId,
          srcGeo: v.srcGeo ?? null,
          dstGeo: v.dstGeo ?? null,
        }),
    }],
  });
  yield* drive(session.steps(), pending);
}

/** Yields what each session step produced; stopping early ends the session (file closed, decoder freed). */
async function* drive<T>(steps: AsyncGenerator<void, unknown>, pending: T[]): AsyncGenerator<T> {
  try {
    for (;;) {
      const step = await steps.next();
      yield* pending.splice(0);
      if (step.done) return;
    }
  } finally {
    await steps.return(undefined);
  }
}

/** The report `wiresight read --report json` prints. */
export async function analyze(
  files: string | string[],
  options: ReadOptions & { top?: number } = {},
): Promise<Report> {
  const session = await Session.open({
    files: list(files),
    decoder: options.decoder ?? {},
    bpf: options.filter,
    top: options.top,
    geo: await geoOf(options),
  });
  return (await session.run()).report;
}
