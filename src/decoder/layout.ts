// Fields of fixed binary layouts: the decoder's events (abi.ts) and the capture worker's records
// (src/source/framing.ts). A field carries its offset and its type, the `type` column of
// wasm/ABI.md that tests/abi_test.ts checks it against; each reader and writer takes only fields
// of its own type, so a width is written once, beside the offset, and a mismatch does not compile.
// Little-endian throughout, like wasm32.

/** The types of ABI.md's layout tables; `u8[]` is a variable-length tail (a name, a payload). */
export type WireType = "u8" | "u16" | "u32" | "f64" | "u8[6]" | "u8[16]" | "u8[24]" | "u8[]";

export interface Field<T extends WireType> {
  readonly at: number;
  readonly type: T;
}

export function field<T extends WireType>(at: number, type: T): Field<T> {
  return { at, type };
}

export function getU8(dv: DataView, o: number, f: Field<"u8">): number {
  return dv.getUint8(o + f.at);
}

export function getU16(dv: DataView, o: number, f: Field<"u16">): number {
  return dv.getUint16(o + f.at, true);
}

export function getU32(dv: DataView, o: number, f: Field<"u32">): number {
  return dv.getUint32(o + f.at, true);
}

export function getF64(dv: DataView, o: number, f: Field<"f64">): number {
  return dv.getFloat64(o + f.at, true);
}

export function setU8(dv: DataView, o: number, f: Field<"u8">, v: number): void {
  dv.setUint8(o + f.at, v);
}

export function setU16(dv: DataView, o: number, f: Field<"u16">, v: number): void {
  dv.setUint16(o + f.at, v, true);
}

export function setU32(dv: DataView, o: number, f: Field<"u32">, v: number): void {
  dv.setUint32(o + f.at, v, true);
}

export function setF64(dv: DataView, o: number, f: Field<"f64">, v: number): void {
  dv.setFloat64(o + f.at, v, true);
}
