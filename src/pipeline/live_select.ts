// The capture filters that neither libpcap nor the decoder can apply: the packet's direction (from
// this machine's addresses), its process, and the packet count. Each batch is decoded first by a
// light classifier decoder (the same decoder filters, no application layer); only the records it
// keeps go on to the main decoder, so the report, the exports, the terminal and the pcapng all
// hold exactly the same packets.
import { Decoder, type DecoderConfig } from "../decoder/decoder.ts";
import type { PacketRecord } from "../decoder/records.ts";
import type { ProcessInfo } from "../proc/process.ts";
import type { Attribution, Attributor, Direction, FlowOwners } from "../proc/owners.ts";
import { Records } from "../source/framing.ts";
import { feedRecords } from "../source/live.ts";

export interface SelectRules {
  direction?: Direction;
  /** Whether a process is wanted (--process, --process-name). */
  process?: (p: ProcessInfo) => boolean;
  /** Keep at most this many packets, then call `stop`. */
  count?: number;
}

const UNATTRIBUTED: Attribution = { packet: null, peer: null, flow: null, responder: null };

/** The kernel keeps a process's name (comm) to its first 15 bytes. */
const COMM_LENGTH = 15;

/**
 * Whether a process matches --process (executables, or directories of them: `paths` resolved)
 * and --process-name (a longer name matches the kernel's cut of it).
 */
export function processMatcher(paths: string[], names: string[]): ((p: ProcessInfo) => boolean) | undefined {
  if (!paths.length && !names.length) return undefined;
  const dirs = paths.map((p) => p.replace(/\/+$/, "") + "/");
  const comms = names.map((n) => n.slice(0, COMM_LENGTH));
  return (p) =>
    (!comms.length || comms.includes(p.name)) &&
    (!paths.length || (p.exe !== null && (paths.includes(p.exe) || dirs.some((d) => p.exe!.startsWith(d)))));
}

export class PacketSelector implements Attributor {
  /** Attribution of the records kept so far, by their frame number in the main decoder. */
  readonly #kept = new Map<number, Attribution>();
  #keptTotal = 0;
  /** Start and end of each record of the batch being classified, by its classifier frame number. */
  #bounds: number[] = [];
  #firstFrame = 1;
  #out = new Uint8Array(0);
  #outLength = 0;
  #batch: Uint8Array = new Uint8Array(0);

  private constructor(
    private readonly decoder: Decoder,
    private readonly owners: FlowOwners,
    private readonly rules: SelectRules,
    private readonly stop: () => void,
  ) {}

  /** A selector for a capture whose records follow `fileHeader`. */
  static async create(
    config: DecoderConfig,
    fileHeader: Uint8Array,
    owners: FlowOwners,
    rules: SelectRules,
    stop: () => void,
  ): Promise<PacketSelector> {
    const decoder = await Decoder.create({
      ...config,
      packets: { payloadMax: 0 },
      appDecoding: false,
      flowEvents: true,
      flowStarts: false,
      hostRates: undefined,
    });
    const s = new PacketSelector(decoder, owners, rules, stop);
    decoder.beginFile();
    feedRecords(decoder, fileHeader, false, {});
    return s;
  }

  /** The records of `batch` that pass, as pcap records (a view valid until the next call). */
  select = (batch: Uint8Array): Uint8Array => {
    this.#kept.clear();
    this.#batch = batch;
    this.#bounds = [];
    for (const r = new Records(batch); r.next();) this.#bounds.push(r.start, r.end);
    if (this.#out.length < batch.length) this.#out = new Uint8Array(batch.length);
    this.#outLength = 0;
    feedRecords(this.decoder, batch, false, {
      packet: (p) => this.#classify(p),
      flow: (f) => this.owners.flowEnded(f.id),
    });
    this.#firstFrame += this.#bounds.length / 2;
    return this.#out.subarray(0, this.#outLength);
  };

  direction(p: PacketRecord): Direction {
    return this.owners.direction(p);
  }

  /** The attribution the classifier gave the kept record (by its frame number in the main decoder). */
  attribute(p: PacketRecord): Attribution {
    return this.#kept.get(p.frame) ?? UNATTRIBUTED;
  }

  /** The classifier's own decoder ends flows and forgets their owners. */
  flowEnded(): void {}

  #classify(p: PacketRecord): void {
    const r = this.rules;
    if (r.count !== undefined && this.#keptTotal >= r.count) return;
    if (r.direction && this.owners.direction(p) !== r.direction) return;
    const who = this.owners.attribute(p);
    // A packet belongs to the processes at both of its ends (two of them on loopback).
    if (r.process && ![who.packet?.process, who.peer].some((x) => x && r.process!(x))) return;
    const i = 2 * (p.frame - this.#firstFrame);
    const off = this.#bounds[i], end = this.#bounds[i + 1];
    this.#out.set(this.#batch.subarray(off, end), this.#outLength);
    this.#outLength += end - off;
    this.#kept.set(++this.#keptTotal, who);
    if (r.count !== undefined && this.#keptTotal >= r.count) this.stop();
  }

  free(): void {
    this.decoder.free();
  }
}
