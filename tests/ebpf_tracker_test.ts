// The eBPF tracker's pure parts, without the kernel: address keys (IPv4-mapped IPv6 equals IPv4,
// both unspecified addresses are one wildcard) and what a cgroup path says (container, unit).
// The tracker on real traffic is tests/live/ebpf_tracker_test.ts.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { addressKey, addressKeyOf, AF_INET, AF_INET6, argsText, cString } from "../src/proc/ebpf/events.ts";
import { describeCgroup } from "../src/proc/ebpf/cgroups.ts";

Deno.test("address keys: the kernel's bytes and the decoder's text meet", () => {
  const v4 = new Uint8Array([10, 0, 0, 1]);
  const mapped = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]);
  assertEquals(addressKey(v4, 0, AF_INET), "10.0.0.1");
  assertEquals(addressKey(mapped, 0, AF_INET6), "10.0.0.1");
  assertEquals(addressKeyOf("::ffff:10.0.0.1"), "10.0.0.1");
  assertEquals(addressKeyOf("10.0.0.1"), "10.0.0.1");
  assertEquals([addressKeyOf("0.0.0.0"), addressKeyOf("::"), addressKey(new Uint8Array(16), 0, AF_INET6)], [
    "*",
    "*",
    "*",
  ]);
  const loop6 = new Uint8Array(16);
  loop6[15] = 1;
  assertEquals(addressKey(loop6, 0, AF_INET6), addressKeyOf("::1"));
  assertEquals(addressKeyOf("0:0::1"), addressKeyOf("::1"));
  assertEquals([addressKeyOf("10.0.0.256"), addressKeyOf("10.0.0.0/8"), addressKeyOf("x")], [
    null,
    null,
    null,
  ]);
});

Deno.test("comm and argv as the kernel writes them", () => {
  const comm = new TextEncoder().encode("isc-net-0000\0\0\0\0");
  assertEquals(cString(comm, 0, 16), "isc-net-0000");
  assertEquals(cString(new TextEncoder().encode("0123456789abcdefXYZ"), 0, 16), "0123456789abcdef");
  const argv = new TextEncoder().encode("curl\0-s\0http://x/\0");
  assertEquals(argsText(argv, 0, argv.length), "curl -s http://x/");
});

Deno.test("cgroup paths name containers and systemd units", () => {
  const id = "a".repeat(64);
  assertEquals(describeCgroup(`/system.slice/docker-${id}.scope`), {
    path: `/system.slice/docker-${id}.scope`,
    container: id,
    unit: `docker-${id}.scope`,
  });
  assertEquals(describeCgroup(`/machine.slice/libpod-${id}.scope/container`).container, id);
  assertEquals(describeCgroup(`/kubepods/burstable/pod1234-5678/${id}`).container, id);
  assertEquals(describeCgroup(`/docker/${id}`).container, id);
  assertEquals(describeCgroup("/lxc.payload.web1/init.scope").container, "web1");
  assertEquals(describeCgroup("/system.slice/ssh.service"), {
    path: "/system.slice/ssh.service",
    container: null,
    unit: "ssh.service",
  });
  assertEquals(describeCgroup(""), { path: "/", container: null, unit: null });
});
