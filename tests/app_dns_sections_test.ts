// The DNS sections (answer, authority, additional) against tshark's dns.* fields on every corpus
// capture (public/, generated/ and the Zeek traces), record by record (helpers/dns_fields.ts).
// Also the DNS values that Suricata's own tests expect (sv-expected.json) in the dns export of
// their capture.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Exporter } from "../src/sinks/export.ts";
import { runDecode } from "../src/source/decode.ts";
import { corpusFile, corpusFiles, corpusRoot, NO_TIMEOUTS } from "./helpers/corpus.ts";
import { compareDnsRecords } from "./helpers/dns_fields.ts";
import { concatBytes } from "./helpers/util.ts";

/** Where wiresight and tshark legitimately differ, and why (checked to still differ). */
const KNOWN: Record<string, { why: string; onlyTshark: number }> = {
  "LINKTYPE_IPV4_invalid.pcap": {
    why: "an IPv6 packet on a raw-IPv4 link: wiresight counts it malformed (see corpus_test.ts)",
    onlyTshark: 1,
  },
  "core.tunnels.gre.pcap": {
    why: "a DNS query quoted in an ICMP port-unreachable (inside GRE): tshark decodes the quoted " +
      "datagram; wiresight reads no application data from an ICMP error's quote",
    onlyTshark: 2,
  },
};

function zeekTraces(): string[] {
  const dir = `${corpusRoot()}/zeek`;
  return [...Deno.readDirSync(dir)].filter((e) => e.isFile && /\.(pcap|pcapng|cap)$/.test(e.name))
    .map((e) => `${dir}/${e.name}`).sort();
}

for (const path of [...corpusFiles(), ...zeekTraces()]) {
  const known = KNOWN[path.split("/").pop()!];
  Deno.test(`DNS sections agree with tshark on ${path.split("/").slice(-2).join("/")}`, async () => {
    // Without DNS here, tshark is not asked (slow on a shared machine): app_dns_test.ts already
    // checks that it finds no DNS either in public/ and generated/; the Zeek traces are always asked.
    const onlyTshark = await compareDnsRecords(path, path.includes("/zeek/"));
    if (onlyTshark === null) return;
    assertEquals(
      onlyTshark.length,
      known?.onlyTshark ?? 0,
      `frames only tshark decodes: ${onlyTshark} (${known?.why})`,
    );
  });
}

Deno.test("DNS values Suricata's tests expect are in the dns export of their capture", async () => {
  const expected = JSON.parse(await Deno.readTextFile(`${corpusRoot()}/public/sv-expected.json`)) as Record<
    string,
    { field: string; value: string | number; yaml_key: string }[]
  >;
  let checked = 0;
  for (const [file, values] of Object.entries(expected)) {
    const dns = values.filter((v) => v.field.startsWith("dns."));
    if (!dns.length) continue;
    const rows = await dnsExport(corpusFile(file));
    for (const { field, value, yaml_key } of dns) {
      // yaml_key says where Suricata has it: dns.rcode, dns.queries[0].rrtype, dns.authorities[0].soa.mname
      const [, where, key] = yaml_key.match(/^dns\.(?:(queries|answers|authorities)\[0\]\.)?(.+)$/)!;
      const found = rows.some((row) => exportValues(row, where, key).includes(value));
      assert(found, `${file} ${field} (${yaml_key}): expected ${value}`);
      checked++;
    }
  }
  assertEquals(checked, 20);
});

/** The rows of `--export-type dns` as NDJSON, parsed. */
async function dnsExport(path: string): Promise<Record<string, unknown>[]> {
  const chunks: Uint8Array[] = [];
  const exporter = Exporter.to({ writeSync: (p) => (chunks.push(p.slice()), p.length) }, "ndjson", "dns");
  await runDecode({ files: [path], decoder: { timeouts: NO_TIMEOUTS } }, { app: (e) => exporter.app(e) });
  exporter.close();
  const text = new TextDecoder().decode(concatBytes(chunks));
  return text.split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

/** What a dns export row holds where Suricata's YAML key points. */
function exportValues(row: Record<string, unknown>, where: string | undefined, key: string): unknown[] {
  if (!where) return [key === "rcode" ? row.rcode : undefined];
  if (where === "queries") return [key === "rrname" ? row.qname : key === "rrtype" ? row.qtype : undefined];
  const records = row[where === "answers" ? "answers" : "authorities"] as Record<string, unknown>[];
  const rename: Record<string, string> = { rrname: "name", rrtype: "type", rdata: "data" };
  return records.map((r) => {
    let at: unknown = r;
    for (const part of key.split(".")) at = (at as Record<string, unknown>)?.[rename[part] ?? part];
    return at;
  });
}
