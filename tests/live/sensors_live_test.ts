/// <reference lib="dom" />
// Many sensors, one store (root): two network namespaces, each with its own traffic on its
// loopback and a `wiresight capture --store --sensor NAME` there, both writing into one private
// PostgreSQL (over its Unix socket, which every namespace reaches: the store's own traffic is not
// captured); a `serve` on the same PostgreSQL, and the page in a browser: both sensors, their
// running captures with counts growing, then each sensor's pages with the counts its capture's
// own report gave. A third capture killed with SIGKILL goes stale (never "running" forever).
import assert from "node:assert/strict";
import { withPage } from "../helpers/browser.ts";
import { run } from "../helpers/capture.ts";
import { LiveWiresight } from "../helpers/live.ts";
import { withPostgres } from "../helpers/postgres.ts";
import { uniqueId } from "../helpers/random.ts";
import { runTool } from "../helpers/tool.ts";
import { sleep, waitFor } from "../helpers/wait.ts";
import { curlJson, withServe } from "../helpers/web.ts";
import { STALE_AFTER_MS } from "../../src/store/types.ts";

const HTTP_PORT = 8080;

/** A namespace with only its loopback up, and a python HTTP server on it. */
async function withNamespace<T>(name: string, fn: (ns: string) => Promise<T>): Promise<T> {
  await run("ip", ["netns", "add", name]);
  try {
    await run("ip", ["netns", "exec", name, "ip", "link", "set", "lo", "up"]);
    const dir = await Deno.makeTempDir({ prefix: "wiresight-sensor-http-" });
    await Deno.writeTextFile(`${dir}/index.html`, `served in ${name}\n`.repeat(40));
    const server = new Deno.Command("ip", {
      args: ["netns", "exec", name, "python3", "-m", "http.server", "--bind", "127.0.0.1", String(HTTP_PORT)],
      cwd: dir,
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await waitFor(`the HTTP server in ${name}`, async () => (await curlIn(name)).code === 0);
      return await fn(name);
    } finally {
      server.kill("SIGTERM");
      await server.status;
      await Deno.remove(dir, { recursive: true });
    }
  } finally {
    await run("ip", ["netns", "delete", name]);
  }
}

function curlIn(ns: string) {
  return runTool("ip", [
    "netns",
    "exec",
    ns,
    "curl",
    "-sS",
    "-o",
    "/dev/null",
    "--max-time",
    "5",
    `http://127.0.0.1:${HTTP_PORT}/`,
  ]);
}

/** `n` curl requests in `ns`, one every `gapMs`. */
async function curls(ns: string, n: number, gapMs: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await curlIn(ns);
    assert.equal(r.code, 0, r.stderr);
    await sleep(gapMs);
  }
}

/** `n` DNS queries with dig in `ns` to a port nobody serves (each answered by an ICMP port unreachable). */
async function digs(ns: string, n: number, gapMs: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        ns,
        "dig",
        "+tries=1",
        "+time=1",
        "-p",
        "5353",
        "@127.0.0.1",
        `q${i}.sensor.test`,
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    await sleep(gapMs);
  }
}

interface Running {
  name: string;
  sessions: number;
  running: { id: number; packets: number; status: string }[];
}

Deno.test("sensors live: two captures in two namespaces into one PostgreSQL, one web view shows both", () =>
  withPostgres(async (pg) => {
    const url = await pg.createDatabase();
    const database = new URL(url).pathname;
    // The captures reach the database by its socket (libpq's variables, as the driver reads them).
    const socketEnv = {
      NO_COLOR: "1",
      DATABASE_URL: `postgres://${database}`,
      PGHOST: pg.socketDir,
      PGPORT: String(pg.port),
      PGUSER: "postgres",
    };
    const id = uniqueId(6);
    const sensors = { a: `s22-a-${id}`, b: `s22-b-${id}`, killed: `s22-k-${id}` };
    await withNamespace(`s22sens-a-${id}`, (nsA) =>
      withNamespace(`s22sens-b-${id}`, async (nsB) => {
        const args = (
          sensor: string,
        ) => ["-i", "lo", "-q", "--report", "json", "--store", "--sensor", sensor];
        const captures: LiveWiresight[] = [];
        try {
          const killed = await LiveWiresight.start(nsA, args(sensors.killed), socketEnv);
          captures.push(killed);
          const a = await LiveWiresight.start(nsA, args(sensors.a), socketEnv);
          captures.push(a);
          const b = await LiveWiresight.start(nsB, args(sensors.b), socketEnv);
          captures.push(b);
          for (const c of captures) {
            assert.match(
              c.stderr,
              /storing as session \d+ of sensor \S+ in postgres postgres:\/\/\/wiresight_test/,
            );
          }
          await withServe(
            ["--listen", "127.0.0.1:0", "--no-capture", "--sensor", `s22-viewer-${id}`],
            (s) =>
              withPage(async ({ page, problems, screenshot }) => {
                const api = async (path: string) => (await curlJson(`${s.origin}/api/${path}`)).json;
                const sensorsNow = async () => (await api("sensors")).sensors as Running[];
                // The killed capture: seen running, then SIGKILL (it cannot close its session).
                await waitFor(
                  "the third capture to show running",
                  async () =>
                    (await sensorsNow()).find((x) => x.name === sensors.killed)?.running.length === 1,
                );
                const killedAt = Date.now();
                await killed.stop("SIGKILL");

                await page.goto(`${s.origin}/#/sensors`);
                await page.waitForSelector("body[data-ready=true]");
                // Traffic in each namespace while the page watches: HTTP in A, DNS and HTTP in B.
                const traffic = Promise.all([
                  curls(nsA, 12, 250),
                  digs(nsB, 10, 300),
                  curls(nsB, 3, 600),
                ]);
                const runningPackets = (sensor: string) =>
                  page.locator(`#running-table tbody tr[data-sensor="${sensor}"]`).getAttribute(
                    "data-packets",
                    {
                      timeout: 10_000,
                    },
                  ).then(Number);
                const seen: Record<string, number[]> = { a: [], b: [] };
                const deadline = Date.now() + 30_000;
                while (Date.now() < deadline && Object.values(seen).some((v) => new Set(v).size < 3)) {
                  await sleep(1000);
                  seen.a.push(await runningPackets(sensors.a));
                  seen.b.push(await runningPackets(sensors.b));
                }
                await traffic;
                await screenshot("sensors-running");
                for (const [k, v] of Object.entries(seen)) {
                  assert.ok(
                    new Set(v).size >= 3,
                    `sensor ${k}'s running count grew in the page: ${v.join(" ")}`,
                  );
                  assert.ok(v.every((n, i) => i === 0 || n >= v[i - 1]), `never shrinks: ${v.join(" ")}`);
                }
                const rowsOf = (sensor: string) =>
                  page.locator(`#sensors-table tbody tr[data-sensor="${sensor}"] td`).allTextContents();
                assert.deepEqual((await rowsOf(sensors.a)).slice(0, 3), [sensors.a, "1", "1"]);
                assert.deepEqual((await rowsOf(sensors.b)).slice(0, 3), [sensors.b, "1", "1"]);

                // Ctrl+C: each capture closes its session with the report it prints.
                const reports: Record<string, { packets: number; bytes: number; flows: number }> = {};
                for (const [k, c] of [["a", a], ["b", b]] as const) {
                  const r = await c.stop("SIGINT");
                  assert.equal(r.code, 0, r.stderr);
                  reports[k] = JSON.parse(r.stdout);
                  assert.ok(reports[k].packets > 20, `${k}: ${reports[k].packets} packets`);
                }
                assert.notEqual(reports.a.packets, reports.b.packets, "two sensors, two different traffics");
                await page.waitForFunction(() =>
                  !document.querySelector("#running-table tbody tr[data-sensor^='s22-a']")
                );
                for (const [k, sensor] of [["a", sensors.a], ["b", sensors.b]] as const) {
                  const want = reports[k];
                  // The sensor selector scopes every page: its latest session is this capture's.
                  await page.selectOption("#sensor", sensor);
                  await page.goto(`${s.origin}/#/dashboard`);
                  await page.waitForFunction(
                    ([name, packets]) =>
                      document.querySelector("#dashboard-title")?.textContent?.includes(name) &&
                      document.querySelector("#stat-packets")?.getAttribute("data-value") === packets,
                    [sensor, String(want.packets)],
                  ).catch(async (e) => {
                    const shown = await page.evaluate(() =>
                      `${document.querySelector("#view")?.textContent?.slice(0, 300)} packets=${
                        document.querySelector("#stat-packets")?.getAttribute("data-value")
                      }`
                    );
                    throw new Error(`${sensor}: want ${want.packets} packets; the page shows ${shown}: ${e}`);
                  });
                  assert.equal(
                    await page.locator("#stat-bytes").getAttribute("data-value"),
                    String(want.bytes),
                  );
                  assert.equal(
                    await page.locator("#stat-flows").getAttribute("data-value"),
                    String(want.flows),
                  );
                  await screenshot(`dashboard-${k}`);
                  await page.goto(`${s.origin}/#/flows`);
                  await page.waitForSelector(`#flows-status[data-total="${want.flows}"]`, {
                    state: "attached",
                  });
                  await page.goto(`${s.origin}/#/history`);
                  await page.waitForFunction(
                    (name) => {
                      const rows = [...document.querySelectorAll("#history-table tbody tr")];
                      return rows.length === 1 && rows[0].textContent!.includes(name) &&
                        rows[0].textContent!.includes("done");
                    },
                    sensor,
                  );
                  const stored = (await api(`captures?sensor=${sensor}`)).sessions;
                  assert.deepEqual(
                    stored.map((x: Record<string, unknown>) => [x.status, x.packets, x.bytes, x.flows]),
                    [["done", want.packets, want.bytes, want.flows]],
                  );
                  const http = await api(`http?sensor=${sensor}`);
                  assert.equal(http.total, k === "a" ? 24 : 6, "a request and a response per curl");
                  const dns = await api(`dns?sensor=${sensor}`);
                  assert.equal(dns.total, k === "a" ? 0 : 10, "B's dig queries, none in A");
                }

                // The killed capture: "stale" once its heartbeat is older than the rule allows.
                const stale = await waitFor("the killed capture to go stale", async () => {
                  const [x] = (await api(`captures?sensor=${sensors.killed}`)).sessions;
                  return x.status === "stale" && x;
                }, { timeoutMs: STALE_AFTER_MS + 30_000, everyMs: 1000 });
                const after = Date.now() - killedAt;
                console.log(`killed capture shown stale ${(after / 1000).toFixed(1)} s after SIGKILL`);
                assert.ok(after >= STALE_AFTER_MS - 5_000, `not before the rule: ${after} ms`);
                assert.ok(stale.packets >= 0);
                assert.deepEqual(
                  (await sensorsNow()).map((x) => [x.name, x.sessions, x.running.length]),
                  [[sensors.a, 1, 0], [sensors.b, 1, 0], [sensors.killed, 1, 0]],
                );
                await page.selectOption("#sensor", "");
                await page.goto(`${s.origin}/#/sensors`);
                await page.waitForSelector("#sensors-table", { state: "attached" });
                assert.equal(await page.locator("#running-table tbody tr").count(), 0);
                assert.deepEqual(problems, []);
              }),
            { env: { DATABASE_URL: url } },
          );
        } finally {
          for (const c of captures) await c.stop("SIGKILL").catch(() => {});
        }
      }));
  }));
