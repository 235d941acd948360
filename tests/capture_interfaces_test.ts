// `wiresight interfaces` against `ip -j addr` in network namespaces the test builds (root): names,
// up, loopback and every address, IPv6 in RFC 5952 form; and the interface capture picks by
// default against the one tcpdump picks in the same namespace.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { assertIncludes, MAIN, run } from "./helpers/cli.ts";
import { run as runOk, withNetns } from "./helpers/capture.ts";
import { waitFor } from "./helpers/wait.ts";

interface Listed {
  name: string;
  up: boolean;
  loopback: boolean;
  addresses: string[];
}

async function wiresightIn(netns: string, args: string[]) {
  return await run("ip", ["netns", "exec", netns, Deno.execPath(), "run", "--allow-all", MAIN, ...args], {
    env: { NO_COLOR: "1" },
  });
}

/** `ip -j addr`: each link's name, UP and LOOPBACK flags and addresses. */
async function ipAddr(netns: string): Promise<Listed[]> {
  const links = JSON.parse(await runOk("ip", ["-n", netns, "-j", "addr"]));
  return links.map((l: { ifname: string; flags: string[]; addr_info: { local: string }[] }) => ({
    name: l.ifname,
    up: l.flags.includes("UP"),
    loopback: l.flags.includes("LOOPBACK"),
    addresses: l.addr_info.map((a) => a.local).sort(),
  }));
}

/** lo; a veth pair, one end with IPv4, IPv6 and link-local addresses; a bridge up, one down. */
async function buildInterfaces(netns: string): Promise<void> {
  const ip = (...args: string[]) => runOk("ip", ["-n", netns, ...args]);
  // Only the addresses the test gives: no automatic link-local ones appearing halfway.
  await runOk("ip", ["netns", "exec", netns, "sysctl", "-qw", "net.ipv6.conf.default.addr_gen_mode=1"]);
  await ip("link", "add", "brup0", "type", "bridge");
  await ip("link", "set", "brup0", "up");
  await ip("link", "add", "wsv0", "type", "veth", "peer", "name", "wsv1");
  await ip("addr", "add", "10.66.0.1/24", "dev", "wsv0");
  // The longest run of zeros is the one "::" stands for (RFC 5952): 2001:db8:0:0:1::.
  await ip("addr", "add", "2001:db8:0:0:1:0:0:0/64", "dev", "wsv0", "nodad");
  await ip("addr", "add", "2001:db8::5/64", "dev", "wsv0", "nodad");
  await ip("addr", "add", "fe80::1234/64", "dev", "wsv0", "nodad");
  for (const dev of ["wsv0", "wsv1"]) await ip("link", "set", dev, "up");
  await ip("link", "add", "brdown0", "type", "bridge");
  await ip("addr", "add", "10.66.1.1/24", "dev", "brdown0");
}

Deno.test("interfaces lists what ip addr says: names, up, loopback, addresses", () =>
  withNetns(async (netns) => {
    await buildInterfaces(netns);
    const expected = await ipAddr(netns);
    const json = await wiresightIn(netns, ["interfaces", "--json"]);
    assertEquals(json.code, 0, json.stderr);
    const listed: Listed[] = JSON.parse(json.stdout);
    for (const e of expected) {
      const w = listed.find((i) => i.name === e.name);
      assert(w, `${e.name} missing from ${json.stdout}`);
      assertEquals({ name: w.name, up: w.up, loopback: w.loopback, addresses: [...w.addresses].sort() }, e);
    }
    assertEquals(expected.map((e) => e.name).sort(), ["brdown0", "brup0", "lo", "wsv0", "wsv1"]);
    assert(listed.some((i) => i.name === "any" && i.up && !i.loopback));
    // The table says the same, one line per interface.
    const text = await wiresightIn(netns, ["interfaces"]);
    assertEquals(text.code, 0, text.stderr);
    for (const e of expected) {
      const line = text.stdout.split("\n").find((l) => l.startsWith(`${e.name} `));
      assert(line, `${e.name} missing from:\n${text.stdout}`);
      const state = line.split(/\s+/)[1].split(",");
      assertEquals([state.includes("up"), state.includes("loopback")], [e.up, e.loopback], line);
      for (const a of e.addresses) assertIncludes(line, a);
    }
  }));

/** The device `tcpdump` captures on without -i (what it says once it listens; then it is stopped). */
async function tcpdumpDefault(netns: string): Promise<string> {
  const proc = new Deno.Command("ip", {
    args: ["netns", "exec", netns, "tcpdump", "-w", "/dev/null"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr) log += dec.decode(chunk, { stream: true });
  })();
  let exited = false;
  proc.status.then(() => (exited = true));
  try {
    await waitFor("tcpdump to listen", () => /listening on \S+,/.test(log) || exited, { detail: () => log });
  } finally {
    if (!exited) proc.kill("SIGINT");
  }
  const status = await proc.status;
  await reading;
  assertEquals(status.code, 0, `tcpdump: ${log}`);
  const m = log.match(/listening on (\S+),/);
  assert(m, log);
  return m[1];
}

/** The device `wiresight capture` captures on without -i. */
async function wiresightDefault(netns: string): Promise<string> {
  const r = await wiresightIn(netns, ["capture", "-t", "0.3", "-q", "--report", "none"]);
  assertEquals(r.code, 0, r.stderr);
  const m = r.stderr.match(/capturing on (\S+),/);
  assert(m, r.stderr);
  return m[1];
}

Deno.test("capture picks the interface tcpdump picks: the first up non-loopback one, or any", async () => {
  const setups: [string, (netns: string) => Promise<void>, string][] = [
    ["loopback only", async () => {}, "any"],
    ["bridge, veth pair, a bridge down", buildInterfaces, "brup0"],
    ["a veth pair without any address", async (netns) => {
      const ip = (...args: string[]) => runOk("ip", ["-n", netns, ...args]);
      await runOk("ip", ["netns", "exec", netns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"]);
      await ip("link", "add", "wsa0", "type", "veth", "peer", "name", "wsa1");
      for (const dev of ["wsa0", "wsa1"]) await ip("link", "set", dev, "up");
    }, "wsa1"],
  ];
  for (const [what, build, device] of setups) {
    await withNetns(async (netns) => {
      await build(netns);
      const tcpdump = await tcpdumpDefault(netns);
      assertEquals(await wiresightDefault(netns), tcpdump, what);
      // What tcpdump picked here, so the setup does test the rule.
      assertEquals(tcpdump, device, what);
    });
  }
});
