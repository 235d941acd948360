// Checks of FFI bindings against C declarations taken from the systems' headers: what Deno FFI
// type a C parameter or result must have (64-bit, LP64 on Unix and LLP64 on Windows), and where a
// struct's fields fall by C's alignment rules, computed here from the declaration, not the binding.
import { deepStrictEqual as assertEquals } from "node:assert/strict";

/** The Deno FFI types a C type may be bound as. */
export function ffiTypesOf(cType: string): string[] {
  const t = cType.replace(/\b(const|struct|enum)\b/g, "").replace(/\s+/g, " ").trim();
  // Windows' pointer typedefs (PDWORD, LPWSTR, PSID ...) and handles are pointers too.
  if (t.includes("*") || /^(P|LP)[A-Z_]+$/.test(t) || t === "HANDLE") return ["pointer", "buffer"];
  const scalars: Record<string, string> = {
    "void": "void",
    "VOID": "void",
    "int": "i32",
    "BOOL": "i32",
    "WINBOOL": "i32",
    "INT16": "i16",
    "unsigned int": "u32",
    "UINT": "u32",
    "DWORD": "u32",
    "ULONG": "u32",
    "uint32_t": "u32",
    "uid_t": "u32",
    "bpf_u_int32": "u32",
    "uint64_t": "u64",
    "UINT64": "u64",
    // Enumerations are ints.
    "WINDIVERT_LAYER": "i32",
    "TCP_TABLE_CLASS": "i32",
    "UDP_TABLE_CLASS": "i32",
    "TOKEN_INFORMATION_CLASS": "i32",
  };
  const ffi = scalars[t];
  if (!ffi) throw new Error(`no FFI type known for C type '${cType}'`);
  return [ffi];
}

/** A parameter's type: "*" for any pointer, else the type with the parameter's name dropped. */
function parameterType(p: string): string {
  if (p.includes("*")) return "*";
  const words = p.replace(/\b(const|__in|__in_opt)\b/g, "").trim().split(/\s+/);
  if (words.length > 1 && words.join(" ") !== "unsigned int") words.pop();
  return words.join(" ");
}

/** "RESULT name(TYPE a, TYPE b)" -> result and parameter types (names dropped). */
export function parsePrototype(prototype: string): { name: string; result: string; params: string[] } {
  const m = prototype.replace(/\s+/g, " ").match(/^(.*?)\b(\w+) ?\((.*)\)\s*;?$/);
  if (!m) throw new Error(`not a prototype: ${prototype}`);
  const result = m[1].replace(/\b(PCAP_API|WINAPI|WINBASEAPI|WINADVAPI|extern|WINDIVERTEXPORT)\b/g, "")
    .trim();
  const list = m[3].trim();
  const params = list === "" || list === "void" || list === "VOID" ? [] : list.split(",").map(parameterType);
  return { name: m[2], result: result.includes("*") ? "*" : result, params };
}

type SymbolTable = Record<string, { parameters: readonly string[]; result: string }>;

/** Asserts each bound symbol's parameters and result fit its C prototype. */
export function assertMatchesPrototypes(table: SymbolTable, prototypes: Map<string, string>): void {
  for (const [name, symbol] of Object.entries(table)) {
    const proto = prototypes.get(name);
    if (!proto) throw new Error(`no prototype for ${name}`);
    const c = parsePrototype(proto);
    assertEquals(symbol.parameters.length, c.params.length, `${name}: parameter count (${proto})`);
    symbol.parameters.forEach((p, i) => {
      const allowed = ffiTypesOf(c.params[i]);
      if (!allowed.includes(p)) throw new Error(`${name}: parameter ${i} is ${p}, C says ${c.params[i]}`);
    });
    const results = ffiTypesOf(c.result);
    if (!results.includes(symbol.result)) {
      throw new Error(`${name}: result is ${symbol.result}, C says ${c.result}`);
    }
  }
}

/** A C struct field: its name, size and alignment (an array: size of the whole, element's alignment). */
export type CField = [name: string, size: number, align: number];

/** Offsets of each field and the struct's size, by C's rules (each field at its alignment). */
export function cLayout(fields: CField[]): { offsets: Record<string, number>; size: number; align: number } {
  const offsets: Record<string, number> = {};
  let at = 0, align = 1;
  for (const [name, size, a] of fields) {
    at = Math.ceil(at / a) * a;
    offsets[name] = at;
    at += size;
    align = Math.max(align, a);
  }
  return { offsets, size: Math.ceil(at / align) * align, align };
}
