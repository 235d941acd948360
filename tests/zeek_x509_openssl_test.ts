// x509.log's certificate fields against OpenSSL, which Zeek reads certificates with: every
// certificate of every corpus capture (server chains and client certificates the decoder sends),
// printed by `openssl x509 -nameopt RFC2253` (Zeek's X509_NAME_print_ex flags), field by field.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import * as abi from "../src/decoder/abi.ts";
import { Session } from "../src/pipeline/session.ts";
import { zeekCertificate } from "../src/app/tls/x509_zeek.ts";
import { sha256Hex } from "../src/sinks/zeek_ssl.ts";
import { corpusRoot } from "./helpers/corpus.ts";

const captures = (dir: string): string[] =>
  [...Deno.readDirSync(dir)].flatMap((e) =>
    e.isDirectory ? captures(`${dir}/${e.name}`) : /\.pcap(ng)?$/.test(e.name) ? [`${dir}/${e.name}`] : []
  );

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "Oct 22 12:00:00 2013 GMT" as epoch seconds. */
function opensslDate(s: string): number {
  const m = /^(\w{3}) +(\d+) (\d+):(\d+):(\d+) (\d+) GMT$/.exec(s.trim());
  assert(m, `date ${s}`);
  return Date.UTC(
    Number(m[6]),
    MONTHS.indexOf(m[1]),
    Number(m[2]),
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
  ) / 1000;
}

/** What OpenSSL prints of a certificate, in x509.log's terms. */
async function openssl(der: Uint8Array) {
  const cmd = new Deno.Command("openssl", {
    args: [
      "x509",
      "-inform",
      "DER",
      "-noout",
      "-nameopt",
      "RFC2253",
      "-subject",
      "-issuer",
      "-serial",
      "-dates",
      "-text",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = cmd.stdin.getWriter();
  await w.write(der);
  await w.close();
  const { code, stdout } = await cmd.output();
  assertEquals(code, 0);
  const text = new TextDecoder().decode(stdout);
  const line = (re: RegExp) => re.exec(text)?.[1] ?? null;
  const san = line(/X509v3 Subject Alternative Name:.*\n\s*(.*)/)?.split(", ") ?? null;
  const sanOf = (prefix: string) => {
    const v = san?.filter((e) => e.startsWith(prefix)).map((e) => e.slice(prefix.length)) ?? [];
    return v.length ? v : null;
  };
  const bc = line(/X509v3 Basic Constraints:.*\n\s*(.*)/);
  return {
    version: Number(line(/Version: (\d+)/)),
    serial: line(/^serial=(.*)$/m),
    subject: line(/^subject=(.*)$/m),
    issuer: line(/^issuer=(.*)$/m),
    notValidBefore: opensslDate(line(/^notBefore=(.*)$/m)!),
    notValidAfter: opensslDate(line(/^notAfter=(.*)$/m)!),
    keyAlg: line(/Public Key Algorithm: (.*)/),
    sigAlg: line(/Signature Algorithm: (.*)/),
    keyLength: Number(line(/Public-Key: \((\d+) bit\)/)),
    exponent: line(/Exponent: (\d+)/),
    curve: line(/ASN1 OID: (.*)/),
    dns: sanOf("DNS:"),
    ip: sanOf("IP Address:"),
    email: sanOf("email:"),
    uri: sanOf("URI:"),
    ca: bc === null ? null : bc.includes("CA:TRUE"),
    pathLen: bc === null ? null : Number(/pathlen:(\d+)/.exec(bc)?.[1] ?? NaN),
  };
}

Deno.test("x509 fields of every corpus certificate agree with OpenSSL's (Zeek's reader)", async () => {
  const certs = new Map<string, Uint8Array>();
  for (const file of captures(corpusRoot())) {
    const session = await Session.open({
      files: [file],
      decoder: { connTracking: true },
      sinks: [{
        app: (e) => {
          for (const [id, v] of e.fields()) {
            if (id === abi.F_TLS_CERT || id === abi.F_TLS_CLIENT_CERT) certs.set(sha256Hex(v), v.slice());
          }
        },
      }],
    });
    await session.run();
  }
  let compared = 0;
  for (const [fp, der] of certs) {
    const ours = zeekCertificate(der), theirs = await openssl(der);
    assert(ours, `${fp} does not parse`);
    const pathLen = theirs.pathLen === null || Number.isNaN(theirs.pathLen) ? null : theirs.pathLen;
    assertEquals(
      {
        version: ours.version,
        serial: ours.serial,
        subject: ours.subject,
        issuer: ours.issuer,
        notValidBefore: ours.notValidBefore,
        notValidAfter: ours.notValidAfter,
        keyAlg: ours.keyAlg,
        sigAlg: ours.sigAlg,
        keyLength: ours.keyLength,
        exponent: ours.exponent,
        curve: ours.curve,
        dns: ours.san?.dns ?? null,
        ip: ours.san?.ip ?? null,
        email: ours.san?.email ?? null,
        uri: ours.san?.uri ?? null,
        ca: ours.basicConstraints?.ca ?? null,
        pathLen: ours.basicConstraints?.pathLen ?? null,
      },
      { ...theirs, pathLen },
      fp,
    );
    compared++;
  }
  console.error(`${compared} certificates agree with OpenSSL`);
  // The certificates of the corpus (19 when measured); a floor, so a decoder that sends fewer fails.
  assert(compared >= 19, `${compared} certificates`);
});
