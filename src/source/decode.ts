// Sources -> decoder: one decoder serves every input file in turn, so flows that cross file
// boundaries (rotated captures) stay one flow; a live capture goes through the same decoder. QUIC
// client Initials are decrypted on the way and their ClientHello goes back to the decoder.
import { Decoder, type DecoderConfig } from "../decoder/decoder.ts";
import type { DecoderPool } from "../decoder/pool.ts";
import type { EventHandlers, InterfaceRecord, InterfaceStatsRecord, TopEntry } from "../decoder/records.ts";
import * as abi from "../decoder/abi.ts";
import { type CaptureSource, decodeFileSteps, type FileOutcome, sourceName } from "./file.ts";
import type { CaptureStats, LiveCapture } from "./live.ts";
import { compileBpf } from "../../ffi/libpcap.ts";
import { QuicDecryptor } from "../app/quic/decrypt.ts";

export interface DecodeOptions {
  files: CaptureSource[];
  /** A live capture instead of files. */
  live?: LiveCapture;
  /** With `live`: each batch of pcap records once its events went out (for writing them). */
  onBatch?(records: Uint8Array): void;
  decoder: DecoderConfig;
  /** A tcpdump-style filter expression, compiled by libpcap per link type. */
  bpf?: string;
  /** Entries in each of the report's top tables (default 10). */
  top?: number;
  /** Called with each file's progress (bytes read of its size). */
  progress?(file: string, index: number, bytesRead: number, size: number): void;
  /** Take the decoder from this pool and give it back after (many inputs in turn), else a new one. */
  decoders?: DecoderPool;
}

export interface DecodeResult {
  stats: Float64Array;
  files: FileOutcome[];
  interfaces: InterfaceRecord[];
  /** The decoder's report tables, most bytes first. */
  top: { hosts: TopEntry[]; pairs: TopEntry[]; services: TopEntry[] };
  /** Names for addresses given by the captures (pcapng NRB), at most MAX_NAMES. */
  names: Map<string, string>;
  /** The last statistics each interface reported (pcapng ISB), by interface id. */
  interfaceStats: Map<number, InterfaceStatsRecord>;
  /** A live capture's libpcap counters, and why it stopped early if it did. */
  capture?: CaptureStats & { error?: string };
}

/** Names kept from name resolution blocks (memory stays bounded whatever the file holds). */
export const MAX_NAMES = 65536;

export async function runDecode(opts: DecodeOptions, handlers: EventHandlers): Promise<DecodeResult> {
  const steps = decodeSteps(opts, handlers);
  for (;;) {
    const step = await steps.next();
    if (step.done) return step.value;
  }
}

/** Decoding as a generator that yields after each decoded chunk or live batch. */
export async function* decodeSteps(
  opts: DecodeOptions,
  handlers: EventHandlers,
): AsyncGenerator<void, DecodeResult> {
  // Flow records cross into JS only when someone takes them: the report's totals stay in WASM.
  const settings: DecoderConfig = {
    ...opts.decoder,
    bpf: opts.bpf !== undefined,
    flowEvents: handlers.flow !== undefined,
  };
  const decoder = opts.decoders ? await opts.decoders.acquire(settings) : await Decoder.create(settings);
  let clean = false;
  const interfaces: InterfaceRecord[] = [];
  const quic = new QuicDecryptor();
  const names = new Map<string, string>();
  const interfaceStats = new Map<number, InterfaceStatsRecord>();
  let format: InterfaceRecord["format"] | undefined;
  const h: EventHandlers = {
    packet: handlers.packet,
    flow: handlers.flow,
    comment: handlers.comment,
    flowStart: handlers.flowStart,
    hostRate: handlers.hostRate,
    raw: handlers.raw,
    // QUIC client Initials are decrypted here and their ClientHello goes back to the decoder's
    // TLS parser; the resulting TLS event arrives with the next drain.
    app: handlers.app && ((e) => {
      if (e.kind === abi.AK_QUIC_INITIAL) quic.handle(e, decoder);
      handlers.app!(e);
    }),
    name: (n) => {
      if (names.size < MAX_NAMES || names.has(n.address)) names.set(n.address, n.name);
      handlers.name?.(n);
    },
    ifaceStats: (st) => {
      interfaceStats.set(st.iface, st);
      handlers.ifaceStats?.(st);
    },
    iface: (i) => {
      interfaces.push(i);
      format ??= i.format;
      handlers.iface?.(i);
    },
  };
  const files: FileOutcome[] = [];
  try {
    let capture: DecodeResult["capture"];
    if (opts.live) {
      const { error } = yield* opts.live.decode(decoder, h, opts.onBatch);
      capture = { ...opts.live.stats, error };
    }
    for (const [index, source] of opts.files.entries()) {
      const path = sourceName(source);
      format = undefined;
      const outcome = yield* decodeFileSteps(source, decoder, h, {
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
    const result = { stats: decoder.stats(), files, interfaces, top, names, interfaceStats, capture };
    clean = true;
    return result;
  } finally {
    if (opts.decoders) opts.decoders.release(decoder, clean);
    else decoder.free();
  }
}
