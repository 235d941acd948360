// The decoder ABI is described once, in wasm/ABI.md. This checks the TypeScript side against it: every
// constant, the type of every field (the readers and writers take their width from it), the signature of
// every exported function (in the built module and in the wrapper's DecoderExports), and the capture
// worker's records (src/source/framing.ts). The Rust side has the same checks (`cargo test abi_doc`, run
// by wasm_build_test.ts).
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import * as abi from "../src/decoder/abi.ts";
import { decoderModule } from "../src/decoder/wasm.ts";
import * as framing from "../src/source/framing.ts";

const doc = Deno.readTextFileSync(new URL("../wasm/ABI.md", import.meta.url));
/** The section about the capture worker's records: not the decoder's (the Rust side skips it too). */
const [decoderDoc, recordsDoc] = (() => {
  const [before, after] = doc.split("## Live capture records");
  const section = after.split("\n## ")[0];
  return [before + after.slice(section.length), section];
})();

type Constant = number | { at: number; type: string };

/** The constants of the tables in `text`; a layout table's typed rows are fields {at, type}. */
function documentedConstants(text: string): Record<string, Constant> {
  const out: Record<string, Constant> = {};
  let layout = false;
  for (const line of text.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 4) continue;
    if (cells[1] === "NAME") layout = cells[2] === "offset";
    if (!/^[A-Z][A-Z0-9_]*$/.test(cells[1]) || !/^-?\d+$/.test(cells[2])) continue;
    const value = Number(cells[2]);
    out[cells[1]] = layout && cells[3] ? { at: value, type: cells[3] } : value;
  }
  return out;
}

/** A module's constants: its exports named in capitals. */
function constantsOf(module: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(module).filter(([name]) => /^[A-Z][A-Z0-9_]*$/.test(name)));
}

interface Signature {
  /** Types as ABI.md writes them; the handle `h` as "handle". */
  params: string[];
  result?: string;
}

/** The signature column of "Exported functions". */
function documentedSignatures(): Record<string, Signature> {
  const section = decoderDoc.split("## Exported functions")[1].split("\n## ")[0];
  const out: Record<string, Signature> = {};
  for (const [, name, signature] of section.matchAll(/^\|\s*(ws_\w+)\s*\|\s*([^|]*?)\s*\|/gm)) {
    const [params, result] = signature.split(" -> ");
    const types = params.slice(1, -1).split(",").map((p) => p.trim()).filter((p) => p)
      .map((p) => p === "h" ? "handle" : p.split(/\s+/)[1]);
    out[name] = result ? { params: types, result } : { params: types };
  }
  return out;
}

/** A signature as wasm types: f64 stays f64; u32, i32, the handle and pointers are i32. */
function wasmSignature(s: Signature): string {
  const t = (type: string) => type === "f64" ? "f64" : "i32";
  return `(${s.params.map(t).join(", ")})` + (s.result ? ` -> ${t(s.result)}` : "");
}

/** The exported functions' types, read from the module's type, function and export sections. */
function moduleSignatures(bytes: Uint8Array): Record<string, string> {
  let p = 8;
  const leb = () => {
    let v = 0, shift = 0, b;
    do {
      b = bytes[p++];
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return v;
  };
  const valtype: Record<number, string> = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64" };
  const vec = () => Array.from({ length: leb() }, () => valtype[bytes[p++]]);
  const types: string[] = [], functions: number[] = [], out: Record<string, string> = {};
  while (p < bytes.length) {
    const section = bytes[p++], size = leb(), end = p + size;
    if (section === 1) {
      for (let n = leb(); n--;) {
        p++; // 0x60, a function type
        const params = vec(), results = vec();
        types.push(`(${params.join(", ")})` + (results.length ? ` -> ${results.join(", ")}` : ""));
      }
    } else if (section === 3) {
      for (let n = leb(); n--;) functions.push(leb());
    } else if (section === 7) {
      for (let n = leb(); n--;) {
        const name = new TextDecoder().decode(bytes.subarray(p + 1, p + 1 + bytes[p]));
        p += 1 + bytes[p];
        const kind = bytes[p++], index = leb();
        if (kind === 0) out[name] = types[functions[index]];
      }
    }
    p = end;
  }
  return out;
}

/** Parameter count and whether a result comes back, from the wrapper's DecoderExports interface. */
function wrapperArities(): Record<string, string> {
  const src = Deno.readTextFileSync(new URL("../src/decoder/wasm.ts", import.meta.url));
  const out: Record<string, string> = {};
  for (const [, name, params, result] of src.matchAll(/^\s+(ws_\w+)\(([^)]*)\): (\w+);/gm)) {
    out[name] = `${params.split(",").filter((p) => p.trim()).length}${result === "void" ? "" : " -> 1"}`;
  }
  return out;
}

Deno.test("src/decoder/abi.ts has exactly the constants and field types of wasm/ABI.md", () => {
  assertEquals(differences({ ...abi }, documentedConstants(decoderDoc)), []);
});

Deno.test("src/source/framing.ts has exactly the fields of the live capture records", () => {
  assertEquals(differences(constantsOf(framing), documentedConstants(recordsDoc)), []);
});

Deno.test("the built module exports the documented functions with the documented signatures", async () => {
  const module = await decoderModule();
  assertEquals(WebAssembly.Module.imports(module), []);
  const exports = WebAssembly.Module.exports(module);
  assertEquals(exports.some((e) => e.kind === "memory" && e.name === "memory"), true);
  const bytes = await Deno.readFile(new URL("../wasm/wiresight_decoder.wasm", import.meta.url));
  assertEquals(differences(moduleSignatures(bytes), mapValues(documentedSignatures(), wasmSignature)), []);
});

Deno.test("the wrapper declares each function with the documented arity", () => {
  const arity = (s: Signature) => `${s.params.length}${s.result ? " -> 1" : ""}`;
  assertEquals(differences(wrapperArities(), mapValues(documentedSignatures(), arity)), []);
});

/** The entries that differ, one line each (a whole-table diff hides which name it is about). */
function differences(code: Record<string, unknown>, documented: Record<string, unknown>): string[] {
  const show = (v: unknown) => v === undefined ? "missing" : JSON.stringify(v);
  return [...new Set([...Object.keys(code), ...Object.keys(documented)])].sort()
    .filter((name) => !isDeepStrictEqual(code[name], documented[name]))
    .map((name) => `${name}: code ${show(code[name])}, ABI.md ${show(documented[name])}`);
}

function mapValues<T, U>(o: Record<string, T>, f: (v: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}
