// `capture --zeek-logs --zeek-rotate` (root): two curl connections from local ports the test picks,
// 7 s apart, with rotation every second (the decoder's clock is the packets' time: a closed flow's
// record comes out with the first packet 5 s after its end). The first connection's conn.log row lands in a rotated
// file (conn.<open time>.log), the second's in conn.log; each file is a whole Zeek log (header,
// #close). Each row's packets and IP bytes per direction are checked against tshark's reading of
// the pcapng the same run wrote, and its process columns against the curl the test started.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { tsharkFields } from "../helpers/app.ts";
import { client, curl, LiveWiresight, sleep, waitTcpQuiet, withLab } from "../helpers/live.ts";
import { selfSignedCert, tlsServer, waitPort } from "../helpers/detect.ts";
import { cipherName } from "../../src/app/tls/names.ts";
import { sha256Hex, zeekTlsVersion } from "../../src/sinks/zeek_ssl.ts";

interface Row {
  [field: string]: string;
}

function zeekLog(text: string): { rows: Row[]; closed: boolean } {
  const lines = text.trim().split("\n");
  assertEquals(lines[0], "#separator \\x09");
  const fields = lines.find((l) => l.startsWith("#fields\t"))!.split("\t").slice(1);
  const rows = lines.filter((l) => !l.startsWith("#")).map((l) => {
    const cells = l.split("\t");
    return Object.fromEntries(fields.map((f, i) => [f, cells[i]]));
  });
  return { rows, closed: lines.at(-1)!.startsWith("#close\t") };
}

/** Packets and IP bytes from the client port and to it, as tshark reads the capture. */
async function tsharkCounts(pcapng: string, port: number) {
  const rows = (await tsharkFields(pcapng, `tcp.port == ${port}`, ["tcp.srcport", "ip.len"]))
    .map((r) => r.values.map((v) => v[0]));
  const from = rows.filter((r) => r[0] === String(port)), to = rows.filter((r) => r[0] !== String(port));
  const sum = (rs: string[][]) => rs.reduce((n, r) => n + Number(r[1]), 0);
  return [from.length, sum(from), to.length, sum(to)].map(String);
}

Deno.test("capture --zeek-logs writes conn.log rows as connections end and rotates the file", async () => {
  await withLab("wiresight-zeek-", async (net, dir) => {
    const logs = `${dir}/zeek`, pcapng = `${dir}/capture.pcapng`;
    const ws = await LiveWiresight.start(net.client, [
      "-i",
      net.clientIf,
      "-q",
      "--report",
      "none",
      "--zeek-logs",
      logs,
      "--zeek-rotate",
      "1",
      "--write",
      pcapng,
    ]);
    const first = await curl(net, 41001);
    // The first connection's record comes out once its closed flow has lingered (5 s).
    await sleep(7000);
    const second = await curl(net, 41002);
    await waitTcpQuiet(net.client, net.server);
    // Its packets moved time on: the first record is out, and a rotation (every second) follows.
    // The second's record comes out as capture stops (it lingers 5 s first).
    await sleep(2500);
    const r = await ws.stop();
    assertEquals(r.code, 0, r.stderr);

    const names = [...Deno.readDirSync(logs)].map((e) => e.name).sort();
    const rotated = names.filter((n) => /^conn\.\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.log$/.test(n));
    assert(rotated.length >= 1 && names.includes("conn.log"), names.join(" "));
    const rowsOf = (name: string) => {
      const log = zeekLog(Deno.readTextFileSync(`${logs}/${name}`));
      assert(log.closed, `${name} ends with #close`);
      return log.rows;
    };
    const byPort = (rows: Row[], port: number) => rows.filter((x) => x["id.orig_p"] === String(port));
    const inRotated = rotated.flatMap(rowsOf), inCurrent = rowsOf("conn.log");
    assertEquals([byPort(inRotated, first.port).length, byPort(inCurrent, first.port).length], [1, 0]);
    assertEquals([byPort(inRotated, second.port).length, byPort(inCurrent, second.port).length], [0, 1]);

    for (
      const [row, c] of [[byPort(inRotated, first.port)[0], first], [
        byPort(inCurrent, second.port)[0],
        second,
      ]] as const
    ) {
      assertEquals([row["id.resp_h"], row["id.resp_p"], row.proto, row.conn_state], [
        net.serverAddr,
        "8080",
        "tcp",
        "SF",
      ]);
      assert(/^ShAD/.test(row.history) && /Ff|fF/.test(row.history), row.history);
      assertEquals(
        [row.orig_pkts, row.orig_ip_bytes, row.resp_pkts, row.resp_ip_bytes],
        await tsharkCounts(pcapng, c.port),
      );
      assertEquals([row.orig_pid, row.orig_process], [String(c.pid), "curl"]);
      assert(/^1:[A-Za-z0-9+/]{27}=$/.test(row.community_id), row.community_id);
    }
  }, { ipv4Only: true });
});

/** The rows of every `<path>.log` and rotated `<path>.<time>.log` of a directory (each one closed). */
function allRows(dir: string, path: string): Row[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name)
    .filter((n) => n === `${path}.log` || new RegExp(`^${path}\\.\\d{4}(-\\d\\d){5}\\.log$`).test(n))
    .flatMap((n) => {
      const log = zeekLog(Deno.readTextFileSync(`${dir}/${n}`));
      assert(log.closed, `${n} ends with #close`);
      return log.rows;
    });
}

/**
 * Zeek's ssl_history of a connection as tshark reads its frames: each frame's handshake messages
 * in the clear (their types), then its ChangeCipherSpec; client letters upper case. It ends at the
 * first record after both sides' ChangeCipherSpec (Zeek's "established").
 */
async function tsharkHistory(pcapng: string, clientPort: number): Promise<string> {
  const letters: Record<string, string> = {
    1: "c",
    2: "s",
    4: "t",
    8: "o",
    11: "x",
    12: "k",
    13: "r",
    14: "n",
  };
  Object.assign(letters, { 15: "y", 16: "g", 20: "f" });
  const frames = await tsharkFields(pcapng, `tcp.port == ${clientPort} && tls`, [
    "tcp.srcport",
    "tls.record.content_type",
    "tls.handshake.type",
  ]);
  let history = "";
  const encrypted = new Set<boolean>();
  for (const f of frames) {
    const [[port], types, handshakes] = f.values;
    const fromClient = port === String(clientPort);
    if (encrypted.size === 2) break;
    const mark = (l: string) => (history += fromClient ? l.toUpperCase() : l);
    if (!encrypted.has(fromClient)) { for (const h of handshakes) mark(letters[h] ?? "z"); }
    if (types.includes("20")) {
      mark("i");
      encrypted.add(fromClient);
    }
  }
  return history;
}

Deno.test("capture --zeek-logs writes ssl.log and x509.log for live TLS 1.2 and 1.3 handshakes", async () => {
  await withLab("wiresight-zeekssl-", async (net, dir) => {
    const logs = `${dir}/zeek`, pcapng = `${dir}/capture.pcapng`, host = "tls.lab.test";
    await selfSignedCert(dir, `/CN=${host}`, ["-addext", `subjectAltName=DNS:${host}`]);
    const server = tlsServer(net, `${net.serverAddr}:8443`, `${dir}/cert.pem`, `${dir}/key.pem`);
    try {
      await waitPort(net, 8443);
      await waitTcpQuiet(net.client, net.server);
      const ws = await LiveWiresight.start(net.client, [
        "-i",
        net.clientIf,
        "-q",
        "--report",
        "none",
        "--zeek-logs",
        logs,
        "--zeek-rotate",
        "1",
        "--write",
        pcapng,
      ]);
      const ports = { "1.2": 41021, "1.3": 41022 };
      for (const [version, port] of Object.entries(ports)) {
        await client(net, "curl", [
          "-sk",
          "-o",
          "/dev/null",
          "-m",
          "5",
          "--local-port",
          String(port),
          `--tlsv${version}`,
          "--tls-max",
          version,
          "--resolve",
          `${host}:8443:${net.serverAddr}`,
          `https://${host}:8443/`,
        ]);
      }
      await waitTcpQuiet(net.client, net.server);
      await sleep(1500);
      const r = await ws.stop();
      assertEquals(r.code, 0, r.stderr);

      const ssl = allRows(logs, "ssl"), x509 = allRows(logs, "x509");
      const certs = (await tsharkFields(pcapng, "tls.handshake.certificate", ["tls.handshake.certificate"]))
        .flatMap((f) => f.values[0]);
      const der = Uint8Array.from(certs[0].replaceAll(":", "").match(/../g)!.map((h) => parseInt(h, 16)));
      const fp = sha256Hex(der);
      for (const [version, port] of Object.entries(ports)) {
        const rows = ssl.filter((x) => x["id.orig_p"] === String(port));
        assertEquals(rows.length, 1, `ssl.log rows of port ${port}`);
        const row = rows[0];
        const [hello] = await tsharkFields(
          pcapng,
          `tcp.srcport == 8443 && tcp.dstport == ${port} && tls.handshake.type == 2`,
          [
            "tls.handshake.ciphersuite",
            "tls.handshake.extensions.supported_version",
            "tls.handshake.version",
          ],
        );
        const [cipher, supported, legacy] = hello.values.map((v) => v[0]);
        assertEquals(
          [row["id.resp_h"], row["id.resp_p"], row.version, row.cipher, row.server_name, row.established],
          [
            net.serverAddr,
            "8443",
            zeekTlsVersion(Number(supported ?? legacy)),
            cipherName(Number(cipher)),
            host,
            "T",
          ],
        );
        assert(row.ssl_history.startsWith("Cs"), row.ssl_history);
        assertEquals(row.ssl_history, await tsharkHistory(pcapng, port), `port ${port}`);
        // TLS 1.3 encrypts the certificate: no chain, no SNI check (as Zeek logs it).
        const tls12 = version === "1.2";
        assertEquals(
          [row.cert_chain_fps, row.client_cert_chain_fps, row.sni_matches_cert],
          tls12 ? [fp, "(empty)", "T"] : ["-", "-", "-"],
        );
      }
      // The certificate once (Zeek does not log a known certificate again within a day).
      assertEquals(
        x509.map((x) => [x.fingerprint, x["certificate.subject"], x["san.dns"], x.host_cert, x.client_cert]),
        [[fp, `CN=${host}`, host, "T", "F"]],
      );
    } finally {
      await server.stop();
    }
  }, { ipv4Only: true });
});
