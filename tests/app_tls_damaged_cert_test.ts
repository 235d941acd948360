// A server certificate whose issuer cannot be read (found by `deno task fuzz`): node parses a
// certificate lazily, so its issuer getter threw "invalid attributes" out of `wiresight read`.
// The real certificate of a real capture, its issuer's locality made invalid UTF-8 (openssl then
// refuses the whole certificate), must still give the fields that can be read, as openssl reads
// them from the intact one, and no crash with the detectors on.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parse as parseCsv } from "csv-parse/sync";
import { corpusFile } from "./helpers/corpus.ts";
import { runCli } from "./helpers/run_cli.ts";
import { runTool } from "./helpers/tool.ts";

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let k = 0; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

Deno.test("a certificate with an unreadable issuer: the rest of it, and no crash", async () => {
  const path = corpusFile("sv-tls-tls-random.pcap");
  const dir = await Deno.makeTempDir({ prefix: "wiresight_cert_" });
  try {
    const fields = await runTool("tshark", [
      ...["-r", path, "-Y", "tls.handshake.certificate", "-T", "fields", "-e", "tls.handshake.certificate"],
    ]);
    const der = hex(fields.stdout.trim().split(",")[0]);
    await Deno.writeFile(`${dir}/cert.der`, der);
    const openssl = (cert: string, ...what: string[]) =>
      runTool("openssl", ["x509", "-inform", "DER", "-in", cert, "-noout", ...what]);
    const subject = (await openssl(`${dir}/cert.der`, "-subject", "-nameopt", "sep_comma_plus_space"))
      .stdout.trim().replace(/^subject=/, "");
    const notAfter = new Date(
      (await openssl(`${dir}/cert.der`, "-enddate")).stdout.trim().replace(/^notAfter=/, ""),
    );

    // The issuer comes first: its locality "Paris" gets a byte that is no UTF-8.
    const capture = Deno.readFileSync(path);
    const at = indexOf(capture, der);
    assert(at > 0, "the certificate is in one packet of the capture");
    const paris = indexOf(der, new TextEncoder().encode("Paris"));
    assert(paris > 0 && paris < indexOf(der, new TextEncoder().encode("SELKS")), "the issuer's locality");
    capture[at + paris + 2] = 0xcb;
    await Deno.writeFile(`${dir}/damaged.der`, capture.subarray(at, at + der.length));
    const refused = await runTool("openssl", [
      "x509",
      "-inform",
      "DER",
      "-in",
      `${dir}/damaged.der`,
      "-noout",
    ], {
      okCodes: [1],
    });
    assert(/Could not read certificate|unable to load/i.test(refused.stderr), refused.stderr);
    await Deno.writeFile(`${dir}/damaged.pcap`, capture);

    const r = await runCli([
      ...["read", `${dir}/damaged.pcap`, "--detect", "--no-progress", "--report", "json"],
      ...["--export", `${dir}/tls.csv`, "--export-type", "tls"],
    ]);
    assertEquals(r.code, 0, r.stderr);
    JSON.parse(r.stdout);
    const rows: Record<string, string>[] = parseCsv(await Deno.readTextFile(`${dir}/tls.csv`), {
      columns: true,
    });
    const cert = rows.find((row) => row.kind === "certificate");
    assert(cert, "the certificate's record");
    assertEquals(
      [cert.cert_subject, cert.cert_issuer, cert.cert_not_after],
      [subject, "", notAfter.toISOString()],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
