// The tree's architecture, checked: data flows one way (source -> decoder -> flows/app -> process,
// detect -> report, sinks -> pipeline -> store, server, cli), so a room imports only rooms below
// it; `ffi/` (the native bindings) imports nothing of `src/`, and `src/base/` (shared leaves) nothing at all.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");

/** Each room's level; a room may import its own files and rooms of a lower level only. */
const LEVELS: Record<string, number> = {
  "src/base": 0,
  "src/version.ts": 0,
  // Service names for ports: the decoder is given them to name flows' services.
  "src/flows": 1,
  // Country and AS of addresses (databases from npm packages, --geoip DIR).
  "src/enrich": 1,
  "src/decoder": 2,
  "src/app": 3,
  "src/proc": 4,
  "src/detect": 4,
  "src/source": 5,
  "src/report": 6,
  "src/sinks": 7,
  "src/pipeline": 8,
  "src/store": 9,
  "src/server": 10,
  "src/cli": 11,
};

function roomOf(path: string): string | null {
  if (path.startsWith("ffi/")) return "ffi";
  if (path.startsWith("web/")) return "web";
  const m = path.match(/^src\/([^/]+)/);
  return m ? `src/${m[1]}` : null;
}

function* tsFiles(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(join(ROOT, dir))) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* tsFiles(p);
    else if (e.name.endsWith(".ts")) yield p;
  }
}

function imports(file: string): string[] {
  const text = Deno.readTextFileSync(join(ROOT, file));
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
    out.push(relative(ROOT, resolve(ROOT, dirname(file), m[1])));
  }
  return out;
}

/** Imports that break the layering, as "file -> imported". */
function violations(): string[] {
  const bad: string[] = [];
  for (const file of [...tsFiles("src"), ...tsFiles("ffi")]) {
    const from = roomOf(file)!;
    for (const target of imports(file)) {
      const to = roomOf(target);
      if (to === from) continue;
      const ok = from === "ffi" ? false : to === "ffi" ? from !== "src/base" : to === "web"
        // The server serves the web view's built page.
        ? from === "src/server" && target === "web/dist/assets.ts"
        : to !== null && LEVELS[to] < LEVELS[from];
      if (!ok) bad.push(`${file} -> ${target}`);
    }
  }
  return bad;
}

Deno.test("every import runs down the layers: no room imports a room above it or beside it", () => {
  for (const file of tsFiles("src")) assertEquals(LEVELS[roomOf(file)!] !== undefined, true, file);
  assertEquals(violations(), []);
});
