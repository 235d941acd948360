// The committed BPF object must be what its source builds to: rebuild it with Debian's clang (from
// the committed vmlinux.h, so every machine builds the same bytes) and compare, so a stale object
// fails CI. Also checks that what libbpf needs survived the build: BTF, CO-RE relocations, and a
// program for each hook.
import { ok as assert } from "node:assert/strict";
import { assertBuiltFresh, build as run, ROOT } from "./helpers/artifact.ts";

const committed = `${ROOT}ffi/bpf/attribution.bpf.o`;

Deno.test("the committed ffi/bpf/attribution.bpf.o is built from ffi/bpf/attribution.bpf.c", async () => {
  await assertBuiltFresh(
    "ffi/bpf/attribution.bpf.o",
    (path) => run("sh", [`${ROOT}ffi/bpf/build.sh`, path]),
    "build:bpf",
  );
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
