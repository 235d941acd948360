// Detection end to end on real traffic: real attack tools and clients (nmap, curl, dig, openssl,
// nc) against real servers in test network namespaces, captured with tcpdump and read with
// `--detect`. Each detector must fire on its attack and name the right hosts.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { type NetPair, spawnIn, withNetPair } from "./helpers/netns.ts";
import { inNetns, run } from "./helpers/capture.ts";
import {
  captured,
  CLIENT,
  inClient,
  ofType,
  readDetect,
  selfSignedCert,
  SERVER,
  tlsServer,
  waitPort,
  withDnsmasq,
} from "./helpers/detect.ts";
import { Seeded } from "./helpers/random.ts";
import { waitFor } from "./helpers/wait.ts";

Deno.test("port scans by nmap: vertical (many ports of one host) and horizontal (one port, many hosts)", () =>
  withNetPair(async (net) => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight_scan_" });
    // Addresses beyond the link go to the server's side, so the probes leave the client.
    await inClient(net, "ip", ["route", "add", "10.78.0.0/24", "via", SERVER]);
    const path = await captured(net, dir, "scan.pcap", async () => {
      await inClient(net, "nmap", ["-sS", "-Pn", "-n", "-T4", "--top-ports", "200", SERVER]);
      await inClient(net, "nmap", [
        "-sS",
        "-Pn",
        "-n",
        "-T5",
        "--max-retries",
        "0",
        "-p",
        "8080",
        "10.78.0.1-40",
      ]);
    });
    const { alerts } = await readDetect(path, ["--alerts", `${dir}/eve.ndjson`]);
    const vertical = ofType(alerts, "port_scan.vertical");
    assertEquals(vertical.map((a) => [a.flow.src_ip, a.flow.dest_ip]), [[CLIENT, SERVER]]);
    assert(Number(vertical[0].evidence.distinct_ports) >= 25);
    const horizontal = ofType(alerts, "port_scan.horizontal");
    assertEquals(horizontal.map((a) => [a.flow.src_ip, a.flow.dest_port]), [[CLIENT, 8080]]);
    assert(Number(horizontal[0].evidence.distinct_hosts) >= 25);
    // The EVE stream carries the same alerts with their 5-tuple fields.
    const eve = (await Deno.readTextFile(`${dir}/eve.ndjson`)).trim().split("\n").map((l) => JSON.parse(l));
    const scans = eve.filter((e) => e.event_type === "alert" && e.wiresight.type.startsWith("port_scan"));
    assertEquals(scans.map((e) => e.src_ip).sort(), [CLIENT, CLIENT]);
    assertEquals(scans.find((e) => e.wiresight.type === "port_scan.vertical").dest_ip, SERVER);
    await Deno.remove(dir, { recursive: true });
  }));

/** The client and server of each alert of `type`, as [src, dest]. */
function pairs(alerts: { flow: { src_ip: string | null; dest_ip: string | null } }[]): string[][] {
  return alerts.map((a) => [a.flow.src_ip ?? "", a.flow.dest_ip ?? ""]);
}

Deno.test("web attacks with curl against python's http.server, cleartext basic auth, intel lists", () =>
  withNetPair(async (net) => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight_http_" });
    const server = spawnIn(net.server, "python3", ["-m", "http.server", "8080", "--bind", SERVER, "-d", dir]);
    try {
      await waitPort(net, 8080);
      const base = `http://${SERVER}:8080`;
      const curl = (args: string[]) =>
        inClient(net, "curl", ["-s", "-o", "/dev/null", "--max-time", "3", "--path-as-is", ...args]);
      const path = await captured(net, dir, "http.pcap", async () => {
        await curl([`${base}/item?id=1%27%20OR%20%271%27%3D%271`]);
        await curl([`${base}/search?q=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E`]);
        await curl([`${base}/../../../../etc/passwd`]);
        await curl([`${base}/ping?host=127.0.0.1%3Bwhoami`]);
        await curl(["-A", "sqlmap/1.7.2#stable (https://sqlmap.org)", `${base}/`]);
        await curl(["-A", "", `${base}/no-agent`]);
        await curl(["-u", "admin:secret", `${base}/admin`]);
        await curl([`${base}/c?d=U2VjcmV0RGF0YTEyMzQ1Njc4OVNlY3JldERhdGExMjM0NTY3ODlTZWNyZXQ0NTY3`]);
        await curl(["-H", "Host: c2.evil.test", `${base}/beacon`]);
        await curl([`${base}/index.html`]);
      });
      const config = `${dir}/detect.toml`;
      await Deno.writeTextFile(config, `[intel]\ndomains = ["evil.test"]\nips = ["${SERVER}/32"]\n`);
      const { alerts, notices } = await readDetect(path, ["--config", config]);
      const types = new Set(alerts.map((a) => a.type));
      for (
        const t of [
          "http.sqli",
          "http.xss",
          "http.path_traversal",
          "http.command_injection",
          "http.suspicious_user_agent",
          "http.encoded_uri",
          "cleartext.http_basic",
          "intel.domain",
          "intel.ip",
        ]
      ) assert(types.has(t), `${t} missing: ${[...types].join(", ")}`);
      // A request without a user agent is a notice, listed apart.
      assertEquals(notices.map((a) => [a.type, a.severity]), [["http.empty_user_agent", "info"]]);
      for (
        const a of [...alerts, ...notices].filter((a) =>
          a.type.startsWith("http.") || a.type.startsWith("cleartext.")
        )
      ) {
        assertEquals(pairs([a]), [[CLIENT, SERVER]], a.type);
      }
      assertEquals(ofType(alerts, "http.sqli")[0].evidence.decoded_uri, "/item?id=1' OR '1'='1");
      assertEquals(ofType(alerts, "intel.domain")[0].evidence.listed, "evil.test");
      // The benign request alone raises nothing: each alert comes from its own request.
      assertEquals(alerts.filter((a) => String(a.evidence.uri ?? "").includes("index.html")), []);
    } finally {
      await server.stop();
    }
    await Deno.remove(dir, { recursive: true });
  }));

Deno.test("TLS: self-signed and expired certificates of openssl s_server, SNI mismatch, a listed JA3", () =>
  withNetPair(async (net) => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight_tls_" });
    await selfSignedCert(dir, "/CN=selfsigned.test", ["-addext", "subjectAltName=DNS:selfsigned.test"]);
    // The same key signs a copy whose validity ended yesterday.
    await run("openssl", [
      "x509",
      "-in",
      `${dir}/cert.pem`,
      "-signkey",
      `${dir}/key.pem`,
      "-days",
      "-1",
      "-out",
      `${dir}/expired.pem`,
    ]);
    const servers = [
      tlsServer(net, "4443", `${dir}/cert.pem`, `${dir}/key.pem`, ["-tls1_2"]),
      tlsServer(net, "8443", `${dir}/expired.pem`, `${dir}/key.pem`, ["-tls1_2"]),
    ];
    try {
      await waitPort(net, 4443);
      await waitPort(net, 8443);
      const curl = (name: string, port: number) =>
        inClient(net, "curl", [
          "-sk",
          "-o",
          "/dev/null",
          "--max-time",
          "3",
          "--tlsv1.2",
          "--tls-max",
          "1.2",
          "--resolve",
          `${name}:${port}:${SERVER}`,
          `https://${name}:${port}/`,
        ]);
      const path = await captured(net, dir, "tls.pcap", async () => {
        await curl("selfsigned.test", 4443);
        await curl("wrong.test", 4443);
        await curl("selfsigned.test", 8443);
      });
      const { alerts, notices } = await readDetect(path);
      const at = (type: string) =>
        ofType([...alerts, ...notices], type).map((a) => [a.flow.src_ip, a.flow.dest_ip, a.flow.dest_port]);
      // Self-signed certificates are notices; the rest are alerts.
      assertEquals(new Set(notices.map((a) => a.type)), new Set(["tls.self_signed"]));
      assertEquals(at("tls.self_signed").sort(), [[CLIENT, SERVER, 4443], [CLIENT, SERVER, 8443]]);
      assertEquals(at("tls.expired"), [[CLIENT, SERVER, 8443]]);
      assertEquals(at("tls.sni_mismatch"), [[CLIENT, SERVER, 4443]]);
      assertEquals(ofType(alerts, "tls.sni_mismatch")[0].evidence.sni, "wrong.test");
      // curl's JA3 as tshark computes it, put on the bad list: every handshake is flagged.
      const ja3 = (await run("tshark", [
        "-r",
        path,
        "-Y",
        "tls.handshake.type == 1",
        "-T",
        "fields",
        "-e",
        "tls.handshake.ja3",
      ]))
        .trim().split("\n")[0];
      assert(/^[0-9a-f]{32}$/.test(ja3), ja3);
      await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify({ tls: { bad_ja3: [ja3] } }));
      const listed = await readDetect(path, ["--config", `${dir}/bad.json`]);
      const bad = ofType(listed.alerts, "tls.bad_fingerprint");
      assertEquals(bad.map((a) => [a.flow.src_ip, a.evidence.ja3]), [[CLIENT, ja3]]);
    } finally {
      for (const s of servers) await s.stop();
    }
    await Deno.remove(dir, { recursive: true });
  }));

/** Seeded: the same names on every run. */
const random = new Seeded(0x5eed_d45);

/** A random-looking DNS label of `n` base32 characters (what encoded data looks like). */
function randomLabel(n: number): string {
  return random.string(n, "abcdefghijklmnopqrstuvwxyz234567");
}

Deno.test("DNS tunnel: dig asks dnsmasq for many random high-entropy names under one domain", () =>
  withNetPair(async (net) => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight_dnstun_" });
    await withDnsmasq(net, dir, "tunnel.test", async () => {
      const batch = [
        ...Array.from({ length: 120 }, () => `${randomLabel(40)}.${randomLabel(12)}.tunnel.test A`),
        ...Array.from({ length: 60 }, () => `${randomLabel(30)}.tunnel.test TXT`),
        "www.example.test A",
        "mail.example.test A",
      ];
      await Deno.writeTextFile(`${dir}/names`, batch.join("\n") + "\n");
      const path = await captured(net, dir, "dns.pcap", async () => {
        await inClient(net, "dig", ["+tries=1", "+time=5", `@${SERVER}`, "-f", `${dir}/names`]);
      });
      const { alerts } = await readDetect(path);
      const tunnels = ofType(alerts, "dns_tunnel");
      assertEquals(tunnels.map((a) => a.evidence.domain), ["tunnel.test"]);
      const t = tunnels[0];
      assertEquals([t.flow.src_ip, t.flow.dest_ip, t.flow.dest_port], [CLIENT, SERVER, 53]);
      assertEquals(t.hosts, [CLIENT, SERVER]);
      assert(Number(t.evidence.unique_subdomains) >= 100, JSON.stringify(t.evidence));
      assert(Number(t.evidence.txt_null_queries) >= 50, JSON.stringify(t.evidence));
      assertEquals(t.severity, "high");
    });
    await Deno.remove(dir, { recursive: true });
  }));

Deno.test("cleartext FTP, POP3, IMAP and Telnet greetings, and a large upload (exfiltration)", () =>
  withNetPair(async (net) => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight_clear_" });
    const greetings: [number, string][] = [
      [21, "220 (vsFTPd 3.0.3)\\r\\n"],
      [110, "+OK Dovecot ready.\\r\\n"],
      [143, "* OK [CAPABILITY IMAP4rev1] Dovecot ready.\\r\\n"],
      [23, "\\377\\375\\030\\377\\375\\040\\377\\373\\001login: "],
    ];
    const servers = greetings.map(([port, text]) =>
      spawnIn(net.server, "sh", ["-c", `printf '${text}' | nc -l -q 1 ${SERVER} ${port}`])
    );
    const sink = spawnIn(net.server, "sh", ["-c", `nc -l ${SERVER} 9000 > /dev/null`]);
    try {
      for (const port of [...greetings.map(([port]) => port), 9000]) await waitPortOnce(net, port);
      const path = await captured(net, dir, "clear.pcap", async () => {
        for (const [port] of greetings) {
          await inClient(net, "sh", [
            "-c",
            `printf 'hello\\r\\n' | nc -q 1 -w 2 ${SERVER} ${port} > /dev/null`,
          ]);
        }
        await inClient(net, "sh", ["-c", `head -c 12000000 /dev/zero | nc -N -w 5 ${SERVER} 9000`]);
        // Headers and greetings only: in immediate mode a full-size frame per packet (64 KiB with
        // offloads) would let a busy machine drop part of the upload.
      }, 256);
      const { alerts } = await readDetect(path);
      for (const t of ["cleartext.ftp", "cleartext.pop3", "cleartext.imap", "cleartext.telnet"]) {
        assertEquals(pairs(ofType(alerts, t)), [[CLIENT, SERVER]], t);
      }
      const ex = ofType(alerts, "exfil");
      assertEquals(ex.map((a) => [a.flow.src_ip, a.flow.dest_ip, a.flow.dest_port]), [[
        CLIENT,
        SERVER,
        9000,
      ]]);
      assert(Number(ex[0].evidence.bytes_out) >= 12_000_000);
    } finally {
      for (const s of [...servers, sink]) await s.stop();
    }
    await Deno.remove(dir, { recursive: true });
  }));

/** Waits until a one-shot `nc -l` listens, without connecting to it (ss in the server namespace). */
async function waitPortOnce(net: NetPair, port: number): Promise<void> {
  await waitFor(
    `something to listen on port ${port}`,
    async () => (await run(...inNetns(net.server, "ss", ["-ltnH", `sport = :${port}`]))).trim() !== "",
  );
}
