// Every application value Suricata's own tests expect on the sv-*.pcap captures
// (../shared/corpus/public/sv-expected.json, 41 values) is in the report or an export of the
// same capture: the record export of the value's protocol (dns, http, tls) and the JSON report.
// Field-by-field checks against tshark live in the app_*_test.ts files; this one is the census.
import assert from "node:assert/strict";
import { wiresight } from "./helpers/cli.ts";
import { corpusFile, corpusRoot } from "./helpers/corpus.ts";

interface Expected {
  field: string;
  value: string | number;
  alt_values?: string[];
}

/** Which export holds a field's protocol (SSH is in the report only). */
const EXPORT_OF: Record<string, string> = { dns: "dns", http: "http", tls: "tls", quic: "tls" };

/**
 * A distinguished name's e-mail attribute is `emailAddress` in OpenSSL's and tshark's spelling, which
 * ours follows, and `Email` in Suricata's: the same attribute, compared as one.
 */
const sameDn = (text: string) => text.replace(/\bemailAddress=/g, "Email=");

/** Every string and number a JSON document holds, as text. */
function leaves(doc: unknown, into = new Set<string>()): Set<string> {
  if (doc === null || doc === undefined) return into;
  if (typeof doc === "object") {
    for (const v of Object.values(doc as Record<string, unknown>)) leaves(v, into);
  } else into.add(sameDn(String(doc)));
  return into;
}

async function valuesOf(path: string, exportType: string | undefined): Promise<Set<string>> {
  const report = await wiresight(["read", path, "--report", "json"]);
  assert.equal(report.code, 0, report.stderr);
  const found = leaves(JSON.parse(report.stdout));
  if (exportType) {
    const rows = await wiresight([
      "read",
      path,
      "-q",
      "--export",
      "-",
      "--export-format",
      "ndjson",
      "--export-type",
      exportType,
    ]);
    assert.equal(rows.code, 0, rows.stderr);
    for (const line of rows.stdout.split("\n").filter((l) => l)) leaves(JSON.parse(line), found);
  }
  return found;
}

Deno.test("all of sv-expected.json's values are in the report or the exports of their capture", async () => {
  const expected = JSON.parse(
    await Deno.readTextFile(`${corpusRoot()}/public/sv-expected.json`),
  ) as Record<string, Expected[]>;
  const missing: string[] = [];
  let checked = 0;
  for (const [file, values] of Object.entries(expected)) {
    const kinds = new Set(values.map((v) => EXPORT_OF[v.field.split(".")[0]]).filter((k) => k));
    const found = new Set<string>();
    for (const kind of kinds.size ? kinds : [undefined]) {
      for (const v of await valuesOf(corpusFile(file), kind)) found.add(v);
    }
    for (const v of values) {
      checked++;
      const accepted = [String(v.value), ...(v.alt_values ?? [])];
      if (!accepted.some((a) => found.has(a))) missing.push(`${file}: ${v.field} = ${v.value}`);
    }
  }
  assert.equal(checked, 41);
  assert.deepEqual(missing, []);
});
