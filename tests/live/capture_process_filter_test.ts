// --process and --process-name keep exactly the packets of the programs they name (root). curl,
// a copy of curl under a directory of its own, dig and nc (through its /usr/bin/nc symlink) each
// talk to real servers from local ports the test picks, so their packets are known without asking
// wiresight; captures with each filter run side by side with an unfiltered tcpdump, and each
// pcapng must hold exactly the packets of the matching programs' ports.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { captureLoopback } from "../helpers/capture.ts";
import {
  client,
  curl,
  dig,
  LiveWiresight,
  packetKeys,
  waitPcapngPackets,
  waitTcpQuiet,
  withLab,
} from "../helpers/live.ts";

/** Which programs each filter keeps, by the name the test gives them. */
const CASES: { args: (bin: string) => string[]; keeps: string[] }[] = [
  { args: () => ["--process", "/usr/bin/curl"], keeps: ["curl"] },
  { args: (bin) => ["--process", bin], keeps: ["mycurl"] },
  { args: (bin) => ["--process", `${bin}/`, "--process", "/usr/bin/curl"], keeps: ["curl", "mycurl"] },
  // A symlink (via /etc/alternatives): the process runs /usr/bin/nc.openbsd.
  { args: () => ["--process", "/usr/bin/nc"], keeps: ["nc"] },
  { args: () => ["--process-name", "dig"], keeps: ["dig"] },
  { args: () => ["--process-name", "curl", "--process-name", "nc"], keeps: ["curl", "nc"] },
  // The kernel cuts names to 15 bytes: the full name still matches.
  { args: () => ["--process-name", "curl-with-a-long-name"], keeps: ["long"] },
  // Both must hold: the name, and the executable under the directory.
  { args: (bin) => ["--process-name", "curl", "--process", bin], keeps: [] },
  { args: () => ["--process-name", "dig", "--direction", "in"], keeps: ["dig in"] },
];

Deno.test("capture --process and --process-name keep exactly their programs' packets", () =>
  withLab("wiresight_process_filter_", async (net, dir) => {
    const bin = `${dir}/bin`;
    await Deno.mkdir(bin);
    await Deno.copyFile("/usr/bin/curl", `${bin}/mycurl`);
    await Deno.copyFile("/usr/bin/curl", `${dir}/curl-with-a-long-name`);
    for (const p of [`${bin}/mycurl`, `${dir}/curl-with-a-long-name`]) await Deno.chmod(p, 0o755);
    await Deno.writeTextFile(`${dir}/hello.txt`, "hello\n");
    const reference = await captureLoopback(dir, "all.pcap", "", net.client, net.clientIf);
    const runs = await Promise.all(CASES.map(async (c, i) => ({
      c,
      path: `${dir}/${i}.pcapng`,
      ws: await LiveWiresight.start(net.client, [
        "-i",
        net.clientIf,
        "-q",
        "--report",
        "json",
        "--write",
        `${dir}/${i}.pcapng`,
        ...c.args(bin),
      ]),
    })));
    const ports: Record<string, number[]> = { curl: [], mycurl: [], dig: [], nc: [], long: [] };
    for (let i = 0; i < 2; i++) {
      await curl(net, 46000 + i);
      ports.curl.push(46000 + i);
      await curl(net, 46100 + i, "/index.html", `${bin}/mycurl`);
      ports.mycurl.push(46100 + i);
      await curl(net, 46400 + i, "/index.html", `${dir}/curl-with-a-long-name`);
      ports.long.push(46400 + i);
      await dig(net, 46200 + i, "app.lab.test");
      ports.dig.push(46200 + i);
      // exec with a redirect, not a pipe: the pid is nc's own.
      await client(net, "sh", [
        "-c",
        `exec nc -p ${46300 + i} -w 2 ${net.serverAddr} 9000 < ${dir}/hello.txt`,
      ]);
      ports.nc.push(46300 + i);
    }
    // The traffic is over and tcpdump has all of it; then each capture, once its pcapng holds the
    // packets its filter should keep (stopping earlier would lose what waits in the kernel's buffer).
    await waitTcpQuiet(net.client, net.server);
    await reference.stop();
    const of = (name: string) => ports[name].map((p) => `tcp.port == ${p} or udp.port == ${p}`);
    const expectedOf = async (c: typeof CASES[number]) => {
      const clauses = c.keeps.flatMap((k) =>
        k === "dig in" ? of("dig").map((p) => `(${p}) and ip.dst == ${net.clientAddr}`) : of(k)
      );
      return clauses.length ? await packetKeys(`${dir}/all.pcap`, clauses.join(" or ")) : [];
    };
    const expectations = await Promise.all(runs.map(({ c }) => expectedOf(c)));
    // A capture that never gets there fails below, with the packets it lacks.
    await Promise.all(
      runs.map(({ path }, i) => waitPcapngPackets(path, expectations[i].length).catch(() => {})),
    );
    const results = [];
    for (const r of runs) results.push({ ...r, out: await r.ws.stop() });
    for (const [i, { c, path, out }] of results.entries()) {
      const what = c.args(bin).join(" ");
      assertEquals(out.code, 0, `${what}: ${out.stderr}`);
      const expected = expectations[i];
      assert(c.keeps.length === 0 || expected.length > 0, what);
      assertEquals(await packetKeys(path), expected, what);
      assertEquals(JSON.parse(out.stdout).packets, expected.length, `${what}: the report`);
    }
  }, { ipv4Only: true }));
