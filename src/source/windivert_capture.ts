// Capture through WinDivert on Windows when Npcap is absent (`--backend windivert`): a NETWORK-
// layer handle sniffs every interface's IP packets (no link header) without diverting them; they
// reach the capture loop as libpcap's would, as raw-IP records behind a Windows pcap_pkthdr kept
// here. Untested on a real Windows system.
import { CaptureError, type LiveOptions, type PacketHandle } from "../../ffi/libpcap.ts";
import { PKTHDR } from "../../ffi/platform.ts";
import { performanceCounter } from "../../ffi/win32.ts";
import {
  WINDIVERT_ADDRESS_BYTES,
  WINDIVERT_LAYER_NETWORK,
  WINDIVERT_MTU_MAX,
  WinDivertHandle,
  WinDivertUnavailableError,
} from "../../ffi/windivert.ts";

/** LINKTYPE_RAW: packets start with their IP header. */
const LINKTYPE_RAW = 101;
/** What one receive may bring (WinDivert packs as many whole packets as fit). */
const BATCH_BYTES = 1 << 20;

/**
 * The lengths of the IP packets WinDivertRecvEx put back to back in `bytes`, from their own
 * headers (IPv4 total length, IPv6 40 + payload length); a packet claiming more than is left ends
 * the list there.
 */
export function splitPackets(bytes: Uint8Array, count: number): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let at = 0; out.length < count && at + 20 <= bytes.length;) {
    const version = bytes[at] >> 4;
    const length = version === 4 ? v.getUint16(at + 2) : version === 6 ? 40 + v.getUint16(at + 4) : 0;
    if (length < 20 || at + length > bytes.length) break;
    out.push(length);
    at += length;
  }
  return out;
}

/** The epoch time of a performance-counter reading, from one taken beside Date.now(). */
export function counterTime(
  ticks: bigint,
  base: { ticks: bigint; perSecond: bigint; epochMs: number },
): { sec: number; usec: number } {
  const us = BigInt(base.epochMs) * 1000n + (ticks - base.ticks) * 1_000_000n / base.perSecond;
  return { sec: Number(us / 1_000_000n), usec: Number(us % 1_000_000n) };
}

export class WinDivertCapture implements PacketHandle {
  readonly warnings: string[] = [];
  readonly linktype = LINKTYPE_RAW;
  readonly snaplen = WINDIVERT_MTU_MAX;
  readonly nanoseconds = false;
  readonly #handle: WinDivertHandle;
  readonly #clock: { ticks: bigint; perSecond: bigint; epochMs: number };
  /** The pcap_pkthdr of the current packet, in memory the loop reads as libpcap's. */
  readonly #hdr = new Uint8Array(PKTHDR.size);
  readonly #hdrView = new DataView(this.#hdr.buffer);
  #batch: { addresses: DataView; packets: Uint8Array; lengths: number[] } | null = null;
  #index = 0;
  #offset = 0;
  #received = 0;

  constructor(o: LiveOptions) {
    if (Deno.build.os !== "windows") {
      throw new CaptureError("--backend windivert captures on Windows only", true);
    }
    if (o.filter !== undefined) {
      throw new CaptureError(
        "--filter needs libpcap (Npcap) to compile it; WinDivert captures unfiltered",
        true,
      );
    }
    try {
      // Room past the batch for a whole packet view: the loop views snaplen bytes from a packet.
      this.#handle = new WinDivertHandle("true", WINDIVERT_LAYER_NETWORK, BATCH_BYTES + WINDIVERT_MTU_MAX);
    } catch (e) {
      if (e instanceof WinDivertUnavailableError) throw new CaptureError(e.message);
      throw e;
    }
    if (o.device !== "any" && o.device !== "windivert") {
      this.warnings.push(`WinDivert captures every interface, not only ${o.device}`);
    }
    this.#clock = { ...performanceCounter(), epochMs: Date.now() };
  }

  next(): boolean {
    if (!this.#batch || this.#index >= this.#batch.lengths.length) {
      const got = this.#handle.poll();
      if (!got) return false;
      this.#batch = {
        addresses: got.addresses,
        packets: got.packets,
        lengths: splitPackets(got.packets, got.count),
      };
      this.#index = this.#offset = 0;
      if (this.#batch.lengths.length === 0) return false;
    } else this.#offset += this.#batch.lengths[this.#index++];
    if (this.#index >= this.#batch.lengths.length) return this.next();
    const length = this.#batch.lengths[this.#index];
    const ticks = this.#batch.addresses.getBigInt64(this.#index * WINDIVERT_ADDRESS_BYTES, true);
    const { sec, usec } = counterTime(ticks, this.#clock);
    const h = this.#hdrView;
    h.setUint32(PKTHDR.tsSec, sec, true);
    h.setUint32(PKTHDR.tsFrac, usec, true);
    h.setUint32(PKTHDR.caplen, length, true);
    h.setUint32(PKTHDR.len, length, true);
    this.#received++;
    return true;
  }

  get header(): bigint {
    return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.#hdr)));
  }

  get data(): bigint {
    const packets = this.#batch!.packets;
    return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(packets))) + BigInt(this.#offset);
  }

  stats(): { received: number; dropped: number; ifDropped: number } {
    return { received: this.#received, dropped: 0, ifDropped: 0 };
  }

  waitForPackets(ms: number): boolean {
    return this.#handle.wait(ms);
  }

  close(): void {
    this.#handle.close();
  }
}
