// source -> decoder -> sinks. One decoder serves every input file in turn, so flows that cross
// file boundaries (rotated captures) stay one flow.
import { Decoder, type DecoderConfig } from "../decoder/decoder.ts";
import type { EventHandlers, InterfaceRecord, TopEntry } from "../decoder/records.ts";
import * as abi from "../decoder/abi.ts";
import { decodeFileSteps, type FileOutcome } from "../source/file.ts";
import { compileBpf } from "../../ffi/libpcap.ts";

export interface PipelineOptions {
  files: string[];
  decoder: DecoderConfig;
  /** A tcpdump-style filter expression, compiled by libpcap per link type. */
  bpf?: string;
  /** Entries in each of the report's top tables (default 10). */
  top?: number;
  /** Called with each file's progress (bytes read of its size). */
  progress?(file: string, index: number, bytesRead: number, size: number): void;
}

export interface PipelineResult {
  stats: Float64Array;
  files: FileOutcome[];
  interfaces: InterfaceRecord[];
  /** The decoder's report tables, most bytes first. */
  top: { hosts: TopEntry[]; pairs: TopEntry[]; services: TopEntry[] };
}

export async function runPipeline(opts: PipelineOptions, handlers: EventHandlers): Promise<PipelineResult> {
  const steps = pipelineSteps(opts, handlers);
  for (;;) {
    const step = await steps.next();
    if (step.done) return step.value;
  }
}

/** The pipeline as a generator that yields after each decoded chunk (see `mod.ts`). */
export async function* pipelineSteps(
  opts: PipelineOptions,
  handlers: EventHandlers,
): AsyncGenerator<void, PipelineResult> {
  // Flow records cross into JS only when someone takes them: the report's totals stay in WASM.
  const decoder = await Decoder.create({
    ...opts.decoder,
    bpf: opts.bpf !== undefined,
    flowEvents: handlers.flow !== undefined,
  });
  const interfaces: InterfaceRecord[] = [];
  let format: InterfaceRecord["format"] | undefined;
  const h: EventHandlers = {
    packet: handlers.packet,
    flow: handlers.flow,
    iface: (i) => {
      interfaces.push(i);
      format ??= i.format;
      handlers.iface?.(i);
    },
  };
  const files: FileOutcome[] = [];
  try {
    for (const [index, path] of opts.files.entries()) {
      format = undefined;
      const outcome = yield* decodeFileSteps(path, decoder, h, {
        needBpf: (linktype) => {
          const program = compileBpf(opts.bpf ?? "", linktype);
          if (!decoder.setBpf(linktype, program)) {
            throw new Error(`libpcap produced a BPF program the decoder rejected (link type ${linktype})`);
          }
        },
        progress: opts.progress && ((read, size) => opts.progress!(path, index, read, size)),
      });
      outcome.format = format;
      files.push(outcome);
    }
    decoder.finish(h);
    const n = opts.top ?? 10;
    const top = {
      hosts: decoder.top(abi.TOP_HOSTS, n),
      pairs: decoder.top(abi.TOP_PAIRS, n),
      services: decoder.top(abi.TOP_SERVICES, n),
    };
    return { stats: decoder.stats(), files, interfaces, top };
  } finally {
    decoder.free();
  }
}
