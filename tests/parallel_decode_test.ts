// Parallel decoding (src/pipeline/workers.ts): the report of the corpus captures is the same for
// 1, 2 and 3 workers (flow_table.peak aside: with workers it is the sum of their peaks), with
// application decoding, without it, and through filters; a capture cut short still reports what
// was decoded before the cut.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Session } from "../src/pipeline/session.ts";
import type { DecoderConfig } from "../src/decoder/decoder.ts";
import type { Report } from "../src/report/report.ts";
import { corpusRoot } from "./helpers/corpus.ts";
import { runCli } from "./helpers/run_cli.ts";

function captures(dir: string): string[] {
  const found: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) found.push(...captures(path));
    else if (/\.(pcap|pcapng|cap)$/.test(e.name)) found.push(path);
  }
  return found.sort();
}

async function report(
  files: string | string[],
  workers: number,
  decoder: DecoderConfig = {},
  bpf?: string,
  top = 10,
): Promise<Report> {
  const session = await Session.open({ files: [files].flat(), decoder, workers, bpf, top });
  return (await session.run()).report;
}

/**
 * The report of `workers` workers equals one decoder's, peak aside: flows that timed out stay in
 * a table until a sweep reaches them, so the sum of the workers' peaks is no bound of one's.
 */
function assertSameReport(one: Report, many: Report, what: string): void {
  assertEquals({ ...many, flow_table: { ...many.flow_table, peak: 0 } }, {
    ...one,
    flow_table: { ...one.flow_table, peak: 0 },
  }, what);
}

const ALL = captures(corpusRoot());

Deno.test("parallel decoding: all corpus captures read as one give one decoder's report, to 1000 entries a table", async () => {
  assert(ALL.length > 200, `only ${ALL.length} corpus captures`);
  const one = await report(ALL, 1, {}, undefined, 1000);
  for (const n of [2, 3]) assertSameReport(one, await report(ALL, n, {}, undefined, 1000), `${n} workers`);
});

Deno.test("parallel decoding: each of a third of the corpus captures gives one decoder's report", async () => {
  for (const file of ALL.filter((_, i) => i % 3 === 0)) {
    assertSameReport(await report(file, 1), await report(file, 2), `${file} with 2 workers`);
  }
});

Deno.test("parallel decoding: without application decoding and through filters, the same report", async () => {
  const subset = ALL.filter((_, i) => i % 20 === 1);
  const settings: [string, DecoderConfig, string?][] = [
    ["--no-app", { appDecoding: false }],
    ["--port 53 --port 443", { ports: [53, 443] }],
    ["-f 'tcp or icmp'", {}, "tcp or icmp"],
    ["short idle timeouts", { timeouts: { tcpIdle: 2, udpIdle: 1, closedLinger: 1, active: 5 } }],
  ];
  for (const file of subset) {
    for (const [what, decoder, bpf] of settings) {
      const one = await report(file, 1, decoder, bpf);
      assertSameReport(one, await report(file, 2, decoder, bpf), `${file} (${what})`);
    }
  }
});

Deno.test("parallel decoding: a capture cut short reports what was decoded before the cut", async () => {
  const source = ALL.find((f) => f.endsWith(".pcap") && Deno.statSync(f).size > 200_000)!;
  const bytes = await Deno.readFile(source);
  const cut = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const one = await report(cut, 1);
    const two = await report(cut, 2);
    assert(
      one.packets > 0 && one.files[0].problem !== null,
      "the cut capture decodes partly, with a problem",
    );
    assertSameReport(one, two, "cut capture");
  } finally {
    await Deno.remove(cut);
  }
});

Deno.test("parallel decoding: `read --workers` prints the same text report; bad counts are usage errors", async () => {
  const file = ALL.find((f) => f.endsWith("/public/http.cap")) ?? ALL[0];
  const one = await runCli(["read", file, "--workers", "1", "--no-geoip", "--no-color"]);
  const two = await runCli(["read", file, "--workers", "2", "--no-geoip", "--no-color"]);
  assertEquals(one.code, 0, one.stderr);
  assertEquals(two.stdout.replace(/peak \d+/, ""), one.stdout.replace(/peak \d+/, ""));
  const bad = await runCli(["read", file, "--workers", "0"]);
  assertEquals(bad.code, 2, bad.stderr);
  assert(bad.stderr.includes("--workers"), bad.stderr);
});
