// Loads the decoder module once per process. The .wasm sits beside its crate; `deno compile`
// embeds it with `--include wasm/wiresight_decoder.wasm` (see deno.json), so the same URL works
// from source and from the single binary.
import { ABI_VERSION } from "./abi.ts";

const WASM_URL = new URL("../../wasm/wiresight_decoder.wasm", import.meta.url);

/** The functions the decoder exports (wasm/ABI.md, "Exported functions"). */
export interface DecoderExports {
  memory: WebAssembly.Memory;
  ws_abi_version(): number;
  ws_new(inputCap: number, outCap: number, maxFlows: number): number;
  ws_free(h: number): void;
  ws_input_ptr(h: number): number;
  ws_input_cap(h: number): number;
  ws_scratch_ptr(h: number): number;
  ws_set_timeouts(h: number, tcpIdle: number, udpIdle: number, closedLinger: number, active: number): void;
  ws_set_conn_tracking(h: number, mode: number): void;
  ws_set_packet_output(h: number, on: number, payloadMax: number): void;
  ws_filter_protocols(h: number, include: number, exclude: number): void;
  ws_filter_add_host(h: number, prefixLen: number, ipver: number): void;
  ws_filter_add_port(h: number, port: number): void;
  ws_filter_no_loopback(h: number, on: number): void;
  ws_filter_app_marks(h: number, first: number, records: number, include: number, exclude: number): number;
  ws_filter_bpf_enable(h: number, on: number): void;
  ws_set_bpf(h: number, linktype: number, count: number): number;
  ws_begin_file(h: number): void;
  ws_feed(h: number, start: number, len: number, eof: number): number;
  ws_status(h: number): number;
  ws_need_linktype(h: number): number;
  ws_error_code(h: number): number;
  ws_error_offset(h: number): number;
  ws_out_ptr(h: number): number;
  ws_out_len(h: number): number;
  ws_out_clear(h: number): void;
  ws_stats_ptr(h: number): number;
  ws_finish(h: number): number;
  ws_set_flow_output(h: number, on: number): void;
  ws_set_known_port(h: number, proto: number, port: number): void;
  ws_top(h: number, table: number, n: number): number;
  ws_set_app_decoding(h: number, on: number): void;
  ws_quic_client_hello(h: number, len: number): number;
  ws_set_flow_start_output(h: number, on: number): void;
  ws_set_host_rates(h: number, windowMs: number, minPackets: number, minSyns: number): void;
  ws_reset(h: number): void;
  ws_set_shard(h: number, index: number, count: number): void;
}

let compiled: Promise<WebAssembly.Module> | undefined;

export function decoderModule(): Promise<WebAssembly.Module> {
  compiled ??= Deno.readFile(WASM_URL).then((bytes) => WebAssembly.compile(bytes));
  return compiled;
}

/** A fresh instance: each decoder gets its own linear memory. */
export async function instantiateDecoder(): Promise<DecoderExports> {
  const instance = await WebAssembly.instantiate(await decoderModule(), {});
  const ex = instance.exports as unknown as DecoderExports;
  const version = ex.ws_abi_version();
  if (version !== ABI_VERSION) {
    throw new Error(
      `decoder ABI ${version} does not match ${ABI_VERSION}: rebuild with 'deno task build:wasm'`,
    );
  }
  return ex;
}
