// CSV exports against formula injection (OWASP "CSV Injection"): real clients send formula text
// (curl's User-Agent, request target, Host and Referer; a Python server's Server header and
// reason; dig's query names; openssl's SNI) to real servers in a private network namespace while
// tcpdump captures. Every CSV export of the capture, read back with csv-parse, must hold no cell a
// spreadsheet would run, and the text must survive behind the quote, as tshark reads it.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parse as parseCsv } from "csv-parse/sync";
import { captureLoopback, inNetns, run, withNetns } from "./helpers/capture.ts";
import { waitTcpQuiet } from "./helpers/live.ts";
import { runCli } from "./helpers/run_cli.ts";
import { runTool } from "./helpers/tool.ts";
import { waitFor } from "./helpers/wait.ts";

const CALC = "cmd|' /C calc'!A0";
const AGENT = `=${CALC}`;
// A request target has no space: the request line is split on spaces.
const TARGET = "@SUM(1+1)*cmd|'/C%20calc'!A0";
const HOST = `+${CALC}`;
const REFERER = `-2+3+${CALC}`;
const SERVER = `@SUM(2)*${CALC}`;
const REASON = `=HYPERLINK("http://x.test","ok")`;
const SNI = `=${CALC}`;
// Names dig sends as they are: no space or quote, which DNS presentation would escape.
const QNAMES = ["=1+2.lab.test", "-cmd.lab.test", "@sum.lab.test", "+x.lab.test"];
/** A User-Agent that is a plain number: a spreadsheet reads it as -1, nothing runs. */
const NUMBER_AGENT = "-1";

/** A server that answers every request with the formula Server header and reason phrase. */
const HTTP_SERVER = `
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def version_string(self):
        return ${JSON.stringify(SERVER)}
    def do_GET(self):
        self.send_response(200, ${JSON.stringify(REASON)})
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", 8080), H).serve_forever()
`;

/** What OWASP says a spreadsheet runs: a cell starting with = + - @ tab or CR that is no number. */
const runnable = (cell: string) => /^[=+\-@\t\r]/.test(cell) && !/^[+-]?\d+(\.\d+)?$/.test(cell);

async function tsharkFields(path: string, filter: string, fields: string[]): Promise<string[][]> {
  const args = ["-r", path, "-Y", filter, "-T", "fields", "-E", "separator=/t", "-E", "quote=n"];
  const out = await runTool("tshark", [...args, ...fields.flatMap((f) => ["-e", f])]);
  return out.stdout.split("\n").filter(Boolean).map((l) => l.split("\t"));
}

async function exportCsv(path: string, type: string, dir: string): Promise<Record<string, string>[]> {
  const out = `${dir}/${type}.csv`;
  const r = await runCli(["read", path, "-q", "--no-progress", "--export", out, "--export-type", type]);
  assert(r.code === 0, `read --export-type ${type} exited ${r.code}: ${r.stderr}`);
  return parseCsv(await Deno.readTextFile(out), { columns: true });
}

/** Runs the servers, sends the formula traffic under tcpdump and returns the capture. */
async function captureFormulaTraffic(netns: string, dir: string): Promise<string> {
  await run("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"],
    ...["-subj", "/CN=lab.test", "-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`],
  ]);
  const servers = [
    inNetns(netns, "python3", ["-c", HTTP_SERVER]),
    inNetns(netns, "openssl", [
      ...["s_server", "-accept", "443", "-cert", `${dir}/cert.pem`, "-key", `${dir}/key.pem`],
      ...["-www", "-quiet"],
    ]),
    inNetns(netns, "dnsmasq", [
      ...["-k", "-p53", "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts"],
      ...[`--pid-file=${dir}/pid`, "--user=root", "--local=/lab.test/"],
    ]),
  ].map(([cmd, args]) => new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).spawn());
  try {
    const curl = (args: string[]) =>
      run(...inNetns(netns, "curl", ["-s", "--max-time", "5", "-o", "/dev/null", ...args]));
    const sni = () =>
      runTool(...inNetns(netns, "openssl", ["s_client", "-connect", "127.0.0.1:443", "-servername", SNI]));
    const dig = (name: string) =>
      run(...inNetns(netns, "dig", ["+tries=1", "+time=5", "-p53", "@127.0.0.1", "-q", name, "A"]));
    // Each server answers before the capture starts.
    await waitFor("the HTTP server", () => curl(["http://127.0.0.1:8080/"]));
    await waitFor("openssl s_server", sni);
    await waitFor("dnsmasq", () => dig("ready.lab.test"));
    await waitTcpQuiet(netns);
    const capture = await captureLoopback(dir, "formulas.pcap", "port 8080 or port 443 or port 53", netns);
    await curl([
      "-A",
      AGENT,
      "-H",
      `Host: ${HOST}`,
      "-e",
      REFERER,
      "--request-target",
      TARGET,
      "http://127.0.0.1:8080/",
    ]);
    await curl(["-A", NUMBER_AGENT, "http://127.0.0.1:8080/plain"]);
    await sni();
    for (const name of QNAMES) await dig(name);
    await waitTcpQuiet(netns);
    return await capture.stop();
  } finally {
    for (const s of servers) {
      s.kill("SIGKILL");
      await s.status;
    }
  }
}

Deno.test("CSV exports of real formula traffic: nothing a spreadsheet runs, the text behind a quote", () =>
  withNetns(async (netns) => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight_csv_injection_" });
    try {
      const path = await captureFormulaTraffic(netns, dir);
      const csv: Record<string, Record<string, string>[]> = {};
      for (const type of ["packets", "flows", "http", "dns", "tls"]) {
        csv[type] = await exportCsv(path, type, dir);
        assert(csv[type].length > 0, `no ${type} rows`);
        for (const [i, row] of csv[type].entries()) {
          for (const [column, cell] of Object.entries(row)) {
            assert(!runnable(cell), `${type} row ${i + 1}, ${column}: ${JSON.stringify(cell)}`);
          }
        }
      }
      const quoted = (s: string) => `'${s}`;

      // HTTP: what tshark reads in the requests and responses, behind one quote.
      const requests = await tsharkFields(path, "http.request", [
        "http.user_agent",
        "http.request.uri",
        "http.host",
        "http.referer",
      ]);
      assertEquals(requests[0], [AGENT, TARGET, HOST, REFERER], "tshark saw the formulas curl sent");
      const ourRequests = csv.http.filter((r) => r.kind === "request");
      assertEquals(
        ourRequests.map((r) => [r.user_agent, r.uri, r.host, r.referer]),
        requests.map((fields) => fields.map((f) => f === "" ? "" : runnable(f) ? quoted(f) : f)),
      );
      assertEquals(ourRequests[1].user_agent, NUMBER_AGENT, "a plain number stays as it is");
      const responses = await tsharkFields(path, "http.response", ["http.server", "http.response.phrase"]);
      assertEquals(responses[0], [SERVER, REASON]);
      assertEquals(
        csv.http.filter((r) => r.kind === "response").map((r) => [r.server, r.reason]),
        responses.map((fields) => fields.map(quoted)),
      );

      // Flows: the HTTP flow is named by its Host.
      assert(csv.flows.some((r) => r.server_name === quoted(HOST)), "the HTTP flow's server_name");

      // TLS: the SNI openssl sent.
      const snis = await tsharkFields(path, "tls.handshake.type == 1", [
        "tls.handshake.extensions_server_name",
      ]);
      assertEquals(snis, [[SNI]]);
      assertEquals(csv.tls.filter((r) => r.sni).map((r) => r.sni), [quoted(SNI)]);

      // DNS: the query names dig asked.
      const names = (await tsharkFields(path, "dns.flags.response == 0", ["dns.qry.name"])).map((f) => f[0]);
      assertEquals(names, QNAMES);
      assertEquals(csv.dns.filter((r) => r.response === "false").map((r) => r.qname), names.map(quoted));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }));
