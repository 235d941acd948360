// What `wiresight capture` and `wiresight interfaces` say when they cannot work (root, to set the
// cases up): no permission (an unprivileged user, and root without CAP_NET_RAW/CAP_NET_ADMIN),
// an unknown or down interface, a bad BPF filter, and no usable libpcap. Each must name the cause
// and what to do, and exit 1 (2 for what the user typed wrong).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { assertIncludes, MAIN, REPO, type Run, run, wiresight } from "./helpers/cli.ts";
import { run as runOk, withNetns } from "./helpers/capture.ts";
import { LiveWiresight, readBack } from "./helpers/live.ts";

const NOBODY = 65534;
const DENO = Deno.execPath();

/** A command as the unprivileged user nobody, with no capabilities at all. */
function asNobody(args: string[]): string[] {
  return [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--inh-caps=-all", ...args];
}

/**
 * What an unprivileged user needs to run wiresight with `deno run`: a Deno cache of its own
 * (with a copy of the npm packages root's cache already holds), the sources where it can read
 * them (a copy when the checkout is private) and a deno it may execute (a copy likewise).
 * Returns how to run `wiresight ...args` as nobody.
 */
async function unprivilegedWiresight(dir: string): Promise<(args: string[]) => Promise<Run>> {
  const canRead = async (path: string) => (await run("setpriv", asNobody(["test", "-r", path]))).code === 0;
  const info = JSON.parse((await run(DENO, ["info", "--json"])).stdout);
  await Deno.mkdir(`${dir}/deno_dir`);
  if (info.npmCache) await runOk("cp", ["-r", info.npmCache, `${dir}/deno_dir/npm`]).catch(() => {});
  let repo = REPO;
  if (!(await canRead(MAIN))) {
    repo = `${dir}/repo`;
    await Deno.mkdir(repo);
    const files = await runOk("git", ["-C", REPO, "ls-files", "--cached", "--others", "--exclude-standard"]);
    await runOk("tar", ["-C", REPO, "-cf", `${dir}/repo.tar`, ...files.trim().split("\n")], 60000);
    await runOk("tar", ["-C", repo, "-xf", `${dir}/repo.tar`]);
  }
  let deno = DENO;
  if ((await run("setpriv", asNobody(["test", "-x", DENO]))).code !== 0) {
    deno = `${dir}/deno`;
    await Deno.copyFile(DENO, deno);
  }
  await runOk("chown", ["-R", `${NOBODY}:${NOBODY}`, dir]);
  const env = { DENO_DIR: `${dir}/deno_dir`, HOME: dir, NO_COLOR: "1" };
  const main = MAIN.replace(REPO, repo);
  return (args) => run("setpriv", asNobody([deno, "run", "--allow-all", main, ...args]), { cwd: dir, env });
}

function assertNoPermission(r: Run, what: string): void {
  assertEquals(r.code, 1, `${what}: ${r.stderr}`);
  for (const word of ["no permission", "root", "CAP_NET_RAW", "CAP_NET_ADMIN"]) {
    assertIncludes(r.stderr, word, what);
  }
  assert(!r.stderr.includes("internal error"), r.stderr);
}

Deno.test("capture without privileges: says to run as root or grant CAP_NET_RAW and CAP_NET_ADMIN", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_unpriv_" });
  try {
    const asUser = await unprivilegedWiresight(dir);
    assertNoPermission(await asUser(["capture", "-i", "lo", "-c", "1"]), "nobody, -i lo");
    assertNoPermission(await asUser(["capture", "-c", "1"]), "nobody, default interface");
    // Listing interfaces needs no privilege.
    const list = await asUser(["interfaces", "--json"]);
    assertEquals(list.code, 0, list.stderr);
    assert(JSON.parse(list.stdout).some((i: { name: string }) => i.name === "lo"));
    // Root, but without the two capabilities.
    const capsh = await run("capsh", [
      "--drop=cap_net_raw,cap_net_admin",
      "--",
      "-c",
      `NO_COLOR=1 '${DENO}' run --allow-all '${MAIN}' capture -i lo -c 1`,
    ]);
    assertNoPermission(capsh, "root without CAP_NET_RAW/CAP_NET_ADMIN");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("capture on an unknown interface: usage error that points to 'wiresight interfaces'", async () => {
  const r = await wiresight(["capture", "-i", "nosuch0", "-c", "1"]);
  assertEquals(r.code, 2, r.stderr);
  assertIncludes(r.stderr, "no such interface: nosuch0");
  assertIncludes(r.stderr, "wiresight interfaces");
});

Deno.test("capture --process with a path that does not exist: usage error before capturing", async () => {
  const r = await wiresight(["capture", "-i", "lo", "--process", "/no/such/program", "-c", "1"]);
  assertEquals(r.code, 2, r.stderr);
  assertIncludes(r.stderr, "--process: no such file or directory: '/no/such/program'");
  assert(!r.stderr.includes("capturing on"), r.stderr);
});

Deno.test("capture on an interface that is down: says how to bring it up, exit 1", () =>
  withNetns(async (netns) => {
    await runOk("ip", ["-n", netns, "link", "add", "wsdown0", "type", "bridge"]);
    const [cmd, args] = [DENO, ["run", "--allow-all", MAIN, "capture", "-i", "wsdown0", "-t", "2"]];
    const r = await run("ip", ["netns", "exec", netns, cmd, ...args], { env: { NO_COLOR: "1" } });
    assertEquals(r.code, 1, r.stderr);
    assertIncludes(r.stderr, "interface wsdown0 is down");
    assertIncludes(r.stderr, "ip link set wsdown0 up");
  }));

Deno.test("capture whose interface disappears: says so, keeps what it had, exit 1", () =>
  withNetns(async (netns) => {
    await runOk("ip", ["-n", netns, "link", "add", "wsgone0", "type", "veth", "peer", "name", "wsgone1"]);
    for (const dev of ["wsgone0", "wsgone1"]) await runOk("ip", ["-n", netns, "link", "set", dev, "up"]);
    const dir = await Deno.makeTempDir({ prefix: "wiresight_gone_" });
    try {
      const ws = await LiveWiresight.start(netns, [
        "-i",
        "wsgone0",
        "-q",
        "--report",
        "json",
        "--write",
        `${dir}/g.pcapng`,
      ]);
      await runOk("ip", ["-n", netns, "link", "del", "wsgone0"]);
      const r = await ws.exited();
      assertEquals(r.code, 1, r.stderr);
      assertIncludes(r.stderr, "error: capture stopped: The interface disappeared");
      const report = JSON.parse(r.stdout);
      assertEquals((await readBack(`${dir}/g.pcapng`)).packets, report.packets);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }));

Deno.test("capture with a bad BPF filter: usage error with libpcap's reason, as tcpdump gives it", () =>
  withNetns(async (netns) => {
    for (const expr of ["tcp port", "host 999.1.1.1", "ether proto nosuchproto", "port 99999"]) {
      const tcpdump = await run("ip", ["netns", "exec", netns, "tcpdump", "-i", "lo", "-d", expr]);
      assert(tcpdump.code !== 0, `tcpdump accepted '${expr}'`);
      const reason = tcpdump.stderr.trim().replace(/^tcpdump: /, "");
      const r = await run(
        "ip",
        [
          "netns",
          "exec",
          netns,
          DENO,
          "run",
          "--allow-all",
          MAIN,
          "capture",
          "-i",
          "lo",
          "-f",
          expr,
          "-t",
          "2",
        ],
        { env: { NO_COLOR: "1" } },
      );
      assertEquals(r.code, 2, `${expr}: ${r.stderr}`);
      assertIncludes(r.stderr, `invalid BPF filter '${expr}'`);
      assertIncludes(r.stderr, reason, expr);
    }
  }));

/** The Debian package that owns libpcap.so.0.8 here, as dpkg says ("libpcap0.8"). */
async function libpcapPackage(): Promise<{ library: string; pkg: string }> {
  const ldconfig = await runOk("ldconfig", ["-p"]);
  const link = ldconfig.match(/libpcap\.so\.0\.8 .*=> (\S+)/)![1];
  const library = (await runOk("readlink", ["-f", link])).trim();
  const owner = await runOk("dpkg", ["-S", library]);
  return { library, pkg: owner.split(":")[0] };
}

function assertMissingLibpcap(r: Run, pkg: string, what: string): void {
  assertEquals(r.code, 1, `${what}: ${r.stderr}`);
  assertIncludes(r.stderr, `apt-get install ${pkg}`, what);
  assert(!r.stderr.includes("internal error"), r.stderr);
}

Deno.test("no usable libpcap: capture and interfaces say which package to install, exit 1", async () => {
  const { library, pkg } = await libpcapPackage();
  assertEquals(pkg, "libpcap0.8");
  for (const [name, path] of [["missing", "/nonexistent/libpcap.so"], ["not libpcap", "libc.so.6"]]) {
    for (const command of [["capture", "-i", "lo", "-c", "1"], ["interfaces"]]) {
      const r = await run(Deno.execPath(), ["run", "--allow-all", MAIN, ...command], {
        env: { NO_COLOR: "1", WIRESIGHT_LIBPCAP: path },
      });
      const what = `${command[0]} with WIRESIGHT_LIBPCAP=${path} (${name})`;
      assertMissingLibpcap(r, pkg, what);
      assertIncludes(r.stderr, `WIRESIGHT_LIBPCAP=${path}`, what);
    }
  }
  // libpcap not installed: the library file hidden from a private mount namespace.
  for (const command of ["capture -i lo -c 1", "interfaces"]) {
    const r = await run("unshare", [
      "--mount",
      "sh",
      "-c",
      `mount --bind /dev/null '${library}' && exec '${DENO}' run --allow-all '${MAIN}' ${command}`,
    ], { env: { NO_COLOR: "1" } });
    assertMissingLibpcap(r, pkg, `${command} without libpcap`);
    assertIncludes(r.stderr, "libpcap is not available");
  }
});
