// TypeScript face of one WASM decoder instance: configure, hand it input, read its events and
// statistics. No per-packet work happens here unless packet records were asked for.
import * as abi from "./abi.ts";
import { parseCidr } from "../base/address.ts";
import type { AppEvent } from "./app_event.ts";
import { dispatchEvents, type EventHandlers, type TopEntry } from "./records.ts";
import { KNOWN_PORTS } from "../flows/services.ts";
import { type DecoderExports, instantiateDecoder } from "./wasm.ts";
import { setF64, setU16, setU32, setU8 } from "./layout.ts";

export interface FlowTimeouts {
  /** Seconds; 0 disables. */
  tcpIdle: number;
  udpIdle: number;
  closedLinger: number;
  active: number;
}

export const DEFAULT_TIMEOUTS: FlowTimeouts = { tcpIdle: 300, udpIdle: 60, closedLinger: 5, active: 1800 };

export interface DecoderConfig {
  /** Input buffer size: four parts (carry A, A, carry B, B) of 1-4 MiB, read straight into WASM memory. */
  inputBytes?: number;
  outBytes?: number;
  maxFlows?: number;
  timeouts?: FlowTimeouts;
  /** Emit a record per packet, with up to `payloadMax` payload bytes. */
  packets?: { payloadMax: number };
  protocols?: { include: number; exclude: number };
  /**
   * Application protocols (APP_*) in the protocol lists. The decoder cannot tell a packet's
   * application before its flow's first payload: the session turns these into `appMarks`
   * (files) or holds packets until their flow's application is known (live capture).
   */
  apps?: { include: number[]; exclude: number[] };
  /** APP_MARK_* per capture record, four a byte (wasm/ABI.md, "Application marks"). */
  appMarks?: AppMarks;
  hosts?: string[];
  ports?: number[];
  noLoopback?: boolean;
  /** A BPF filter is in use: programs are installed per link type on demand. */
  bpf?: boolean;
  /** Emit flow records (the report's totals are kept either way). */
  flowEvents?: boolean;
  /** Decode application-layer metadata (default true). */
  appDecoding?: boolean;
  /** Emit a flow-start record as each flow is created (the detection engine's live signal). */
  flowStarts?: boolean;
  /** Flow records carry Zeek's view of each connection (conn_state, history, IP bytes: `FlowRecord.conn`). */
  connTracking?: boolean;
  /** With connTracking: TCP and UDP checksums checked as Zeek does by default (a packet with a
   * wrong one is left out of its connection, history C); off is `zeek -C`, right for captures
   * of the local machine, whose outgoing checksums the NIC fills in. */
  zeekChecksums?: boolean;
  /** Per-host packet counts per window; hosts over a threshold get a host-rate record. */
  hostRates?: { windowMs: number; minPackets: number; minSyns: number };
  /** Parallel decoding: decode only share `index` of `count` (wasm/ABI.md, "Parallel decoding"). */
  shard?: { index: number; count: number };
}

export interface AppMarks {
  marks: Uint8Array;
  /** Applications were named in the include list (marked records pass it), in the exclude list. */
  include: boolean;
  exclude: boolean;
}

/** The decoder's buffers and flow table do not fit in memory. */
export class DecoderMemoryError extends Error {}

export const DEFAULT_INPUT_BYTES = 4 * (2 << 20);
export const DEFAULT_MAX_FLOWS = 262144;

export class Decoder {
  readonly #ex: DecoderExports;
  readonly #h: number;
  #buffer: ArrayBufferLike | null = null;
  #u8: Uint8Array = new Uint8Array(0);
  #dv: DataView = new DataView(new ArrayBuffer(0));
  /** Event header + ClientHello of each hello from `quicClientHello` not yet written. */
  readonly #hellos: Uint8Array[] = [];

  /** The buffer sizes it was created with (a reset keeps them). */
  readonly sizes: string;

  private constructor(ex: DecoderExports, h: number, sizes: string) {
    this.#ex = ex;
    this.#h = h;
    this.sizes = sizes;
  }

  /** The buffer sizes a decoder created with CFG has, as one comparable key. */
  static sizesOf(cfg: DecoderConfig): string {
    return [cfg.inputBytes ?? DEFAULT_INPUT_BYTES, cfg.outBytes ?? 4 << 20, cfg.maxFlows ?? DEFAULT_MAX_FLOWS]
      .join(" ");
  }

  static async create(cfg: DecoderConfig = {}): Promise<Decoder> {
    const ex = await instantiateDecoder();
    const h = ex.ws_new(
      cfg.inputBytes ?? DEFAULT_INPUT_BYTES,
      cfg.outBytes ?? 4 << 20,
      cfg.maxFlows ?? DEFAULT_MAX_FLOWS,
    );
    if (h === 0) {
      throw new DecoderMemoryError(
        `the decoder cannot hold ${
          cfg.maxFlows ?? DEFAULT_MAX_FLOWS
        } flows in its 2 GiB budget: lower --max-flows ` +
          `(each flow takes about 200 bytes)`,
      );
    }
    const d = new Decoder(ex, h, Decoder.sizesOf(cfg));
    d.#configure(cfg);
    return d;
  }

  /**
   * Back to the state `create` leaves, with the settings of CFG (whose sizes must be this
   * decoder's), keeping its memory (wasm/ABI.md, ws_reset): creating one zeroes ~10 MiB.
   */
  reset(cfg: DecoderConfig): void {
    if (Decoder.sizesOf(cfg) !== this.sizes) {
      throw new Error("a decoder reset cannot change its buffer sizes");
    }
    this.#ex.ws_reset(this.#h);
    this.#hellos.length = 0;
    this.#configure(cfg);
  }

  #configure(cfg: DecoderConfig): void {
    const ex = this.#ex, h = this.#h;
    const t = cfg.timeouts ?? DEFAULT_TIMEOUTS;
    ex.ws_set_timeouts(h, t.tcpIdle, t.udpIdle, t.closedLinger, t.active);
    if (cfg.packets) ex.ws_set_packet_output(h, 1, cfg.packets.payloadMax);
    if (cfg.connTracking) {
      ex.ws_set_conn_tracking(h, abi.CONN_MODE_ON | (cfg.zeekChecksums ? abi.CONN_MODE_CHECKSUMS : 0));
    }
    if (cfg.protocols) ex.ws_filter_protocols(h, cfg.protocols.include, cfg.protocols.exclude);
    if (cfg.appMarks) this.setAppMarks(0, cfg.appMarks);
    for (const host of cfg.hosts ?? []) {
      const c = parseCidr(host);
      if (!c) throw new Error(`not an IP address or CIDR: ${host}`);
      this.#mem().set(c.bytes, ex.ws_scratch_ptr(h));
      ex.ws_filter_add_host(h, c.prefix, c.ipVersion);
    }
    for (const port of cfg.ports ?? []) ex.ws_filter_add_port(h, port);
    if (cfg.noLoopback) ex.ws_filter_no_loopback(h, 1);
    if (cfg.bpf) ex.ws_filter_bpf_enable(h, 1);
    ex.ws_set_flow_output(h, cfg.flowEvents === false ? 0 : 1);
    ex.ws_set_app_decoding(h, cfg.appDecoding === false ? 0 : 1);
    ex.ws_set_flow_start_output(h, cfg.flowStarts ? 1 : 0);
    if (cfg.hostRates) {
      const r = cfg.hostRates;
      ex.ws_set_host_rates(h, r.windowMs, r.minPackets, r.minSyns);
    }
    for (const [proto, port] of KNOWN_PORTS) ex.ws_set_known_port(h, proto, port);
    if (cfg.shard) ex.ws_set_shard(h, cfg.shard.index, cfg.shard.count);
  }

  /** Marks for the records from `first` on (their index over all input fed), replacing those before. */
  setAppMarks(first: number, m: AppMarks): void {
    const records = m.marks.length * 4;
    const ptr = this.#ex.ws_filter_app_marks(this.#h, first, records, m.include ? 1 : 0, m.exclude ? 1 : 0);
    if (ptr === 0) {
      throw new DecoderMemoryError(`the application marks of ${records} packets do not fit in memory`);
    }
    this.#mem().set(m.marks, ptr);
  }

  /** The memory view, re-created when the instance's memory grew (its buffer is replaced). */
  #mem(): Uint8Array {
    const buf = this.#ex.memory.buffer;
    if (buf !== this.#buffer) {
      this.#buffer = buf;
      this.#u8 = new Uint8Array(buf);
      this.#dv = new DataView(buf);
    }
    return this.#u8;
  }

  /** The input buffer: read capture bytes straight into it, then call `feed`. */
  input(): Uint8Array {
    const mem = this.#mem();
    const ptr = this.#ex.ws_input_ptr(this.#h);
    return mem.subarray(ptr, ptr + this.#ex.ws_input_cap(this.#h));
  }

  beginFile(): void {
    this.#ex.ws_begin_file(this.#h);
  }

  /** Decodes complete records in input[start, start + len); returns the bytes consumed. */
  feed(start: number, len: number, eof: boolean): number {
    return this.#ex.ws_feed(this.#h, start, len, eof ? 1 : 0);
  }

  status(): number {
    return this.#ex.ws_status(this.#h);
  }

  neededLinktype(): number {
    return this.#ex.ws_need_linktype(this.#h);
  }

  error(): { code: number; offset: number } {
    return { code: this.#ex.ws_error_code(this.#h), offset: this.#ex.ws_error_offset(this.#h) };
  }

  /** Installs a libpcap-compiled program (8-byte bpf_insn each) for one link type. */
  setBpf(linktype: number, insns: Uint8Array): boolean {
    if (insns.length % abi.BPF_INSN_BYTES !== 0 || insns.length > abi.SCRATCH_BYTES) return false;
    this.#mem().set(insns, this.#ex.ws_scratch_ptr(this.#h));
    return this.#ex.ws_set_bpf(this.#h, linktype, insns.length / abi.BPF_INSN_BYTES) === 0;
  }

  /**
   * Hands every waiting event to its handler and empties the buffer; then the ClientHellos
   * handed over during it (`quicClientHello`) go in and out the same way.
   */
  drain(handlers: EventHandlers): void {
    do {
      const len = this.#ex.ws_out_len(this.#h);
      if (len === 0) continue;
      this.#mem();
      const ptr = this.#ex.ws_out_ptr(this.#h);
      dispatchEvents(this.#u8, this.#dv, ptr, ptr + len, handlers);
      this.#ex.ws_out_clear(this.#h);
    } while (this.#writeHellos());
  }

  /**
   * A ClientHello decrypted from QUIC Initials, to come back as an AK_TLS_CLIENT_HELLO event
   * (F_TLS_QUIC = 1) of the Initial `e` with the next drain. Queued: this is called while a drain
   * walks the event buffer, which a decoder call must not change.
   */
  quicClientHello(e: AppEvent, hello: Uint8Array): void {
    const addr = (a: string) => parseCidr(a)?.bytes ?? new Uint8Array(16);
    const m = new Uint8Array(abi.AP_DATA.at + hello.length);
    const dv = new DataView(m.buffer);
    setF64(dv, 0, abi.AP_FLOW_ID, e.flowId);
    setF64(dv, 0, abi.AP_TS_SEC, e.tsSec);
    setU32(dv, 0, abi.AP_TS_NSEC, e.tsNsec);
    setF64(dv, 0, abi.AP_FRAME, e.frame);
    setU8(dv, 0, abi.AP_IPVER, e.ipVersion === 6 ? abi.L3_IPV6 : abi.L3_IPV4);
    setU16(dv, 0, abi.AP_SPORT, e.srcPort);
    setU16(dv, 0, abi.AP_DPORT, e.dstPort);
    m.set(addr(e.src), abi.AP_SRC.at);
    m.set(addr(e.dst), abi.AP_DST.at);
    m.set(hello, abi.AP_DATA.at);
    if (m.length <= abi.SCRATCH_BYTES) this.#hellos.push(m);
  }

  /** Writes queued ClientHellos into the event buffer; true if any went in. */
  #writeHellos(): boolean {
    let wrote = false;
    while (this.#hellos.length) {
      const m = this.#hellos[0];
      this.#mem().set(m, this.#ex.ws_scratch_ptr(this.#h));
      // 1: the buffer is full; the rest waits for the dispatch this makes happen.
      const r = this.#ex.ws_quic_client_hello(this.#h, m.length - abi.AP_DATA.at);
      if (r === 1) return wrote;
      this.#hellos.shift();
      wrote ||= r === 0;
    }
    return wrote;
  }

  /** Emits every flow still open (end of input), draining as the buffer fills. */
  finish(handlers: EventHandlers): void {
    while (this.#ex.ws_finish(this.#h) === 1) this.drain(handlers);
    this.drain(handlers);
  }

  /** The top `n` entries of a report table (abi.TOP_HOSTS, TOP_PAIRS, TOP_SERVICES), most bytes first. */
  top(table: number, n: number): TopEntry[] {
    const entries: TopEntry[] = [];
    this.drain({});
    this.#ex.ws_top(this.#h, table, n);
    this.drain({ top: (t) => entries.push(t) });
    return entries;
  }

  /** Bytes of WebAssembly memory the decoder holds (it only grows: a reused decoder's leak shows here). */
  memoryBytes(): number {
    return this.#ex.memory.buffer.byteLength;
  }

  /** A copy of the counters (wasm/ABI.md, "Statistics"). */
  stats(): Float64Array {
    const mem = this.#mem();
    const ptr = this.#ex.ws_stats_ptr(this.#h);
    return new Float64Array(mem.buffer.slice(ptr, ptr + abi.STATS_LEN * 8));
  }

  free(): void {
    this.#ex.ws_free(this.#h);
  }
}
