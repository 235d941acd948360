// Committed build outputs (the decoder's .wasm, the BPF object) must be what their sources build to:
// rebuild into a temporary directory and compare bytes, so a stale artifact fails CI.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { runTool } from "./tool.ts";

export const ROOT = new URL("../..", import.meta.url).pathname;

/** Runs a build tool; its output (stdout and stderr) is returned, or thrown when it fails. */
export async function build(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<string> {
  // Builds take a while on a loaded machine: a bound against hangs only.
  const r = await runTool(cmd, args, { ...opts, timeoutMs: 600_000 });
  return r.stdout + r.stderr;
}

/** `build(path)` writes a fresh artifact to `path`; it must equal `committed` (relative to the root). */
export async function assertBuiltFresh(
  committed: string,
  build: (path: string) => Promise<unknown>,
  task: string,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wiresight-build-" });
  try {
    await build(`${dir}/fresh`);
    const fresh = await Deno.readFile(`${dir}/fresh`);
    const old = await Deno.readFile(`${ROOT}${committed}`);
    const stale = old.length !== fresh.length || old.some((b, i) => b !== fresh[i]);
    assertEquals(stale, false, `${committed} is stale: run 'deno task ${task}' and commit it`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
