/// <reference lib="dom" />
// Live capture in the web view (root): started and stopped from the page on loopback while real
// curl requests run, the dashboard's counters move; under thousands of packets per second the
// page stays responsive (the server aggregates and pushes at most a few snapshots a second);
// `capture --serve` records its session. Run alone after the parallel suite (timing).
import assert from "node:assert/strict";
import { freePort } from "../helpers/capture.ts";
import { withPage } from "../helpers/browser.ts";
import { curl, curlJson, withServe } from "../helpers/web.ts";
import { runTool } from "../helpers/tool.ts";
import { sleep, waitFor } from "../helpers/wait.ts";

/** python3's http.server on 127.0.0.1:port, in a temporary directory. */
async function withHttpServer<T>(fn: (port: number) => Promise<T>): Promise<T> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "wiresight-http-" });
  await Deno.writeTextFile(`${dir}/index.html`, "hello from the test server\n".repeat(50));
  const server = new Deno.Command("python3", {
    args: ["-m", "http.server", "--bind", "127.0.0.1", String(port)],
    cwd: dir,
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitFor("the HTTP server", async () => {
      const r = await fetch(`http://127.0.0.1:${port}/`);
      await r.body?.cancel();
      return r.ok;
    });
    return await fn(port);
  } finally {
    server.kill("SIGTERM");
    await server.status;
    await Deno.remove(dir, { recursive: true });
  }
}

/** `n` curl requests, one every `gapMs`. */
async function curls(port: number, n: number, gapMs: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await runTool("curl", ["-sS", "-o", "/dev/null", "--max-time", "5", `http://127.0.0.1:${port}/`]);
    await sleep(gapMs);
  }
}

Deno.test("web live: start a capture on loopback from the page, curl runs, the counters move, stop", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight-live-" });
  try {
    await withHttpServer((port) =>
      withServe(
        ["--listen", "127.0.0.1:0", "--db", `${dir}/h.sqlite`],
        (s) =>
          withPage(async ({ page, problems, screenshot }) => {
            await page.goto(`${s.origin}/#/dashboard`);
            await page.waitForSelector("body[data-ready=true]");
            await page.selectOption("#capture-interface", "lo");
            // Only the test's HTTP traffic: the page's own requests to the server are on lo too.
            await page.fill("#capture-filter", `tcp port ${port}`);
            await page.click("#capture-start");
            await page.waitForSelector("#capture-state[data-running=true]", { state: "attached" });
            await page.waitForFunction(() =>
              document.querySelector("#dashboard-title")?.textContent?.includes("(live)")
            );
            const packets = () => page.locator("#stat-packets").getAttribute("data-value").then(Number);
            const seen: number[] = [];
            const traffic = curls(port, 25, 120);
            const deadline = Date.now() + 20_000;
            while (Date.now() < deadline && (seen.length < 4 || seen.at(-1)! < 200)) {
              await new Promise((r) => setTimeout(r, 700));
              seen.push(await packets());
            }
            await traffic;
            await screenshot("dashboard-live");
            const rises = seen.filter((v, i) => i > 0 && v > seen[i - 1]).length;
            assert.ok(rises >= 2, `the packet counter rose while curl ran: ${seen.join(" ")}`);
            const sessionId = Number(await page.locator("#dashboard-title").getAttribute("data-session"));
            await page.click("#capture-stop");
            await page.waitForSelector("#capture-state[data-running=false]", { state: "attached" });
            const stats = (await curlJson(`${s.origin}/api/stats?session=${sessionId}`)).json;
            assert.equal(stats.session.status, "done");
            assert.equal(stats.session.kind, "capture");
            assert.ok(stats.packets >= seen.at(-1)!, `${stats.packets} >= ${seen.at(-1)}`);
            // Each curl request is one TCP connection to the server's port.
            const flows =
              (await curlJson(`${s.origin}/api/flows?session=${sessionId}&dst_port=${port}&limit=1000`)).json;
            assert.equal(flows.total, 25);
            assert.ok(flows.rows.every((f: { app: string }) => f.app === "http"));
            const owned = flows.rows.filter((f: { process: string }) => f.process === "curl").length;
            console.log(`flows owned by curl: ${owned} of ${flows.total}`);
            assert.ok(owned > 0, "flows name their process");
            const http = (await curlJson(`${s.origin}/api/http?session=${sessionId}&limit=1000`)).json;
            assert.equal(http.total, 50, "25 requests and 25 responses");
            assert.deepEqual(problems, []);
          }),
      )
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Sends `count` UDP datagrams to a receiver on 127.0.0.1:port (both in one python process). */
function flood(port: number, count: number, seconds: number): Deno.ChildProcess {
  const script = `
import socket, time
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); rx.bind(("127.0.0.1", ${port})); rx.setblocking(False)
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.time() + ${seconds}; sent = 0; payload = b"x" * 100
while sent < ${count} and time.time() < end:
    for _ in range(100):
        tx.sendto(payload, ("127.0.0.1", ${port})); sent += 1
    try:
        while True: rx.recv(2048)
    except BlockingIOError: pass
    time.sleep(0.01)
print(sent)
`;
  return new Deno.Command("python3", { args: ["-c", script], stdout: "piped" }).spawn();
}

Deno.test("web live: thousands of packets per second, the page stays responsive", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight-live-" });
  try {
    await withServe(
      ["--listen", "127.0.0.1:0", "--db", `${dir}/h.sqlite`],
      (s) =>
        withPage(async ({ page, problems, screenshot }) => {
          await page.goto(`${s.origin}/#/dashboard`);
          await page.waitForSelector("body[data-ready=true]");
          const port = freePort();
          await page.selectOption("#capture-interface", "lo");
          await page.fill("#capture-filter", `udp port ${port}`);
          await page.click("#capture-start");
          await page.waitForSelector("#capture-state[data-running=true]", { state: "attached" });
          await page.waitForFunction(() =>
            document.querySelector("#dashboard-title")?.textContent?.includes("(live)")
          );
          // In the page: how late 50 ms timers fire (main thread busy) and how often the counter changes.
          const probe = page.evaluate(() =>
            new Promise<{ maxLagMs: number; updates: number; seconds: number }>((resolve) => {
              const el = document.querySelector("#stat-packets")!;
              let updates = 0;
              new MutationObserver(() => updates++).observe(el, {
                childList: true,
                characterData: true,
                subtree: true,
              });
              const start = performance.now();
              let last = start, maxLag = 0;
              const tick = () => {
                const now = performance.now();
                maxLag = Math.max(maxLag, now - last - 50);
                last = now;
                if (now - start < 5000) setTimeout(tick, 50);
                else resolve({ maxLagMs: maxLag, updates, seconds: (now - start) / 1000 });
              };
              setTimeout(tick, 50);
            })
          );
          const sender = flood(port, 60_000, 6);
          const result = await probe;
          const sent = Number(new TextDecoder().decode((await sender.output()).stdout).trim());
          // The page catches up with the last snapshots (bounded: a page that never does fails below).
          const shown = () => page.locator("#stat-packets").getAttribute("data-value").then(Number);
          await waitFor("the page to count the flood", async () => (await shown()) >= sent * 0.9, {
            timeoutMs: 20_000,
          }).catch(() => {});
          const counted = await shown();
          await screenshot("dashboard-flood");
          await curl(`${s.origin}/api/capture/stop`, ["-X", "POST"]);
          const rate = sent / 6;
          console.log(
            `flood: ${sent} datagrams (${Math.round(rate)}/s offered), ${counted} counted by the page; ` +
              `page timers at most ${
                result.maxLagMs.toFixed(0)
              } ms late; ${result.updates} counter updates in ` +
              `${result.seconds.toFixed(1)} s`,
          );
          assert.ok(sent >= 20_000, `the flood sent ${sent}`);
          assert.ok(counted >= sent * 0.9, `the page counted ${counted} of ${sent}`);
          assert.ok(
            result.updates / result.seconds <= 3,
            `at most a few updates a second (${result.updates})`,
          );
          assert.ok(result.updates >= 4, "the counter kept updating");
          assert.ok(result.maxLagMs < 250, `the page stayed responsive (timers ${result.maxLagMs} ms late)`);
          assert.deepEqual(problems, []);
        }),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("web live: capture --serve records a capture that the API shows live and then stored", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight-live-" });
  try {
    await withHttpServer((port) =>
      withServe(
        [
          "-i",
          "lo",
          "-f",
          `tcp port ${port}`,
          "-c",
          "40",
          "--serve",
          "--listen",
          "127.0.0.1:0",
          "--db",
          `${dir}/h.sqlite`,
        ],
        async (s) => {
          const status = (await curlJson(`${s.origin}/api/capture/status`)).json;
          assert.equal(status.running, true);
          assert.equal(status.interface, "lo");
          await curls(port, 3, 100);
          const live = (await curlJson(`${s.origin}/api/stats`)).json;
          assert.equal(live.live, true);
          assert.ok(live.packets > 0);
          // More requests until the 40-packet count stops the capture.
          const deadline = Date.now() + 20_000;
          while ((await curlJson(`${s.origin}/api/capture/status`)).json.running && Date.now() < deadline) {
            await curls(port, 1, 50);
          }
          const stored = (await curlJson(`${s.origin}/api/stats?session=${status.session}`)).json;
          assert.equal(stored.session.status, "done");
          assert.equal(stored.packets, 40);
          assert.match(s.log(), /capture ended: 40 packets/);
        },
        { command: ["capture"] },
      )
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
