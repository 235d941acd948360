// The eBPF tracker on real traffic (root): real clients and servers on the loopback of a network
// namespace made for each test, the tracker open in this process (or in a Worker). What each
// socket should be comes from the clients themselves (curl -w '%{local_port}', dig/nc bound to a
// chosen port), never from the tracker. Short-lived clients are the point: /proc scans name 20 of
// 50 curls and 2 of 50 digs; the tracker must name at least 99 %.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { run, withNetns } from "../helpers/capture.ts";
import { spawnIn } from "../helpers/netns.ts";
import { EbpfTracker, type TrackedProcess } from "../../src/proc/ebpf/tracker.ts";
import type { ProcessInfo } from "../../src/proc/process.ts";

const PYTHON = "/usr/bin/python3";
const dec = new TextDecoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lo = (port: number) => ({ address: "127.0.0.1", port });

/** The tracker, drained every 10 ms as a capture loop would, around `fn`. */
async function withTracker<T>(fn: (t: EbpfTracker) => Promise<T>): Promise<T> {
  const t = EbpfTracker.open();
  const timer = setInterval(() => t.poll(), 10);
  try {
    return await fn(t);
  } finally {
    clearInterval(timer);
    const { lost } = t.stats();
    t.close();
    assertEquals(lost, 0, "the ring buffer overflowed");
  }
}

/**
 * `cmd args` inside namespace `ns` (ip execs it: the pid is the command's); its pid and stdout.
 * `shellPrefix` runs first, in a shell that then execs ip (same pid again).
 */
async function inNs(ns: string, cmd: string, args: string[], stdin?: string, shellPrefix?: string) {
  const argv = ["netns", "exec", ns, cmd, ...args];
  const c = new Deno.Command(shellPrefix ? "sh" : "ip", {
    args: shellPrefix ? ["-c", `${shellPrefix} ip "$@"`, "sh", ...argv] : argv,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(10000),
  }).spawn();
  if (stdin !== undefined) {
    const w = c.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await c.output();
  return { pid: c.pid, ok: out.success, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs `count` jobs, `parallel` at a time. */
async function pool<T>(count: number, parallel: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all([...Array(parallel)].map(async () => {
    while (next < count) {
      const i = next++;
      out[i] = await job(i);
    }
  }));
  return out;
}

async function until(what: string, check: () => Promise<boolean>, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const netnsOf = (ns: string) => Deno.statSync(`/run/netns/${ns}`).ino!;

function named(p: TrackedProcess | null, name: string, pid?: number): boolean {
  return p !== null && p.name === name && (pid === undefined || p.pid === pid);
}

Deno.test("200 short-lived curl clients of python's http.server: both ends named, by exact tuple", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_ebpf_" });
  try {
    await Deno.writeTextFile(`${dir}/index.html`, "hello\n");
    await withNetns(async (ns) => {
      const netns = netnsOf(ns);
      await withTracker(async (t) => {
        // Started with the tracker open: its listen() is seen too.
        const server = spawnIn(ns, PYTHON, ["-m", "http.server", "8080", "--bind", "127.0.0.1", "-d", dir]);
        try {
          await until(
            "http.server",
            async () => (await inNs(ns, "curl", ["-sf", "http://127.0.0.1:8080/"])).ok,
          );
          const curls = await pool(
            200,
            8,
            () =>
              inNs(ns, "curl", ["-s", "-o", "/dev/null", "-w", "%{local_port}", "http://127.0.0.1:8080/"]),
          );
          t.poll();
          const curlExe = Deno.realPathSync("/usr/bin/curl");
          let clients = 0, servers = 0, threads = 0;
          const misses: string[] = [];
          for (const c of curls) {
            const port = Number(c.stdout);
            assert(c.ok && port > 0, c.stderr);
            const s = t.socket("tcp", lo(port), lo(8080), netns);
            const p = s?.process ?? null;
            if (
              named(p, "curl", c.pid) && p!.exe === curlExe && p!.cmdline.includes("127.0.0.1:8080") &&
              p!.exited
            ) {
              clients++;
            } else misses.push(`client ${port}: ${JSON.stringify(s)}`);
            if (s?.match === "exact" && s.netns === netns) threads++;
            // The same endpoints written as IPv4-mapped IPv6 (a dual-stack capture's view).
            const mapped = t.lookup("tcp", { address: "::ffff:127.0.0.1", port }, lo(8080), netns);
            if (mapped !== p) misses.push(`mapped ${port}: ${JSON.stringify(mapped)}`);
            const srv = t.lookup("tcp", lo(8080), lo(port), netns);
            if (named(srv, "python3", server.proc.pid)) servers++;
            else misses.push(`server side of ${port}: ${JSON.stringify(srv)}`);
          }
          console.log(`curl clients named: ${clients}/200, python3 server side: ${servers}/200`);
          assert(clients >= 198, misses.slice(0, 5).join("\n"));
          assert(servers >= 198, misses.slice(0, 5).join("\n"));
          assert(threads >= 198);
          assert(!misses.some((m) => m.startsWith("mapped")), misses.join("\n"));
        } finally {
          await server.stop();
        }
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("200 dig queries to dnsmasq: named dig (the process, not its isc-net thread); dnsmasq by its port", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_ebpf_" });
  try {
    await withNetns(async (ns) => {
      const netns = netnsOf(ns);
      const dnsmasq = spawnIn(ns, "dnsmasq", [
        "-k",
        "-p5353",
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--no-resolv",
        "--no-hosts",
        "--user=root",
        `--pid-file=${dir}/dnsmasq.pid`,
        "--host-record=app.lab.test,10.77.0.2",
      ]);
      try {
        const dig = (port: number) =>
          inNs(ns, "dig", [
            "+short",
            "+tries=1",
            "+time=2",
            "-b",
            `127.0.0.1#${port}`,
            "@127.0.0.1",
            "-p",
            "5353",
            "app.lab.test",
          ]);
        await until("dnsmasq", async () => (await dig(39999)).stdout.trim() === "10.77.0.2");
        // dnsmasq started before the tracker: it is named from its first receive.
        await withTracker(async (t) => {
          const digs = await pool(200, 8, (i) => dig(40000 + i));
          t.poll();
          let clients = 0, servers = 0, otherThread = 0;
          const misses: string[] = [];
          for (const [i, d] of digs.entries()) {
            assertEquals(d.stdout.trim(), "10.77.0.2", d.stderr);
            const s = t.socket("udp", lo(40000 + i), lo(5353), netns);
            if (named(s?.process ?? null, "dig", d.pid)) clients++;
            else misses.push(`dig ${40000 + i}: ${JSON.stringify(s)}`);
            if (s && s.thread !== "dig") otherThread++;
            if (named(t.lookup("udp", lo(5353), lo(40000 + i), netns), "dnsmasq")) servers++;
          }
          console.log(
            `dig clients named: ${clients}/200 (${otherThread} sent from another thread), dnsmasq: ${servers}/200`,
          );
          assert(clients >= 198, misses.slice(0, 5).join("\n"));
          assert(servers >= 198);
        });
      } finally {
        await dnsmasq.stop();
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("nc over TCP, UDP and TCP/IPv6, a refused connect, a raw ICMP socket: all named", async () => {
  await withNetns(async (ns) => {
    const netns = netnsOf(ns);
    await withTracker(async (t) => {
      const cases = [["tcp", "127.0.0.1"], ["udp", "127.0.0.1"], ["tcp", "::1"]] as const;
      for (const [i, [proto, address]] of cases.entries()) {
        // Ports of their own: a TIME_WAIT left by the case before would refuse the bind.
        const [cport, sport] = [41000 + i, 9000 + i];
        const u = proto === "udp" ? ["-u"] : [];
        const at = (port: number) => ({ address, port });
        const server = spawnIn(ns, "nc", [...u, "-l", address, String(sport)]);
        try {
          await sleep(300);
          // -N: shut the TCP connection down at the end of input; -w1: give up on UDP after 1 s.
          const end = proto === "udp" ? "-w1" : "-N";
          const client = await inNs(
            ns,
            "nc",
            [...u, end, "-p", String(cport), address, String(sport)],
            "hi\n",
          );
          assert(client.ok, client.stderr);
          await sleep(100);
          const c = t.lookup(proto, at(cport), at(sport), netns);
          const s = t.lookup(proto, at(sport), at(cport), netns);
          assert(named(c, "nc", client.pid), `${proto} ${address} client: ${JSON.stringify(c)}`);
          assert(named(s, "nc", server.proc.pid), `${proto} ${address} server: ${JSON.stringify(s)}`);
          assert(c!.cmdline.includes(`-p ${cport}`) && s!.cmdline.includes(`-l ${address} ${sport}`));
        } finally {
          await server.stop();
        }
      }
      // A refused connect(): the kernel frees the port before the socket's last transition; the
      // tuple must survive that. The client's port is read off the wire (tcpdump sees the SYN).
      const dump = new Deno.Command("ip", {
        args: ["netns", "exec", ns, "tcpdump", "-l", "-n", "-c", "1", "-i", "lo", "tcp[tcpflags] == tcp-syn"],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(10000),
      }).spawn();
      const stderr = dump.stderr.getReader();
      for (let said = ""; !said.includes("listening on");) {
        const { value, done } = await stderr.read();
        if (done) throw new Error(`tcpdump did not start: ${said}`);
        said += dec.decode(value);
      }
      stderr.releaseLock();
      const refused = await inNs(ns, PYTHON, [
        "-c",
        "import socket; print(socket.socket().connect_ex(('127.0.0.1', 9)))",
      ]);
      const syn = dec.decode((await dump.output()).stdout);
      const port = Number(syn.match(/127\.0\.0\.1\.(\d+) > 127\.0\.0\.1\.9:/)?.[1]);
      assert(refused.stdout.trim() === "111" && port > 0, `${refused.stdout} ${syn}`); // ECONNREFUSED
      const r = t.socket("tcp", lo(port), lo(9), netns);
      assertEquals([r?.process.pid, r?.event], [refused.pid, "connect"]);
      // An ICMP echo request from a raw socket (as ping sends without ping sockets): a raw socket
      // has no port, it is found by its address whatever the echo id.
      const echo = "import socket; s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_ICMP); " +
        "s.sendto(bytes([8,0,0xf7,0xfe,0,1,0,0]),('127.0.0.1',0))";
      const icmp = await inNs(ns, PYTHON, ["-c", echo]);
      assert(icmp.ok, icmp.stderr);
      assert(named(t.lookup("icmp", lo(4242), lo(0), netns), "python3", icmp.pid));
    });
  });
});

Deno.test("a process that exited keeps its name, exe, command line, user and cgroup (a container's)", async () => {
  const cgroot = Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
    .find((l) => l.split(" - ")[1]?.startsWith("cgroup2 "))?.split(" ")[4];
  assert(cgroot, "no cgroup2 mount");
  const id = [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
  const slice = `${cgroot}/wiresight-test-${Deno.pid}.slice`, scope = `${slice}/docker-${id}.scope`;
  await Deno.mkdir(scope, { recursive: true });
  try {
    await withNetns(async (ns) => {
      await withTracker(async (t) => {
        // An unconnected UDP socket (sendto): only its local endpoint is known.
        const script = "import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); " +
          "s.sendto(b'x',('127.0.0.1',9)); print(s.getsockname()[1])";
        // Joins the cgroup before entering the namespace (ip netns exec hides /sys/fs/cgroup).
        const r = await inNs(
          ns,
          PYTHON,
          ["-c", script, "marker-7"],
          undefined,
          `echo $$ > ${scope}/cgroup.procs && exec`,
        );
        assert(r.ok, r.stderr);
        await sleep(50);
        const p = t.process(r.pid);
        assert(p, "not tracked");
        const shown: ProcessInfo = p; // the shape src/proc/linux.ts uses
        assertEquals(shown.name, "python3");
        assertEquals(p.exe, Deno.realPathSync(PYTHON));
        assert(p.cmdline.endsWith("marker-7"), p.cmdline);
        assertEquals([p.uid, p.user, p.exited], [0, "root", true]);
        assertEquals([p.container, p.unit, p.cgroup], [
          id,
          `docker-${id}.scope`,
          `/wiresight-test-${Deno.pid}.slice/docker-${id}.scope`,
        ]);
        const port = Number(r.stdout);
        const s = t.socket("udp", lo(port), lo(9), netnsOf(ns));
        assertEquals([s?.process.pid, s?.match], [r.pid, "local"]);
      });
    });
  } finally {
    await Deno.remove(scope).catch(() => {});
    await Deno.remove(slice).catch(() => {});
  }
});

Deno.test("the tracker works inside a Worker", async () => {
  await withNetns(async (ns) => {
    const server = spawnIn(ns, "nc", ["-l", "127.0.0.1", "9000"]);
    const worker = new Worker(new URL("../helpers/ebpf_worker.ts", import.meta.url), { type: "module" });
    const replies: MessageEvent[] = [];
    worker.onmessage = (m) => replies.push(m);
    const reply = async () => {
      await until("the worker", () => Promise.resolve(replies.length > 0));
      return replies.shift()!.data;
    };
    try {
      assertEquals(await reply(), { ready: true });
      const c = await inNs(ns, "nc", ["-N", "-p", "41002", "127.0.0.1", "9000"], "hi\n");
      assert(c.ok, c.stderr);
      await sleep(50);
      worker.postMessage({ lookup: ["tcp", lo(41002), lo(9000), netnsOf(ns)] });
      const { process } = await reply();
      assertEquals([process?.name, process?.pid], ["nc", c.pid]);
      worker.postMessage({ close: true });
      assertEquals(await reply(), { closed: true });
    } finally {
      worker.terminate();
      await server.stop();
    }
  });
});

Deno.test("without privileges, open() fails with the reason and what to do (no crash)", async () => {
  const repo = new URL("../../", import.meta.url).pathname;
  const dir = await Deno.makeTempDir({ prefix: "wiresight_ebpf_unpriv_" });
  try {
    // The sources, where nobody can read them, and a deno nobody can run.
    for (const d of ["src", "ffi", "tests/helpers"]) {
      await Deno.mkdir(`${dir}/${d}`, { recursive: true });
      await run("cp", ["-r", `${repo}${d}/.`, `${dir}/${d}`]);
    }
    await Deno.copyFile(Deno.execPath(), `${dir}/deno`);
    await run("chown", ["-R", "65534:65534", dir]);
    const open = async (cmd: string, args: string[]) => {
      const out = await new Deno.Command(cmd, {
        args,
        cwd: dir,
        env: { DENO_DIR: `${dir}/.deno`, HOME: dir, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(out.success, dec.decode(out.stderr));
      return JSON.parse(dec.decode(out.stdout));
    };
    const script = [`${dir}/deno`, "run", "--allow-all", `${dir}/tests/helpers/ebpf_open.ts`];
    const nobody = await open("setpriv", [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "--inh-caps=-all",
      ...script,
    ]);
    assertEquals([nobody.opened, nobody.code], [false, "no-permission"]);
    for (const w of ["root", "CAP_BPF", "CAP_PERFMON", "uid 65534"]) {
      assert(nobody.message.includes(w), nobody.message);
    }
    // Root without the capabilities (a container, a hardened service).
    const capless = await open("capsh", [
      "--drop=cap_bpf,cap_perfmon,cap_sys_admin",
      "--",
      "-c",
      script.join(" "),
    ]);
    assertEquals([capless.opened, capless.code], [false, "no-permission"]);
    assert(capless.message.includes("runs as root but without CAP_BPF and CAP_PERFMON"), capless.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
