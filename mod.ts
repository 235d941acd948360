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
import { pipelineSteps, runPipeline } from "./src/pipeline/pipeline.ts";
import { buildReport, type Report } from "./src/report/report.ts";
import { AppSummary } from "./src/app/summary.ts";

export type { FlowRecord, InterfaceRecord, PacketRecord } from "./src/decoder/records.ts";
export type { AppEvent } from "./src/decoder/app_event.ts";
export { type DnsMessage, dnsMessage } from "./src/app/dns/message.ts";
export type { DecoderConfig, FlowTimeouts } from "./src/decoder/decoder.ts";
export type { Report } from "./src/report/report.ts";
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
}

function list(files: string | string[]): string[] {
  return typeof files === "string" ? [files] : files;
}

/** Every decoded packet of the files, in order. Stopping early closes the file. */
export async function* readPackets(
  files: string | string[],
  options: ReadOptions = {},
): AsyncGenerator<PacketRecord> {
  const pending: PacketRecord[] = [];
  const decoder = { ...options.decoder, packets: { payloadMax: options.payloadBytes ?? 0 } };
  const steps = pipelineSteps({ files: list(files), decoder, bpf: options.filter }, {
    packet: (p) => pending.push(p),
  });
  yield* drive(steps, pending);
}

/** Flow records as flows end (FIN/RST, timeouts, end of input). */
export async function* readFlows(
  files: string | string[],
  options: ReadOptions = {},
): AsyncGenerator<FlowRecord> {
  const pending: FlowRecord[] = [];
  const steps = pipelineSteps(
    { files: list(files), decoder: options.decoder ?? {}, bpf: options.filter },
    { flow: (f) => pending.push(f) },
  );
  yield* drive(steps, pending);
}

/** Yields what each pipeline step produced; stopping early ends the pipeline (file closed, decoder freed). */
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
  const apps = new AppSummary();
  const result = await runPipeline(
    { files: list(files), decoder: options.decoder ?? {}, bpf: options.filter, top: options.top },
    { app: (e) => apps.add(e) },
  );
  return buildReport(result, apps, options.top ?? 10);
}
