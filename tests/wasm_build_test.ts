// The committed decoder must be what its source builds to: rebuild with Debian's rustc and compare
// bytes, so a stale artifact fails CI. Also runs the crate's own tests natively.
import { deepStrictEqual as assertEquals } from "node:assert/strict";

const root = new URL("..", import.meta.url).pathname;
const committed = `${root}wasm/wiresight_decoder.wasm`;

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args, cwd: `${root}wasm`, env, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed:\n${text}`);
  return text;
}

Deno.test("the committed wasm/wiresight_decoder.wasm is built from wasm/src", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight-wasm-" });
  try {
    await run("sh", ["build.sh", `${dir}/decoder.wasm`, `${root}wasm/target`]);
    const fresh = await Deno.readFile(`${dir}/decoder.wasm`);
    const stale = !(await Deno.readFile(committed)).every((b, i, a) =>
      a.length === fresh.length && b === fresh[i]
    );
    assertEquals(
      stale,
      false,
      "wasm/wiresight_decoder.wasm is stale: run 'deno task build:wasm' and commit it",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the decoder crate's own tests pass (cargo test)", async () => {
  const text = await run("/usr/bin/cargo", ["test", "--offline", "--quiet"], { RUSTC: "/usr/bin/rustc" });
  assertEquals(/test result: FAILED/.test(text), false, text);
});
