// The decoder ABI is described once, in wasm/ABI.md. This checks the TypeScript side against it
// (the Rust side has the same check: `cargo test abi_doc`, run by wasm_build_test.ts).
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as abi from "../src/decoder/abi.ts";
import { decoderModule } from "../src/decoder/wasm.ts";

const doc = Deno.readTextFileSync(new URL("../wasm/ABI.md", import.meta.url));

function documentedConstants(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of doc.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 4 || !/^[A-Z][A-Z0-9_]*$/.test(cells[1]) || !/^-?\d+$/.test(cells[2])) continue;
    out[cells[1]] = Number(cells[2]);
  }
  return out;
}

function documentedFunctions(): string[] {
  const section = doc.split("## Exported functions")[1].split("\n## ")[0];
  return [...section.matchAll(/^\|\s*(ws_\w+)\s*\|/gm)].map((m) => m[1]).sort();
}

Deno.test("src/decoder/abi.ts has exactly the constants of wasm/ABI.md", () => {
  assertEquals({ ...abi }, documentedConstants());
});

Deno.test("the built module exports exactly the documented functions", async () => {
  const exports = WebAssembly.Module.exports(await decoderModule());
  const functions = exports.filter((e) => e.kind === "function").map((e) => e.name).sort();
  assertEquals(functions, documentedFunctions());
  assertEquals(exports.some((e) => e.kind === "memory" && e.name === "memory"), true);
});
