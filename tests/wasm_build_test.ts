// The committed decoder must be what its source builds to: rebuild with Debian's rustc and compare
// bytes, so a stale artifact fails CI. Also runs the crate's own tests natively.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { assertBuiltFresh, build, ROOT } from "./helpers/artifact.ts";

const run = (cmd: string, args: string[], env: Record<string, string> = {}) =>
  build(cmd, args, { cwd: `${ROOT}wasm`, env });

Deno.test("the committed wasm/wiresight_decoder.wasm is built from wasm/src", async () => {
  await assertBuiltFresh(
    "wasm/wiresight_decoder.wasm",
    (path) => run("sh", ["build.sh", path, `${ROOT}wasm/target`]),
    "build:wasm",
  );
});

Deno.test("the decoder crate's own tests pass (cargo test)", async () => {
  const text = await run("/usr/bin/cargo", ["test", "--offline", "--quiet"], { RUSTC: "/usr/bin/rustc" });
  assertEquals(/test result: FAILED/.test(text), false, text);
});
