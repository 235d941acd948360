// dns.log (in Zeek's JSON lines) against tshark's reading of the public DNS captures: every query
// and reply tshark decodes is in a row with the same trans_id and query, with tshark's question type
// and class, header bits, rcode, and (for the record types both name the same way) answers and TTLs.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Session } from "../src/pipeline/session.ts";
import { ZeekLogs } from "../src/sinks/zeek_logs.ts";
import { corpusRoot } from "./helpers/corpus.ts";
import { run } from "./helpers/cli.ts";

const PUBLIC = `${corpusRoot()}/public`;
const CAPTURES = [
  "dns_udp.pcap",
  "dns_udp_2.pcap",
  "dns_tcp.pcap",
  "dns-uri.pcap",
  "dnssec.pcap",
];

// deno-lint-ignore no-explicit-any
type Json = any;

/** The answer text as Zeek's dns.log words it, from tshark's fields, for the types named alike. */
function answerText(rr: Json): string | undefined {
  return rr["dns.a"] ?? rr["dns.aaaa"] ?? rr["dns.cname"] ?? rr["dns.ns"] ?? rr["dns.ptr.domain_name"] ??
    rr["dns.mx.mail_exchange"] ?? rr["dns.soa.mname"] ?? rr["dns.srv.target"];
}

Deno.test("dns.log agrees with tshark on the public DNS captures", async () => {
  const out = await Deno.makeTempDir();
  let queries = 0, replies = 0, answered = 0;
  for (const name of CAPTURES) {
    const dir = `${out}/${name}`;
    Deno.mkdirSync(dir);
    const session = await Session.open({
      files: [`${PUBLIC}/${name}`],
      decoder: { connTracking: true },
      sinks: new ZeekLogs(dir, true).sinks(),
    });
    await session.run();
    const rows: Json[] = Deno.readTextFileSync(`${dir}/dns.log`).trim().split("\n").map((l) => JSON.parse(l));
    const shark = await run("tshark", ["-r", `${PUBLIC}/${name}`, "-Y", "dns", "-T", "json", "-J", "dns"]);
    assertEquals(shark.code, 0, shark.stderr);
    for (const packet of JSON.parse(shark.stdout) as Json[]) {
      const dns = packet._source.layers.dns;
      const flags = dns["dns.flags_tree"];
      const question: Json = Object.values(dns.Queries ?? {})[0];
      const id = parseInt(dns["dns.id"], 16);
      const row = rows.find((r) => r.trans_id === id && r.query === question?.["dns.qry.name"]);
      const what = `${name} id ${id} ${question?.["dns.qry.name"]}`;
      assert(row, `${what}: no dns.log row`);
      if (flags["dns.flags.response"] === "0") {
        queries++;
        assertEquals(row.qtype, Number(question["dns.qry.type"]), what);
        assertEquals(row.qclass, parseInt(question["dns.qry.class"], 16) & 0x7fff, what);
        assertEquals([row.RD, row.TC], [
          flags["dns.flags.recdesired"] === "1",
          flags["dns.flags.truncated"] === "1",
        ]);
        // Zeek's Z is the three bits after RA: tshark's z, authenticated data and checking disabled.
        const z = ["dns.flags.z", "dns.flags.authenticated", "dns.flags.checkdisable"].map((k) =>
          flags[k] === "1"
        );
        assertEquals(row.Z, (z[0] ? 4 : 0) | (z[1] ? 2 : 0) | (z[2] ? 1 : 0), what);
        continue;
      }
      replies++;
      assertEquals(row.rcode, Number(flags["dns.flags.rcode"]), what);
      const answers: Json[] = Object.values(dns.Answers ?? {});
      const texts = answers.map(answerText);
      if (!answers.length || texts.some((t) => t === undefined)) continue;
      answered++;
      assertEquals(row.answers, texts, what);
      assertEquals(row.TTLs, answers.map((a) => Number(a["dns.resp.ttl"])), what);
      assertEquals([row.AA, row.RA], [
        flags["dns.flags.authoritative"] === "1",
        flags["dns.flags.recavail"] === "1",
      ]);
    }
  }
  Deno.removeSync(out, { recursive: true });
  console.error(`${queries} queries, ${replies} replies (${answered} with answers compared)`);
  // Measured: every message tshark decodes on these captures is compared.
  assertEquals([queries, replies, answered], [8, 8, 4]);
});
