// dns.log against Zeek's own: every trace of ../shared/corpus/zeek that has a `<test>.dns.log`
// Zeek wrote. Rows are paired by id.*, trans_id and query, and compared field by field as TSV
// cells (ts and uid are masked or random in Zeek's baselines); every uid must be a conn.log uid.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Session } from "../src/pipeline/session.ts";
import { ZeekLogs } from "../src/sinks/zeek_logs.ts";
import { corpusRoot } from "./helpers/corpus.ts";

const DIR = `${corpusRoot()}/zeek`;
/** Masked (ts) or made per run (uid) in Zeek's baselines. */
const NOT_COMPARED = new Set(["ts", "uid"]);

type Row = Record<string, string>;

function tsvRows(text: string): Row[] {
  let fields: string[] = [];
  const rows: Row[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#fields\t")) fields = line.split("\t").slice(1);
    else if (line && !line.startsWith("#")) {
      const cells = line.split("\t");
      rows.push(Object.fromEntries(fields.map((f, i) => [f, cells[i]])));
    }
  }
  return rows;
}

const keyOf = (r: Row) =>
  [r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"], r.proto, r.trans_id, r.query].join(" ");

function readLog(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw e;
  }
}

Deno.test("dns.log agrees with Zeek's on every corpus trace that has one; its uids are conn.log's", async () => {
  const tests = [...Deno.readDirSync(DIR)].map((e) => e.name).filter((n) => n.endsWith(".dns.log"))
    .map((n) => n.replace(/\.dns\.log$/, "")).sort();
  assertEquals(tests.length, 3);
  const out = await Deno.makeTempDir();
  let zeekRows = 0, paired = 0, cells = 0, equalCells = 0;
  const differences: string[] = [];
  for (const test of tests) {
    const trace = [...Deno.readDirSync(DIR)].map((e) => e.name).find((n) =>
      /\.pcap(ng)?$/.test(n) && n.startsWith(`${test}.pcap`)
    )!;
    const dir = `${out}/${test}`;
    Deno.mkdirSync(dir);
    const logs = new ZeekLogs(dir, false);
    const session = await Session.open({
      files: [`${DIR}/${trace}`],
      decoder: { connTracking: true },
      sinks: logs.sinks(),
    });
    await session.run();
    const theirs = tsvRows(Deno.readTextFileSync(`${DIR}/${test}.dns.log`));
    const ours = tsvRows(readLog(`${dir}/dns.log`));
    // The same columns, in Zeek's order, with Zeek's types.
    const header = (t: string, tag: string) => t.split("\n").find((l) => l.startsWith(tag));
    const zeekText = Deno.readTextFileSync(`${DIR}/${test}.dns.log`), ourText = readLog(`${dir}/dns.log`);
    assertEquals(header(ourText, "#fields"), header(zeekText, "#fields"));
    assertEquals(header(ourText, "#types"), header(zeekText, "#types"));
    zeekRows += theirs.length;
    const free = [...ours];
    for (const z of theirs) {
      const i = free.findIndex((o) => keyOf(o) === keyOf(z));
      if (i < 0) {
        differences.push(`${test}: Zeek's row ${keyOf(z)} has no match`);
        continue;
      }
      const [o] = free.splice(i, 1);
      paired++;
      for (const field of Object.keys(z).filter((f) => !NOT_COMPARED.has(f))) {
        cells++;
        if (o[field] === z[field]) equalCells++;
        else differences.push(`${test} ${keyOf(z)} ${field}: Zeek ${z[field]}, wiresight ${o[field]}`);
      }
    }
    for (const o of free) differences.push(`${test}: our row ${keyOf(o)} is not Zeek's`);
    // Every row joins conn.log.
    const connUids = new Set(tsvRows(readLog(`${dir}/conn.log`)).map((r) => r.uid));
    for (const o of ours) assert(connUids.has(o.uid), `${test}: dns.log uid ${o.uid} not in conn.log`);
  }
  Deno.removeSync(out, { recursive: true });
  // Measured: all 5 of Zeek's rows paired, all 120 compared cells equal, no row of ours extra.
  assertEquals(zeekRows, 5);
  assertEquals(differences, []);
  assertEquals(paired, 5);
  assertEquals(equalCells, cells);
  assertEquals(cells, 5 * 24);
});
