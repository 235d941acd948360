/// <reference lib="dom" />
// The web view in a real browser (Debian's chromium, headless, via playwright-core): upload a
// corpus capture through the page, read the dashboard, compare it with `wiresight read --report
// json` on the same file; open the flows table, filter and sort it; a bad upload's error shows.
import assert from "node:assert/strict";
import { assertIncludes, wiresight } from "./helpers/cli.ts";
import { corpusFile } from "./helpers/corpus.ts";
import { withPage } from "./helpers/browser.ts";
import { withServe } from "./helpers/web.ts";

const CAPTURE = "afs.pcap";

const cardValue = (page: import("playwright-core").Page, id: string) =>
  page.locator(`#stat-${id}`).getAttribute("data-value").then(Number);

/** The text of each cell of a table's body, by row. */
const tableCells = (page: import("playwright-core").Page, selector: string) =>
  page.locator(`${selector} tbody tr`).evaluateAll((rows) =>
    rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent ?? ""))
  );

Deno.test("web browser: upload a corpus capture, the dashboard equals read --report json; flows filter", async () => {
  const file = corpusFile(CAPTURE);
  const read = await wiresight(["read", file, "--report", "json"]);
  assert.equal(read.code, 0, read.stderr);
  const report = JSON.parse(read.stdout);
  const dir = await Deno.makeTempDir({ prefix: "wiresight-browser-" });
  try {
    await withServe(
      ["--listen", "127.0.0.1:0", "--db", `${dir}/h.sqlite`],
      (s) =>
        withPage(async ({ page, problems, screenshot }) => {
          await page.goto(`${s.origin}/#/upload`);
          await page.waitForSelector("body[data-ready=true]");
          await page.setInputFiles("#upload-file", file);
          await page.click("#upload-button");
          await page.waitForFunction(() => location.hash === "#/dashboard");
          await page.waitForFunction(() =>
            document.querySelector("#stat-packets")?.getAttribute("data-value")
          );
          await page.waitForSelector("#talkers-table tbody tr");

          assert.match(
            await page.textContent("#dashboard-title") ?? "",
            new RegExp(`Session \\d+: ${CAPTURE}`),
          );
          assert.equal(await cardValue(page, "packets"), report.packets);
          assert.equal(await cardValue(page, "bytes"), report.bytes);
          assert.equal(await cardValue(page, "flows"), report.flows);
          assert.equal(await cardValue(page, "duration"), report.duration_s);
          assert.equal(await cardValue(page, "pps"), report.rates.packets_per_s);
          assert.equal(await cardValue(page, "bps"), report.rates.bits_per_s);
          assert.equal(await cardValue(page, "avg"), report.rates.avg_packet_bytes);
          assert.equal(await page.textContent("#stat-packets"), report.packets.toLocaleString("en-US"));
          const talkers = await tableCells(page, "#talkers-table");
          assert.deepEqual(
            talkers.map((r) => [r[0], Number(r[2].replace(/,/g, ""))]),
            report.top_talkers.map((t: { address: string; packets: number }) => [t.address, t.packets]),
          );
          // Country and AS: the talkers' columns, and the countries and AS tables (geoip).
          assert.deepEqual(
            talkers.map((r) => [r[4], r[5]]),
            report.top_talkers.map((
              t: { country: string; asn: number | null },
            ) => [t.country, String(t.asn ?? "")]),
          );
          assert.ok(report.top_countries.some((c: { country: string }) => c.country === "US"));
          await page.waitForSelector("#countries-table tbody tr");
          assert.deepEqual(
            (await tableCells(page, "#countries-table")).map((r) => [r[0], Number(r[1].replace(/,/g, ""))]),
            report.top_countries.map((c: { country: string; flows: number }) => [c.country, c.flows]),
          );
          assert.deepEqual(
            (await tableCells(page, "#as-table")).map((r) => [Number(r[0]), r[1]]),
            report.top_as.map((a: { asn: number; as_org: string }) => [a.asn, a.as_org]),
          );
          const ports = await tableCells(page, "#ports-table");
          assert.deepEqual(
            ports.map((r) => [r[0], r[1], Number(r[3].replace(/,/g, ""))]),
            report.top_ports.map((p: { protocol: string; port: number | null; packets: number }) => [
              p.protocol,
              p.port === null ? "" : String(p.port),
              p.packets,
            ]),
          );
          // The charts drew (Chart.js sizes its canvases once it renders).
          for (
            const id of [
              "chart-timeline",
              "chart-protocols",
              "chart-talkers",
              "chart-ports",
              "chart-countries",
            ]
          ) {
            const width = await page.locator(`#${id}`).evaluate((c) => (c as HTMLCanvasElement).width);
            assert.ok(width > 100, `${id} drawn`);
          }
          await screenshot("dashboard-upload");

          // Flows: the whole list, then filtered on the server.
          await page.click("#nav-flows");
          await page.waitForSelector("#flows-table tbody tr");
          const total = () => page.locator("#flows-status").getAttribute("data-total").then(Number);
          assert.equal(await total(), report.flow_table.records);
          const all = await tableCells(page, "#flows-table");
          const udp = all.filter((r) => r[1] === "UDP").length;
          assert.ok(udp > 0 && udp < all.length, "the capture has UDP and other flows");
          await page.selectOption("#flows-filter-protocol", "UDP");
          await page.waitForFunction(
            (n) => document.querySelector("#flows-status")?.getAttribute("data-total") === String(n),
            udp,
          );
          const filtered = await tableCells(page, "#flows-table");
          assert.equal(filtered.length, udp);
          assert.ok(filtered.every((r) => r[1] === "UDP"));
          // Sort by bytes, most first (a second click on the header).
          await page.click('#flows-table th[data-key="packets"]');
          await page.waitForSelector('#flows-table th[data-key="packets"]:has-text("▲")');
          await page.click('#flows-table th[data-key="packets"]');
          await page.waitForSelector('#flows-table th[data-key="packets"]:has-text("▼")');
          const packets = (await tableCells(page, "#flows-table")).map((r) => Number(r[8].replace(/,/g, "")));
          assert.deepEqual(packets, [...packets].sort((a, b) => b - a));
          await screenshot("flows-udp-by-packets");
          // A search that matches nothing empties the table.
          await page.fill("#flows-filter-q", "no-such-flow'; --");
          await page.waitForFunction(() =>
            document.querySelector("#flows-status")?.getAttribute("data-total") === "0"
          );

          // The other pages show this session's rows.
          const listTotal = async (view: string, id: string) => {
            await page.click(`#nav-${view}`);
            await page.waitForSelector(`#${id}-status[data-total]`);
            return Number(await page.locator(`#${id}-status`).getAttribute("data-total"));
          };
          assert.equal(await listTotal("packets", "packets"), report.packets);
          assert.equal(await listTotal("dns", "dns"), 0);
          assert.equal(await listTotal("alerts", "alerts"), 0);
          await page.click("#nav-history");
          await page.waitForSelector("#history-table tbody tr");
          assert.deepEqual((await tableCells(page, "#history-table")).map((r) => [r[3], r[5]]), [[
            CAPTURE,
            "done",
          ]]);

          // A file that is not a capture: the page says why.
          const junk = `${dir}/junk.pcap`;
          await Deno.writeTextFile(junk, "this is a text file, not a capture\n");
          await page.click("#nav-upload");
          await page.setInputFiles("#upload-file", junk);
          await page.click("#upload-button");
          await page.waitForSelector("#upload-status.error");
          assertIncludes(await page.textContent("#upload-status") ?? "", "not a pcap or pcapng capture");
          await screenshot("upload-refused");
          assert.deepEqual(
            problems.filter((p) => !p.includes("415")),
            [],
            "no console errors or CSP violations",
          );
        }),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
