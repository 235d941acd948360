// dns.log, http.log, ssh.log, ssl.log and x509.log against Zeek's own: every trace of ../shared/corpus/zeek with a
// `<test>.<log>.log` Zeek wrote. Rows are paired by id.* and the log's own key, and compared field by
// field as TSV cells (ts and uid are masked or random in Zeek's baselines); each remaining
// difference is listed below with its reason; every uid of an app log must be a conn.log uid, and
// every certificate of x509.log one of an ssl.log chain.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Session } from "../src/pipeline/session.ts";
import { ZeekLogs } from "../src/sinks/zeek_logs.ts";
import { corpusRoot } from "./helpers/corpus.ts";
import { type ZeekRow, zeekTsvRows } from "./helpers/zeek_tsv.ts";

const DIR = `${corpusRoot()}/zeek`;

type Row = ZeekRow;

interface LogCheck {
  /** What pairs our row with Zeek's, after id.*. */
  key: string[];
  /** Differences and their reasons: by field, by `<test> <field>`, by `<test> row` (a row of
   * Zeek's not matched), or by `<test>` (all of that trace's). */
  known: Record<string, string>;
}

const FILES =
  "Zeek's file analysis (file ids, names, MIME types sniffed from bodies): wiresight reads headers only";

const LOGS: Record<string, LogCheck> = {
  ssh: {
    key: [],
    known: {
      direction:
        "Zeek's direction needs Site::local_nets (set by these Zeek tests); wiresight has no local nets",
      host_key_fingerprint:
        "the host key is in the server's key exchange reply, which the decoder does not read",
      "scripts.base.protocols.ssh.pre-banner": "the server sends other lines before its banner (RFC 4253 " +
        "4.2 allows it); the decoder reports no banner and no KEXINIT for that side, so version, server and " +
        "the algorithms stay unset",
    },
  },
  dns: { key: ["proto", "trans_id", "query"], known: {} },
  // The STARTTLS kinds (IMAP, XMPP, FTP AUTH TLS, MySQL SSLRequest) and TLS 1.2 and 1.3.
  ssl: { key: [], known: {} },
  x509: { key: ["fingerprint"], known: {} },
  http: {
    key: ["trans_depth"],
    known: {
      orig_fuids: FILES,
      orig_filenames: FILES,
      orig_mime_types: FILES,
      resp_fuids: FILES,
      resp_filenames: FILES,
      resp_mime_types: FILES,
      proxied: "the decoder does not pass proxy headers (here Proxy-Connection)",
      "core.tunnels.ayiya response_body_len": "chunked or close-delimited body: Zeek counts it, wiresight " +
        "reads headers only (unset)",
      "core.tunnels.teredo response_body_len": "chunked or close-delimited bodies (as above)",
      "scripts.base.protocols.http.http-no-crlf response_body_len":
        "bodies without Content-Length (as above)",
      "scripts.base.protocols.ssh.http-port-22 response_body_len": "body up to the close (as above)",
      "scripts.base.protocols.http.http-no-crlf request_body_len": "Zeek logs 2 bytes more than each " +
        "multipart body's Content-Length, which the capture confirms (tshark: the next request starts right " +
        "after the 6084 body bytes of the first); wiresight logs the Content-Length",
      "core.tunnels.gtp.outer_ip_frag": "the request's header (2100 bytes) spans two TCP segments, the " +
        "first carried in an outer-IP-fragmented GTP datagram (frames 4-5): the decoder reports only the " +
        "response, so the row has no request fields",
      "core.tunnels.gtp.different_dl_and_ul row": "the decoder reports no event for the second request " +
        "(frame 62, one 564-byte segment on the same inner flow and TEID); the response before it came " +
        "partly in outer IP fragments (frames 56, 64 ...); not explained further yet",
    },
  },
};

function readLog(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw e;
  }
}

/** The Zeek options a corpus trace's test set that change a log's columns (MANIFEST.tsv, zeek_scripts). */
function sslOptions(test: string) {
  const line = Deno.readTextFileSync(`${DIR}/MANIFEST.tsv`).split("\n").find((l) =>
    l.startsWith(test + "\t")
  );
  return { subjectIssuer: line?.includes("SSL::log_include_server_certificate_subject_issuer=T") ?? false };
}

const header = (text: string, tag: string) => text.split("\n").find((l) => l.startsWith(tag + "\t"));
/** Masked (ts) or made per run (uid) in Zeek's baselines. */
const NOT_COMPARED = new Set(["ts", "uid"]);

for (const [log, check] of Object.entries(LOGS)) {
  Deno.test(`${log}.log agrees with Zeek's on every corpus trace that has one; its uids are conn.log's`, async () => {
    const names = [...Deno.readDirSync(DIR)].map((e) => e.name);
    const tests = names.filter((n) => n.endsWith(`.${log}.log`)).map((n) => n.slice(0, -`.${log}.log`.length))
      .sort();
    const keyOf = (r: Row) =>
      [r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"], ...check.key.map((k) => r[k])].join(
        " ",
      );
    const out = await Deno.makeTempDir();
    let zeekRows = 0, paired = 0, cells = 0, equalCells = 0;
    const unexplained: string[] = [];
    const explain = (test: string, what: string, text: string) => {
      const known = check.known[what] ?? check.known[`${test} ${what}`] ?? check.known[test];
      if (!known) unexplained.push(`${test}: ${text}`);
    };
    for (const test of tests) {
      const trace = names.find((n) => n === `${test}.pcap` || n === `${test}.pcapng`)!;
      const dir = `${out}/${test}`;
      Deno.mkdirSync(dir);
      const session = await Session.open({
        files: [`${DIR}/${trace}`],
        decoder: { connTracking: true },
        sinks: new ZeekLogs(dir, false, sslOptions(test)).sinks(),
      });
      await session.run();
      const zeekText = Deno.readTextFileSync(`${DIR}/${test}.${log}.log`),
        ourText = readLog(`${dir}/${log}.log`);
      // The same columns, in Zeek's order, with Zeek's types.
      assertEquals(header(ourText, "#fields"), header(zeekText, "#fields"), test);
      assertEquals(header(ourText, "#types"), header(zeekText, "#types"), test);
      const theirs = zeekTsvRows(zeekText), ours = zeekTsvRows(ourText);
      zeekRows += theirs.length;
      const free = [...ours];
      for (const z of theirs) {
        const i = free.findIndex((o) => keyOf(o) === keyOf(z));
        if (i < 0) {
          explain(test, "row", `Zeek's row ${keyOf(z)} not matched`);
          continue;
        }
        const [o] = free.splice(i, 1);
        paired++;
        for (const field of Object.keys(z).filter((f) => !NOT_COMPARED.has(f))) {
          cells++;
          if (o[field] === z[field]) equalCells++;
          else explain(test, field, `${keyOf(z)} ${field}: Zeek ${z[field]}, wiresight ${o[field]}`);
        }
      }
      for (const o of free) unexplained.push(`${test}: our row ${keyOf(o)} is not in Zeek's log`);
      // Every row joins conn.log (x509.log's through ssl.log's certificate chains).
      const connUids = new Set(zeekTsvRows(readLog(`${dir}/conn.log`)).map((r) => r.uid));
      const chains = new Set(
        zeekTsvRows(readLog(`${dir}/ssl.log`)).flatMap((r) =>
          [r.cert_chain_fps, r.client_cert_chain_fps].flatMap((fps) => fps.split(","))
        ),
      );
      for (const o of ours) {
        if (log === "x509") {
          assert(chains.has(o.fingerprint), `${test}: x509.log ${o.fingerprint} in no chain`);
        } else assert(connUids.has(o.uid), `${test}: ${log}.log uid ${o.uid} not in conn.log`);
      }
    }
    Deno.removeSync(out, { recursive: true });
    // Every difference is one of those listed above, with its reason.
    assertEquals(unexplained, []);
    console.error(
      `${log}.log: ${tests.length} traces, ${paired} of Zeek's ${zeekRows} rows paired, ` +
        `${equalCells} of ${cells} cells equal`,
    );
    const measured = MEASURED[log];
    assertEquals(tests.length, measured.traces);
    assertEquals(zeekRows, measured.rows);
    assert(paired >= measured.paired, `${paired} rows paired`);
    assert(equalCells >= measured.equalCells, `${equalCells} of ${cells} cells equal`);
  });
}

/** The agreement measured (the floor the tests hold). */
const MEASURED: Record<string, { traces: number; rows: number; paired: number; equalCells: number }> = {
  dns: { traces: 3, rows: 5, paired: 5, equalCells: 5 * 24 },
  http: { traces: 9, rows: 19, paired: 18, equalCells: 449 },
  ssh: { traces: 3, rows: 22, paired: 22, equalCells: 335 },
  // Every cell but ts and uid (16 columns, 18 with subject and issuer).
  ssl: { traces: 4, rows: 4, paired: 4, equalCells: 3 * 16 + 18 },
  // Every cell but ts (21 columns).
  x509: { traces: 3, rows: 6, paired: 6, equalCells: 6 * 21 },
};
