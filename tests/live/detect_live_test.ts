// Detection tests that depend on timing: a jittered beacon (its score measures real intervals),
// floods from hping3 (packet rates), and `capture --detect` printing an alert while the attack is
// still going on. Run alone, after the parallel suite (a loaded machine bends the timings).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { spawnIn, withNetPair } from "../helpers/netns.ts";
import { captureLoopback } from "../helpers/capture.ts";
import {
  CLIENT,
  inClient,
  ofType,
  randomSourceSynFlood,
  readDetect,
  SERVER,
  waitPort,
} from "../helpers/detect.ts";
import { LiveWiresight, sleep } from "../helpers/live.ts";
import { Seeded } from "../helpers/random.ts";

Deno.test("beacon: curl every 0.3 s with jitter is scored as a beacon; random traffic is not", () =>
  withNetPair(async (net) => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight_beacon_" });
    // Files of very different sizes for the irregular client.
    for (let i = 0; i < 12; i++) await Deno.writeTextFile(`${dir}/f${i}`, "x".repeat(200 + 5000 * i));
    const servers = [8080, 8081].map((port) =>
      spawnIn(net.server, "python3", ["-m", "http.server", String(port), "--bind", SERVER, "-d", dir])
    );
    try {
      await waitPort(net, 8080);
      await waitPort(net, 8081);
      const cap = await captureLoopback(dir, "beacon.pcap", "tcp", net.client, net.clientIf);
      const get = (port: number, path: string) =>
        inClient(net, "curl", [
          "-s",
          "-o",
          "/dev/null",
          "--max-time",
          "2",
          `http://${SERVER}:${port}/${path}`,
        ]);
      // Seeded: the same jitter, files and pauses on every run.
      const regular = (async () => {
        const random = new Seeded(0xbeac0);
        for (let i = 0; i < 24; i++) {
          await get(8080, "f0");
          await sleep(random.between(250, 350));
        }
      })();
      const irregular = (async () => {
        const random = new Seeded(0x1223);
        for (let i = 0; i < 12; i++) {
          await get(8081, `f${random.int(12)}`);
          await sleep(random.next() < 0.5 ? random.between(30, 130) : random.between(400, 1600));
        }
      })();
      await Promise.all([regular, irregular]);
      const path = await cap.stop();
      const { alerts } = await readDetect(path);
      const beacons = ofType(alerts, "beacon");
      assertEquals(beacons.map((a) => [a.flow.src_ip, a.flow.dest_ip, a.flow.dest_port]), [[
        CLIENT,
        SERVER,
        8080,
      ]]);
      assert(Number(beacons[0].evidence.score) >= 0.8, JSON.stringify(beacons[0].evidence));
      assert(Number(beacons[0].evidence.connections) >= 15);
    } finally {
      for (const s of servers) await s.stop();
    }
    await Deno.remove(dir, { recursive: true });
  }));

Deno.test("floods: hping3 SYN flood (one source, then spoofed sources) is one alert, a connection flood another", () =>
  withNetPair(async (net) => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight_flood_" });
    const server = spawnIn(net.server, "python3", ["-m", "http.server", "8080", "--bind", SERVER, "-d", dir]);
    try {
      await waitPort(net, 8080);
      const cap = await captureLoopback(dir, "flood.pcap", "tcp", net.client, net.clientIf);
      await inClient(net, "hping3", ["-q", "-S", "-p", "80", "-i", "u50", "-c", "20000", SERVER]).catch(
        () => {},
      );
      await randomSourceSynFlood(net, "u200", 3000);
      await inClient(net, "sh", ["-c", `for i in $(seq 150); do nc -z -w 1 ${SERVER} 8080; done`]);
      const path = await cap.stop();
      const { alerts } = await readDetect(path);
      // Both SYN floods hit one service: one alert, its sources counted across them. The flooder's
      // and the server's packet rates are part of that incident, not alerts of their own.
      const floods = ofType(alerts, "syn_flood");
      assertEquals(
        floods.map((a) => [a.flow.dest_ip, a.flow.dest_port]),
        [[SERVER, 80]],
        JSON.stringify(floods),
      );
      const toServer = floods[0];
      assert(Number(toServer.evidence.sources) >= 100, JSON.stringify(toServer.evidence));
      assertEquals(toServer.flow.src_ip, CLIENT, "the single-source flood, raised first, names its source");
      assertEquals(ofType(alerts, "packet_rate"), []);
      // The 150 completed connections to another service: a connection flood.
      const conn = ofType(alerts, "connection_flood").find((a) =>
        a.flow.src_ip === CLIENT && a.flow.dest_ip === SERVER && a.flow.dest_port === 8080
      );
      assert(conn && Number(conn.evidence.connections) >= 100, JSON.stringify(alerts.map((a) => a.message)));
    } finally {
      await server.stop();
    }
    await Deno.remove(dir, { recursive: true });
  }));

Deno.test("capture --detect prints the scan's alert while capture goes on, and writes EVE", () =>
  withNetPair(async (net) => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight_live_detect_" });
    const ws = await LiveWiresight.start(net.client, [
      "-i",
      net.clientIf,
      "-q",
      "--report",
      "none",
      "--detect",
      "--alerts",
      `${dir}/eve.ndjson`,
    ]);
    try {
      await inClient(net, "nmap", ["-sS", "-Pn", "-n", "-T4", "--top-ports", "100", SERVER]);
      // The alert line comes while capture goes on (it is stopped only after).
      await ws.waitForStdout("the scan's alert line", "port_scan.vertical");
      assert(ws.stdout.includes(`${CLIENT} -> ${SERVER}`));
    } finally {
      const out = await ws.stop();
      assertEquals(out.code, 0, out.stderr);
    }
    const eve = (await Deno.readTextFile(`${dir}/eve.ndjson`)).trim().split("\n").map((l) => JSON.parse(l));
    const scan = eve.find((e) => e.event_type === "alert" && e.wiresight.type === "port_scan.vertical");
    assertEquals([scan.src_ip, scan.dest_ip], [CLIENT, SERVER]);
    await Deno.remove(dir, { recursive: true });
  }));
