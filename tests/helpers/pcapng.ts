// pcapng blocks laid out by hand, per the pcapng specification, for tests that build files.
import { concat } from "./util.ts";

export function pad4(b: Uint8Array): Uint8Array {
  const out = new Uint8Array((b.length + 3) & ~3);
  out.set(b);
  return out;
}

export function u16(v: number): Uint8Array {
  return new Uint8Array([v & 0xff, v >> 8]);
}
export function u32(v: number): Uint8Array {
  return new Uint8Array([v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24]);
}
export function u64(v: number): Uint8Array {
  return concat(u32(v % 2 ** 32), u32(Math.floor(v / 2 ** 32)));
}

export function option(code: number, value: Uint8Array): Uint8Array {
  return concat(u16(code), u16(value.length), pad4(value));
}
export const END_OF_OPTIONS = new Uint8Array(4);

export function block(type: number, body: Uint8Array): Uint8Array {
  const len = 12 + body.length;
  return concat(u32(type), u32(len), body, u32(len));
}
