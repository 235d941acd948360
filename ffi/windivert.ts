// WinDivert 2.2 through Deno FFI: the library, its FLOW-layer events (which process opened which
// connection) and NETWORK-layer sniffing (packets as raw IP). Layouts and prototypes from
// basil00/WinDivert@9710107 (v2.2.0-11) include/windivert.h (file:line at each). The DLL and its driver
// (WinDivert64.sys beside it) are the user's to install; untested on a real Windows system.
import { kernel32, waitForEvent } from "./win32.ts";

/** windivert.h:77,79 WINDIVERT_LAYER. */
export const WINDIVERT_LAYER_NETWORK = 0;
export const WINDIVERT_LAYER_FLOW = 2;
/** windivert.h:175-178 WINDIVERT_EVENT. */
export const WINDIVERT_EVENT_NETWORK_PACKET = 0;
export const WINDIVERT_EVENT_FLOW_ESTABLISHED = 1;
export const WINDIVERT_EVENT_FLOW_DELETED = 2;
/** windivert.h:191,193 flags: a copy of each packet or event, never diverted, never sent. */
export const WINDIVERT_FLAG_SNIFF = 0x0001n;
export const WINDIVERT_FLAG_RECV_ONLY = 0x0004n;
/** windivert.h:326: the most addresses one WinDivertRecvEx fills. */
export const WINDIVERT_BATCH_MAX = 0xff;
/** windivert.h:327: the largest packet WinDivert hands over. */
export const WINDIVERT_MTU_MAX = 40 + 0xffff;

export const WINDIVERT_SYMBOLS = {
  // windivert.h:229 HANDLE WinDivertOpen(const char *filter, WINDIVERT_LAYER layer,
  //   INT16 priority, UINT64 flags)
  WinDivertOpen: { parameters: ["buffer", "i32", "i16", "u64"], result: "pointer" },
  // windivert.h:248 BOOL WinDivertRecvEx(HANDLE, VOID *pPacket, UINT packetLen, UINT *pRecvLen,
  //   UINT64 flags, WINDIVERT_ADDRESS *pAddr, UINT *pAddrLen, LPOVERLAPPED)
  WinDivertRecvEx: {
    parameters: ["pointer", "buffer", "u32", "buffer", "u64", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  // windivert.h:291 BOOL WinDivertClose(HANDLE handle)
  WinDivertClose: { parameters: ["pointer"], result: "i32" },
} as const;

type WinDivert = Deno.DynamicLibrary<typeof WINDIVERT_SYMBOLS>["symbols"];

/** WinDivert is not installed or cannot run here. */
export class WinDivertUnavailableError extends Error {}

export const WINDIVERT_INSTALL_HINT = "download WinDivert 2.2 (https://reqrypt.org/windivert.html or " +
  "github.com/basil00/WinDivert/releases), put WinDivert.dll and WinDivert64.sys in a folder on PATH " +
  "or set WIRESIGHT_WINDIVERT to that folder or to WinDivert.dll, and run wiresight as Administrator";

/** Where WinDivert.dll is looked for: WIRESIGHT_WINDIVERT (a folder or the DLL), else PATH. */
export function winDivertPath(override: string | undefined): string {
  if (!override) return "WinDivert.dll";
  return /\.dll$/i.test(override) ? override : `${override.replace(/[\\/]+$/, "")}\\WinDivert.dll`;
}

let loaded: WinDivert | undefined;

function winDivert(): WinDivert {
  if (loaded) return loaded;
  const path = winDivertPath(Deno.env.get("WIRESIGHT_WINDIVERT"));
  try {
    loaded = Deno.dlopen(path, WINDIVERT_SYMBOLS).symbols;
    return loaded;
  } catch (e) {
    const why = (e as Error).message.split("\n")[0];
    throw new WinDivertUnavailableError(
      `WinDivert is not available (${path}: ${why}): ${WINDIVERT_INSTALL_HINT}`,
    );
  }
}

/** windivert.h:142-165 WINDIVERT_ADDRESS: 8 + 4 + 4 + a 64-byte union. */
export const WINDIVERT_ADDRESS_BYTES = 80;
const UNION_AT = 16;

/** One WINDIVERT_ADDRESS, with its FLOW-layer data when it is a flow event. */
export interface WinDivertAddress {
  /** Performance-counter ticks. */
  timestamp: bigint;
  layer: number;
  event: number;
  outbound: boolean;
  loopback: boolean;
  ipv6: boolean;
  flow: WinDivertFlow | null;
}

/** windivert.h:96-106 WINDIVERT_DATA_FLOW. */
export interface WinDivertFlow {
  endpointId: bigint;
  processId: number;
  /** Network-order bytes: 4 for IPv4, 16 for IPv6. */
  local: Uint8Array;
  remote: Uint8Array;
  localPort: number;
  remotePort: number;
  protocol: number;
}

/**
 * Decodes the address at `at`. The bit-fields (windivert.h:145-153) fill a UINT32 from its least
 * significant bit, as MSVC and GCC allocate them on little-endian x86: Layer 0-7, Event 8-15,
 * Sniffed 16, Outbound 17, Loopback 18, Impostor 19, IPv6 20.
 */
export function decodeWinDivertAddress(view: DataView, at: number): WinDivertAddress {
  const bits = view.getUint32(at + 8, true);
  const layer = bits & 0xff;
  const event = (bits >>> 8) & 0xff;
  return {
    timestamp: view.getBigInt64(at, true),
    layer,
    event,
    outbound: (bits & (1 << 17)) !== 0,
    loopback: (bits & (1 << 18)) !== 0,
    ipv6: (bits & (1 << 20)) !== 0,
    flow: layer === WINDIVERT_LAYER_FLOW ? decodeFlow(view, at + UNION_AT) : null,
  };
}

function decodeFlow(view: DataView, at: number): WinDivertFlow {
  return {
    endpointId: view.getBigUint64(at, true),
    processId: view.getUint32(at + 16, true),
    local: flowAddress(view, at + 20),
    remote: flowAddress(view, at + 36),
    localPort: view.getUint16(at + 52, true),
    remotePort: view.getUint16(at + 54, true),
    protocol: view.getUint8(at + 56),
  };
}

/**
 * UINT32 Addr[4] holds the address as one 128-bit little-endian number (Addr[3] most
 * significant), IPv4 as ::ffff:a.b.c.d (dll/windivert_helper.c:3591 formats it that way): its
 * network-order bytes are the 16 bytes reversed.
 */
function flowAddress(view: DataView, at: number): Uint8Array {
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = view.getUint8(at + 15 - i);
  const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  return mapped ? b.slice(12) : b;
}

const INVALID_HANDLE_VALUE = 0xffff_ffff_ffff_ffffn;
const ERROR_IO_INCOMPLETE = 996;
const ERROR_IO_PENDING = 997;
/** OVERLAPPED on 64-bit Windows: Internal, InternalHigh, Offset/OffsetHigh, hEvent (8 each). */
const OVERLAPPED_BYTES = 32;
const OVERLAPPED_EVENT_AT = 24;

/**
 * A sniffing, receive-only WinDivert handle read without blocking: one overlapped receive is
 * always outstanding, and `poll` collects what it got (nothing when it has not finished), so a
 * synchronous loop (the capture worker's) can drain it between packets.
 */
export class WinDivertHandle {
  readonly #lib = winDivert();
  readonly #handle: Deno.PointerObject;
  readonly #event: Deno.PointerObject;
  readonly #overlapped = new Uint8Array(OVERLAPPED_BYTES);
  readonly #packets: Uint8Array;
  readonly #packetLength = new Uint32Array(1);
  readonly #addresses = new Uint8Array(WINDIVERT_BATCH_MAX * WINDIVERT_ADDRESS_BYTES);
  readonly #addressLength = new Uint32Array(1);
  readonly #transferred = new Uint32Array(1);
  #pending = false;

  /** `filter` in WinDivert's filter language; `packetBytes` 0 for the FLOW layer (no packets). */
  constructor(filter: string, layer: number, packetBytes: number) {
    const k = kernel32();
    const h = this.#lib.WinDivertOpen(
      new TextEncoder().encode(filter + "\0"),
      layer,
      0,
      WINDIVERT_FLAG_SNIFF | WINDIVERT_FLAG_RECV_ONLY,
    );
    if (!h || Deno.UnsafePointer.value(h) === INVALID_HANDLE_VALUE) {
      throw new WinDivertUnavailableError(
        `WinDivertOpen failed (Windows error ${k.GetLastError()}; 5 is access denied: run as ` +
          `Administrator; 2 means WinDivert64.sys is not beside WinDivert.dll): ${WINDIVERT_INSTALL_HINT}`,
      );
    }
    this.#handle = h;
    const event = k.CreateEventW(null, 1, 0, null);
    if (!event) throw new WinDivertUnavailableError(`CreateEventW failed (${k.GetLastError()})`);
    this.#event = event;
    new DataView(this.#overlapped.buffer).setBigUint64(
      OVERLAPPED_EVENT_AT,
      Deno.UnsafePointer.value(event) as bigint,
      true,
    );
    this.#packets = new Uint8Array(packetBytes);
  }

  /**
   * What the last receive got, once it finished: the addresses (and the packets' bytes, back to
   * back, for the NETWORK layer); null while it is still pending. A new receive is then started.
   */
  poll(): { addresses: DataView; count: number; packets: Uint8Array } | null {
    const k = kernel32();
    if (!this.#pending) {
      this.#addressLength[0] = this.#addresses.length;
      const ok = this.#lib.WinDivertRecvEx(
        this.#handle,
        this.#packets.length ? this.#packets : null,
        this.#packets.length,
        new Uint8Array(this.#packetLength.buffer),
        0n,
        this.#addresses,
        new Uint8Array(this.#addressLength.buffer),
        this.#overlapped,
      );
      if (!ok) {
        const error = k.GetLastError();
        if (error !== ERROR_IO_PENDING) throw new Error(`WinDivertRecvEx failed (Windows error ${error})`);
        this.#pending = true;
        return null;
      }
      this.#transferred[0] = this.#packetLength[0];
    } else {
      const done = k.GetOverlappedResult(
        this.#handle,
        this.#overlapped,
        new Uint8Array(this.#transferred.buffer),
        0,
      );
      if (!done) {
        const error = k.GetLastError();
        if (error === ERROR_IO_INCOMPLETE) return null;
        throw new Error(`WinDivert receive failed (Windows error ${error})`);
      }
      this.#pending = false;
    }
    const count = Math.floor(this.#addressLength[0] / WINDIVERT_ADDRESS_BYTES);
    return {
      addresses: new DataView(this.#addresses.buffer, 0, count * WINDIVERT_ADDRESS_BYTES),
      count,
      packets: this.#packets.subarray(0, this.#transferred[0]),
    };
  }

  /** Waits up to `ms` for the outstanding receive to finish; true when it has. */
  wait(ms: number): boolean {
    return !this.#pending || waitForEvent(this.#event, ms);
  }

  close(): void {
    this.#lib.WinDivertClose(this.#handle);
    kernel32().CloseHandle(this.#event);
  }
}
