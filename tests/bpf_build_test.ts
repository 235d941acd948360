// The committed BPF object must be what its source builds to: rebuild it with Debian's clang (from
// the committed vmlinux.h, so every machine builds the same bytes) and compare, so a stale object
// fails CI. Also checks that what libbpf needs survived the build: BTF, CO-RE relocations, and a
// program for each hook.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";

const root = new URL("..", import.meta.url).pathname;
const committed = `${root}ffi/bpf/attribution.bpf.o`;

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed:\n${text}`);
  return text;
}

Deno.test("the committed ffi/bpf/attribution.bpf.o is built from ffi/bpf/attribution.bpf.c", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight-bpf-" });
  try {
    await run("sh", [`${root}ffi/bpf/build.sh`, `${dir}/attribution.bpf.o`]);
    const fresh = await Deno.readFile(`${dir}/attribution.bpf.o`);
    const old = await Deno.readFile(committed);
    const stale = old.length !== fresh.length || old.some((b, i) => b !== fresh[i]);
    assertEquals(stale, false, "ffi/bpf/attribution.bpf.o is stale: run 'deno task build:bpf' and commit it");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the BPF object keeps what libbpf needs: .BTF, .BTF.ext and every hook's section", async () => {
  const sections = await run("llvm-objdump", ["-h", committed]);
  for (const s of [".BTF", ".BTF.ext", ".maps", "license"]) {
    assert(sections.includes(` ${s} `), `${s} missing`);
  }
  for (
    const hook of [
      "inet_sock_set_state",
      "tcp_retransmit_skb",
      "sock_send_length",
      "sock_recv_length",
      "sched_process_exec",
      "sched_process_fork",
      "sched_process_exit",
    ]
  ) assert(sections.includes(`tp_btf/${hook} `), `tp_btf/${hook} missing`);
  assert(!sections.includes(".debug_info"), "DWARF should be stripped (BTF carries what libbpf needs)");
});
