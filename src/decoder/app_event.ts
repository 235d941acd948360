// EV_APP events (wasm/ABI.md, "APP event"): a view over the decoder's buffer, valid only during
// the handler call that receives it (take what you need; nothing is copied up front).
import * as abi from "./abi.ts";
import { formatAddress } from "../base/address.ts";
import { getF64, getU16, getU32, getU8 } from "./layout.ts";

const text = new TextDecoder();

/**
 * UTF-8 text of `u8[start, end)`. Most values from the wire (names, headers) are short ASCII,
 * which is built here without the cost of a TextDecoder call.
 */
export function utf8(u8: Uint8Array, start: number, end: number): string {
  if (end - start > 64) return text.decode(u8.subarray(start, end));
  let s = "";
  for (let i = start; i < end; i++) {
    const c = u8[i];
    if (c >= 0x80) return text.decode(u8.subarray(start, end));
    s += String.fromCharCode(c);
  }
  return s;
}

export class AppEvent {
  readonly kind: number;
  /** 0 from the flow's initiator, 1 from its responder. */
  readonly dir: number;
  readonly app: number;
  readonly flowId: number;
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly frame: number;
  /** The packet that carried (or completed) the message. */
  readonly ipVersion: 4 | 6;
  readonly srcPort: number;
  readonly dstPort: number;
  /** [id, offset, length] of each field, in order. */
  readonly #index: number[] = [];

  readonly #at: number;
  #parsedBy: ((e: AppEvent) => unknown) | null = null;
  #parsed: unknown;

  constructor(private readonly u8: Uint8Array, private readonly dv: DataView, o: number) {
    this.#at = o;
    this.kind = getU8(dv, o, abi.AP_KIND);
    this.dir = getU8(dv, o, abi.AP_DIR);
    this.app = getU8(dv, o, abi.AP_APP);
    this.flowId = getF64(dv, o, abi.AP_FLOW_ID);
    this.tsSec = getF64(dv, o, abi.AP_TS_SEC);
    this.tsNsec = getU32(dv, o, abi.AP_TS_NSEC);
    this.frame = getF64(dv, o, abi.AP_FRAME);
    this.ipVersion = getU8(dv, o, abi.AP_IPVER) === abi.L3_IPV6 ? 6 : 4;
    this.srcPort = getU16(dv, o, abi.AP_SPORT);
    this.dstPort = getU16(dv, o, abi.AP_DPORT);
    const end = o + abi.AP_DATA.at + getU32(dv, o, abi.AP_FIELDS_LEN);
    for (let p = o + abi.AP_DATA.at; p + abi.AF_VALUE.at <= end;) {
      const value = p + abi.AF_VALUE.at, len = getU16(dv, p, abi.AF_LEN);
      this.#index.push(getU16(dv, p, abi.AF_ID), value, len);
      p = value + len;
    }
  }

  /**
   * What `parse` makes of this event, made once: the report, the detectors and the sinks each ask
   * for the same message, and share it (so they must not change it).
   */
  parsed<T>(parse: (e: AppEvent) => T): T {
    if (this.#parsedBy !== parse) {
      this.#parsed = parse(this);
      this.#parsedBy = parse;
    }
    return this.#parsed as T;
  }

  // Addresses are formatted on demand: most sections never look at them.
  get src(): string {
    return formatAddress(this.ipVersion, this.u8, this.#at + abi.AP_SRC.at);
  }

  get dst(): string {
    return formatAddress(this.ipVersion, this.u8, this.#at + abi.AP_DST.at);
  }

  /** Every field in order as [id, bytes] (the bytes are a view: copy to keep them). */
  *fields(): Generator<[number, Uint8Array]> {
    for (let i = 0; i < this.#index.length; i += 3) {
      yield [this.#index[i], this.u8.subarray(this.#index[i + 1], this.#index[i + 1] + this.#index[i + 2])];
    }
  }

  #find(id: number): number {
    for (let i = 0; i < this.#index.length; i += 3) if (this.#index[i] === id) return i;
    return -1;
  }

  has(id: number): boolean {
    return this.#find(id) >= 0;
  }

  bytes(id: number): Uint8Array | undefined {
    const i = this.#find(id);
    return i < 0 ? undefined : this.u8.slice(this.#index[i + 1], this.#index[i + 1] + this.#index[i + 2]);
  }

  str(id: number): string | undefined {
    const i = this.#find(id);
    return i < 0 ? undefined : utf8(this.u8, this.#index[i + 1], this.#index[i + 1] + this.#index[i + 2]);
  }

  /** Every value of a repeated string field. */
  strs(id: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.#index.length; i += 3) {
      if (this.#index[i] === id) {
        out.push(utf8(this.u8, this.#index[i + 1], this.#index[i + 1] + this.#index[i + 2]));
      }
    }
    return out;
  }

  /** A little-endian unsigned number (1, 2 or 4 bytes). */
  num(id: number): number | undefined {
    const i = this.#find(id);
    if (i < 0) return undefined;
    const [off, len] = [this.#index[i + 1], this.#index[i + 2]];
    if (len === 1) return this.u8[off];
    if (len === 2) return this.dv.getUint16(off, true);
    if (len === 4) return this.dv.getUint32(off, true);
    return undefined;
  }

  /** A packed little-endian `u16[]` field. */
  u16s(id: number): number[] {
    const i = this.#find(id);
    if (i < 0) return [];
    const out: number[] = [];
    for (let p = this.#index[i + 1], end = p + this.#index[i + 2]; p + 2 <= end; p += 2) {
      out.push(this.dv.getUint16(p, true));
    }
    return out;
  }
}
