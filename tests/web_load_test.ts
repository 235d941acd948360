// The web server while it analyses a large upload (a random-source SYN flood, tens of MB, made
// here): the page, the API and the event stream keep answering, since the analysis runs in a
// worker; and uploads past the analysis queue are answered 503 with Retry-After. The figures
// (median and slowest answer) go to stderr; the limits are generous for a loaded machine.
import assert from "node:assert/strict";
import { capinfos, SAMPLE } from "./helpers/cli.ts";
import { writeSynFlood } from "./helpers/syn_flood.ts";
import { type Served, withServe } from "./helpers/web.ts";
import { sleep, waitFor } from "./helpers/wait.ts";

/** 300,000 SYNs: 21 MB. */
const FLOOD_PACKETS = 300_000;
const LIMIT_MS = 1000;

let flood: Promise<{ dir: string; path: string }> | undefined;

/** The flood capture, made once for this file's tests (removed at exit). */
function floodCapture() {
  flood ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight-load-" });
    const path = `${dir}/flood.pcap`;
    await writeSynFlood(path, FLOOD_PACKETS);
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    return { dir, path };
  })();
  return flood;
}

async function postCapture(s: Served, path: string, name: string): Promise<Response> {
  const file = await Deno.open(path);
  return fetch(`${s.origin}/api/upload?name=${name}`, {
    method: "POST",
    headers: {
      "content-type": "application/octet-stream",
      "content-length": String((await file.stat()).size),
    },
    body: file.readable,
  });
}

async function session(s: Served, id: number) {
  const r = await fetch(`${s.origin}/api/captures/${id}`);
  return await r.json();
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function get(s: Served, path: string): Promise<void> {
  const r = await fetch(`${s.origin}${path}`);
  assert.equal(r.status, 200, path);
  await r.arrayBuffer();
}

/** Opens the event stream and reads until its first event (the capture status it sends at once). */
async function firstEvent(s: Served): Promise<void> {
  const ac = new AbortController();
  const r = await fetch(`${s.origin}/api/events`, { signal: ac.signal });
  const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  ac.abort();
  await reader.cancel().catch(() => {});
  assert.match(text, /^event: capture/m);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

Deno.test("web load: page, API and events answer while a large capture is analysed", async () => {
  const { dir, path } = await floodCapture();
  const expected = await capinfos(path);
  await withServe(["--listen", "127.0.0.1:0", "--db", `${dir}/load.sqlite`], async (s) => {
    const up = await postCapture(s, path, "flood.pcap");
    assert.equal(up.status, 202);
    const { session: id, size } = await up.json();
    assert.equal(size, (await Deno.stat(path)).size);
    const probes: Record<string, () => Promise<void>> = {
      "GET /": () => get(s, "/"),
      "GET /api/capture/status": () => get(s, "/api/capture/status"),
      "GET /api/captures": () => get(s, "/api/captures"),
      "SSE first event": () => firstEvent(s),
    };
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(probes).map((k) => [k, []]));
    const deadline = Date.now() + 15 * 60_000;
    let rounds = 0;
    while ((await session(s, id)).status === "running" && Date.now() < deadline) {
      for (const [name, probe] of Object.entries(probes)) times[name].push(await timed(probe));
      rounds++;
      await sleep(100);
    }
    const done = await session(s, id);
    assert.equal(done.status, "done", JSON.stringify(done));
    assert.ok(rounds >= 5, `only ${rounds} rounds of requests while the analysis ran`);
    for (const [name, ms] of Object.entries(times)) {
      console.error(
        `${name}: median ${median(ms).toFixed(1)} ms, slowest ${Math.max(...ms).toFixed(1)} ms ` +
          `(${ms.length} requests during the analysis)`,
      );
      assert.ok(Math.max(...ms) < LIMIT_MS, `${name}: slowest ${Math.max(...ms)} ms`);
    }
    assert.equal(done.packets, expected.packets, "packets as capinfos counts them");
    assert.equal(done.bytes, expected.bytes, "bytes as capinfos counts them");
    const flows = await (await fetch(`${s.origin}/api/flows?session=${id}&limit=1`)).json();
    assert.equal(flows.total, done.flows, "every flow stored");
  });
});

Deno.test("web load: uploads past the analysis queue get 503 with Retry-After", async () => {
  const { dir, path } = await floodCapture();
  const args = [
    "--listen",
    "127.0.0.1:0",
    "--db",
    `${dir}/queue.sqlite`,
    "--analyses",
    "1",
    "--upload-queue",
    "1",
  ];
  await withServe(args, async (s) => {
    const running = await postCapture(s, path, "flood.pcap");
    assert.equal(running.status, 202);
    const waiting = await postCapture(s, SAMPLE, "waiting.pcapng");
    assert.equal(waiting.status, 202, "one upload may wait its turn");
    const refused = await postCapture(s, SAMPLE, "refused.pcapng");
    assert.equal(refused.status, 503);
    assert.ok(Number(refused.headers.get("retry-after")) > 0, "Retry-After in seconds");
    assert.match((await refused.json()).error, /busy.*1 analyses running and 1 waiting/);
    const ids = [(await running.json()).session, (await waiting.json()).session];
    for (const id of ids) {
      const done = await waitFor(`session ${id} analysed`, async () => {
        const x = await session(s, id);
        return x.status !== "running" && x;
      }, { timeoutMs: 15 * 60_000, everyMs: 500 });
      assert.equal(done.status, "done", JSON.stringify(done));
    }
    const sample = await capinfos(SAMPLE);
    assert.equal((await session(s, ids[1])).packets, sample.packets);
    const later = await postCapture(s, SAMPLE, "later.pcapng");
    assert.equal(later.status, 202, "room again once the queue drained");
    await later.body?.cancel();
  });
});
