// SSH, DHCP, NTP and server greetings extracted by wiresight against tshark: per frame on every
// corpus capture and on a synthetic capture of protocols the corpus lacks; the SSH values
// Suricata's own tests expect; and service naming: a protocol found in the payload wins over
// the port's name, and names from ports alone are flagged as guesses.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createHash } from "node:crypto";
import * as abi from "../src/decoder/abi.ts";
import { AppSummary } from "../src/app/summary.ts";
import { hassh, sshIdentification } from "../src/app/ssh/message.ts";
import { dhcpMessage } from "../src/app/other/message.ts";
import type { OtherReport } from "../src/app/other/section.ts";
import type { SshReport } from "../src/app/ssh/section.ts";
import { serviceName } from "../src/flows/services.ts";
import { runDecode } from "../src/source/decode.ts";
import { buildReport, type Report } from "../src/report/report.ts";
import { renderText } from "../src/report/text.ts";
import { style } from "../src/base/format.ts";
import { corpusFile, corpusFiles, corpusRoot, NO_TIMEOUTS } from "./helpers/corpus.ts";
import { appEvents, tsharkFields } from "./helpers/app.ts";
import { pool } from "./helpers/util.ts";
import { SynthCapture } from "./helpers/synth_capture.ts";

// ---- per-frame fields against tshark ---------------------------------------------------------

const FIELDS = [
  "ssh.protocol",
  "ssh.kex.hassh",
  "ssh.kex.hasshserver",
  "dhcp.option.dhcp",
  "dhcp.hw.mac_addr",
  "dhcp.option.hostname",
  "dhcp.option.requested_ip_address",
  "dhcp.ip.your",
  "ntp.flags.vn",
  "ntp.flags.mode",
  "ntp.stratum",
];
const [BANNER, HASSH, HASSH_SERVER, DHCP_TYPE, MAC, HOSTNAME, REQUESTED, YOUR_IP, NTP_VN, NTP_MODE, STRATUM] =
  FIELDS.map((_, i) => i);

/** Where wiresight and tshark legitimately differ, and why (checked to still differ). */
// (SSH inside a Geneve tunnel was one until the decoder decapsulated tunnels.)
const KNOWN: Record<string, { why: string; onlyTshark: number }> = {};

const rowText = (cols: string[][]) => cols.map((c) => c.join(",")).join(" / ");

/** tshark's rows, normalised: frames with none of the fields left out. */
async function theirRows(path: string, decodeAs: string[] = []): Promise<Map<number, string>> {
  const rows = await tsharkFields(path, "ssh || dhcp || ntp", FIELDS, decodeAs.flatMap((d) => ["-d", d]));
  const out = new Map<number, string>();
  for (const { frame, values } of rows) {
    // The first MAC is chaddr's (option 61 may add the client identifier's).
    values[MAC] = values[MAC].slice(0, 1);
    values[YOUR_IP] = values[YOUR_IP].filter((a) => a !== "0.0.0.0");
    // Only time packets (modes 1-5) have a stratum in their header; mode 7 data may list others.
    if (!values[NTP_MODE].every((m) => Number(m) >= 1 && Number(m) <= 5)) values[STRATUM] = [];
    if (values.some((v) => v.length)) out.set(frame, rowText(values));
  }
  return out;
}

async function ourRows(path: string): Promise<Map<number, string>> {
  const kinds = [abi.AK_SSH_BANNER, abi.AK_SSH_KEXINIT, abi.AK_DHCP, abi.AK_NTP];
  const events = await appEvents(path, kinds, (e) => {
    const cols: string[][] = FIELDS.map(() => []);
    const put = (i: number, v: string | number | null | undefined) => v != null && cols[i].push(String(v));
    if (e.kind === abi.AK_SSH_BANNER) put(BANNER, e.str(abi.F_SSH_BANNER));
    if (e.kind === abi.AK_SSH_KEXINIT) put(e.dir === 0 ? HASSH : HASSH_SERVER, hassh(e));
    if (e.kind === abi.AK_DHCP) {
      const m = dhcpMessage(e);
      put(DHCP_TYPE, m.type);
      // tshark names chaddr a MAC address only when it has Ethernet's length.
      if (m.mac?.length === 17) put(MAC, m.mac);
      put(HOSTNAME, m.hostname);
      put(REQUESTED, m.requested);
      put(YOUR_IP, m.yourIp);
    }
    if (e.kind === abi.AK_NTP) {
      put(NTP_VN, e.num(abi.F_NTP_VERSION));
      put(NTP_MODE, e.num(abi.F_NTP_MODE));
      put(STRATUM, e.num(abi.F_NTP_STRATUM));
    }
    return { frame: e.frame, cols };
  });
  const byFrame = new Map<number, string[][]>();
  for (const { frame, cols } of events) {
    const row = byFrame.get(frame);
    if (row) row.forEach((c, i) => c.push(...cols[i]));
    else byFrame.set(frame, cols);
  }
  return new Map([...byFrame].map(([f, cols]) => [f, rowText(cols)]));
}

/** Differences between the two, as messages (frames only tshark decodes are counted apart). */
function differences(
  ours: Map<number, string>,
  theirs: Map<number, string>,
): { diffs: string[]; onlyTshark: number } {
  const diffs: string[] = [];
  for (const [frame, row] of ours) {
    if (theirs.get(frame) !== row) {
      diffs.push(`frame ${frame}: wiresight "${row}", tshark "${theirs.get(frame)}"`);
    }
  }
  return { diffs, onlyTshark: [...theirs.keys()].filter((f) => !ours.has(f)).length };
}

Deno.test("SSH, DHCP and NTP fields agree with tshark, frame by frame, on every corpus capture", async () => {
  const files = corpusFiles();
  const problems = await pool(files, navigator.hardwareConcurrency || 2, async (path) => {
    const name = path.split("/").pop()!;
    const [theirs, ours] = await Promise.all([theirRows(path), ourRows(path)]);
    const { diffs, onlyTshark } = differences(ours, theirs);
    if (onlyTshark !== (KNOWN[name]?.onlyTshark ?? 0)) diffs.push(`${onlyTshark} frames only tshark decodes`);
    return { name, diffs, compared: ours.size };
  });
  assertEquals(problems.filter((p) => p.diffs.length).map((p) => `${p.name}: ${p.diffs.join("; ")}`), []);
  // Every kind of row was really compared somewhere.
  const compared = Object.fromEntries(problems.filter((p) => p.compared).map((p) => [p.name, p.compared]));
  for (
    const f of ["ssh.pcap", "sv-ssh-hassh.pcap", "dhcp-option-108.pcapng", "dhcp-rfc3004.pcap", "ntp.pcap"]
  ) {
    assert(compared[f] > 0, `${f} has rows to compare`);
  }
});

// ---- Suricata's expectations ------------------------------------------------------------------

async function appReport(path: string, top = 10) {
  const apps = new AppSummary();
  const result = await runDecode({ files: [path], decoder: { timeouts: NO_TIMEOUTS }, top }, {
    app: (e) => apps.add(e),
  });
  const report = buildReport(result, apps, top);
  return { report, apps, app: apps.report(top) };
}

Deno.test("SSH software versions and HASSH are the values Suricata's tests expect", async () => {
  const expected = JSON.parse(await Deno.readTextFile(`${corpusRoot()}/public/sv-expected.json`)) as Record<
    string,
    { field: string; value: string }[]
  >;
  let checked = 0;
  for (const [file, values] of Object.entries(expected)) {
    const ssh = values.filter((v) => v.field.startsWith("ssh."));
    if (!ssh.length) continue;
    const r = (await appReport(corpusFile(file))).app.ssh as SshReport;
    for (const { field, value } of ssh) {
      const [, side, what] = field.split(".");
      const peers = side === "client" ? r.clients : r.servers;
      const got = peers.map((p) => (what === "software_version" ? p.software : p.hassh));
      assert(got.includes(value), `${file} ${field}: expected ${value}, got ${got}`);
      checked++;
    }
  }
  assertEquals(checked, 4);
});

// ---- a synthetic capture of protocols the corpus lacks -----------------------------------------

const enc = (s: string) => new TextEncoder().encode(s);
const cat = (...parts: (number[] | Uint8Array | string)[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? [...enc(p)] : [...p])));
const be16 = (n: number) => [n >> 8, n & 0xff];
const be32 = (n: number) => [n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

/** An SSH binary packet holding a KEXINIT with these name-lists (then two empty language lists). */
function sshKexinit(lists: string[]): Uint8Array {
  const payload = cat(
    [20],
    new Array(16).fill(0x5a),
    ...[...lists, "", ""].map((l) => cat(be32(l.length), l)),
    [
      0,
      0,
      0,
      0,
      0,
    ],
  );
  const padding = 8 - ((payload.length + 5) % 8) + 4;
  return cat(be32(payload.length + padding + 1), [padding], payload, new Array(padding).fill(0));
}

const CLIENT_KEX = [
  "curve25519-sha256,diffie-hellman-group14-sha256,ext-info-c",
  "ssh-ed25519,rsa-sha2-512",
  "chacha20-poly1305@openssh.com,aes128-ctr",
  "chacha20-poly1305@openssh.com,aes128-ctr",
  "hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
  "hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
  "none,zlib@openssh.com",
  "none,zlib@openssh.com",
];
const SERVER_KEX = [
  "curve25519-sha256",
  "ssh-ed25519",
  "aes256-gcm@openssh.com",
  "aes128-ctr",
  "hmac-sha2-512",
  "umac-64@openssh.com",
  "none",
  "none",
];

function mysqlGreeting(): Uint8Array {
  const body = cat(
    [10],
    "8.0.36\0",
    [11, 0, 0, 0],
    "abcdefgh",
    [0, 0xff, 0xf7, 0xff, 2, 0, 0xff, 0xdf, 21],
    new Array(10).fill(0),
    "ijklmnopqrst\0",
    "caching_sha2_password\0",
  );
  return cat([body.length & 0xff, body.length >> 8, 0, 0], body);
}

function smb2Negotiate(): Uint8Array {
  const header = cat([0xfe], "SMB", [64, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0], new Array(48).fill(0));
  const body = cat([36, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0], new Array(16).fill(7), new Array(8).fill(0), [
    2,
    2,
    0x10,
    2,
  ]);
  const smb = cat(header, body);
  return cat([0, 0], be16(smb.length), smb);
}

function rdpConnectionRequest(): Uint8Array {
  const rest = cat("Cookie: mstshash=alice\r\n", [1, 0, 8, 0, 3, 0, 0, 0]);
  return cat([3, 0], be16(11 + rest.length), [6 + rest.length, 0xe0, 0, 0, 0, 0, 0], rest);
}

function dhcp(op: number, type: number, yiaddr: number[], options: number[]): Uint8Array {
  const mac = [0x3c, 0x22, 0xfb, 0x12, 0x34, 0x56];
  const header = [
    op,
    1,
    6,
    0,
    0x12,
    0x34,
    0x56,
    0x78,
    0,
    0,
    0x80,
    0,
    0,
    0,
    0,
    0,
    ...yiaddr,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ];
  return cat(
    header,
    mac,
    new Array(10 + 64 + 128).fill(0),
    [0x63, 0x82, 0x53, 0x63],
    [53, 1, type],
    options,
    [255],
  );
}

const opt = (code: number, value: number[] | string) => cat([code, value.length], value);
const IP = "10.9.0.1", PEER = "10.9.0.2";

/** Each flow of the synthetic capture: where it goes, what it carries, and what must be found. */
const FLOWS: { port: number; service: string; dissector?: string; turns: [0 | 1, Uint8Array | string][] }[] =
  [
    {
      port: 2525,
      service: "smtp",
      dissector: "smtp",
      turns: [[1, "220 mx.example.test ESMTP Postfix\r\n"], [0, "EHLO a\r\n"], [
        1,
        "250 mx.example.test\r\n",
      ]],
    },
    {
      port: 2121,
      service: "ftp",
      dissector: "ftp",
      turns: [[1, "220 (vsFTPd 3.0.3)\r\n"], [0, "USER anonymous\r\n"]],
    },
    // A greeting that names nothing: the FTP port tells.
    { port: 21, service: "ftp", turns: [[1, "220 Welcome\r\n"], [0, "USER anonymous\r\n"]] },
    {
      port: 1110,
      service: "pop3",
      dissector: "pop",
      turns: [[1, "+OK Dovecot ready.\r\n"], [0, "CAPA\r\n"]],
    },
    {
      port: 1143,
      service: "imap",
      dissector: "imap",
      turns: [[1, "* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n"], [0, "a1 CAPABILITY\r\n"]],
    },
    {
      port: 7000,
      service: "redis",
      dissector: "resp",
      turns: [[0, "*1\r\n$4\r\nPING\r\n"], [1, "+PONG\r\n"]],
    },
    {
      port: 1884,
      service: "mqtt",
      dissector: "mqtt",
      turns: [[0, cat([0x10, 18, 0, 4], "MQTT", [4, 2, 0, 60, 0, 6], "client")], [1, cat([0x20, 2, 0, 0])]],
    },
    { port: 4455, service: "smb", dissector: "nbss", turns: [[0, smb2Negotiate()]] },
    {
      port: 3390,
      service: "rdp",
      dissector: "tpkt",
      turns: [[0, rdpConnectionRequest()], [
        1,
        cat([3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0, 2, 0, 0, 0]),
      ]],
    },
    { port: 3307, service: "mysql", dissector: "mysql", turns: [[1, mysqlGreeting()]] },
    {
      port: 5433,
      service: "postgresql",
      dissector: "pgsql",
      turns: [
        [0, cat(be32(36), [0, 3, 0, 0], "user\0postgres\0database\0app\0\0")],
        [1, cat("R", be32(8), be32(0), "Z", be32(5), "I")],
      ],
    },
    {
      port: 2323,
      service: "telnet",
      dissector: "telnet",
      turns: [[1, cat([255, 253, 24, 255, 253, 32])], [0, cat([255, 251, 24])]],
    },
    {
      port: 2222,
      service: "ssh",
      dissector: "ssh",
      turns: [
        [0, "SSH-2.0-OpenSSH_9.6\r\n"],
        [1, "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n"],
        [0, sshKexinit(CLIENT_KEX)],
        [1, sshKexinit(SERVER_KEX)],
      ],
    },
  ];

function synthetic(): Uint8Array {
  const c = new SynthCapture();
  FLOWS.forEach((f, i) => {
    c.tcp(
      [IP, 40000 + i],
      [PEER, f.port],
      f.turns.map(([from, data]) => ({ from: from ? "server" : "client", data })),
    );
  });
  // Binary that no signature takes, on MySQL's port: named by the port, as a guess.
  c.tcp([IP, 39999], [PEER, 3306], [{
    from: "client",
    data: cat([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6]),
  }]);
  const ntp = (first: number, stratum: number) => cat([first, stratum, 6, 0xe9], new Array(44).fill(0));
  c.udp([IP, 40123], [PEER, 123], ntp(0x23, 0));
  c.udp([PEER, 123], [IP, 40123], ntp(0x24, 2));
  c.udp([IP, 40514], [PEER, 514], "<34>Oct 11 22:14:15 host su: 'su root' failed for alice on /dev/pts/8");
  const varbind = [0x30, 0x0c, 6, 8, 0x2b, 6, 1, 2, 1, 1, 1, 0, 5, 0];
  const pdu = [0xa0, 0x1c, 2, 4, 0, 0, 0x30, 0x39, 2, 1, 0, 2, 1, 0, 0x30, 0x0e, ...varbind];
  c.udp([IP, 40161], [PEER, 161], cat([0x30, 0x29, 2, 1, 1, 4, 6], "public", pdu));
  const [client, server, bcast] = [["0.0.0.0", 68], ["10.9.0.254", 67], ["255.255.255.255", 68]] as const;
  const none = [0, 0, 0, 0], offered = [10, 9, 0, 50];
  const discover = [...opt(12, "alice-laptop"), ...opt(50, offered), ...opt(60, "android-dhcp-14")];
  c.udp([...client], ["255.255.255.255", 67], dhcp(1, 1, none, discover));
  c.udp([...server], [...bcast], dhcp(2, 2, offered, [...opt(54, [10, 9, 0, 254])]));
  c.udp(
    [...client],
    ["255.255.255.255", 67],
    dhcp(1, 3, none, [...opt(50, offered), ...opt(12, "alice-laptop")]),
  );
  c.udp([...server], [...bcast], dhcp(2, 5, offered, [...opt(54, [10, 9, 0, 254])]));
  return c.pcap();
}

const DECODE_AS = FLOWS.filter((f) => f.dissector).map((f) => `tcp.port==${f.port},${f.dissector}`);

Deno.test("a synthetic capture: payload signatures on odd ports, greetings and fields agree with tshark", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight-services-" });
  try {
    const path = `${dir}/services.pcap`;
    await Deno.writeFile(path, synthetic());

    // tshark (told which dissector each odd port carries) takes every message for its protocol,
    // so the signatures were tested on well-formed messages.
    const protocols = await tsharkFields(path, "tcp.len > 0 || udp", ["frame.protocols", "_ws.malformed"], [
      ...DECODE_AS.flatMap((d) => ["-d", d]),
    ]);
    assertEquals(protocols.filter((r) => r.values[1].length).map((r) => r.frame), [], "malformed frames");
    const seen = new Set(protocols.flatMap((r) => r.values[0][0].split(":")));
    for (const p of [...FLOWS.map((f) => f.dissector), "smb2", "rdp", "ntp", "syslog", "snmp", "dhcp"]) {
      if (p) assert(seen.has(p), `tshark finds ${p}`);
    }

    // Per frame: SSH banners and HASSH, DHCP and NTP fields.
    const [theirs, ours] = await Promise.all([theirRows(path, DECODE_AS), ourRows(path)]);
    assertEquals(differences(ours, theirs), { diffs: [], onlyTshark: 0 });
    assertEquals(ours.size, 10);

    // Every flow's service comes from its payload, whatever its port says.
    const { report, apps, app } = await appReport(path, 50);
    const byPort = new Map(report.top_ports.map((p) => [`${p.protocol}/${p.port}`, p]));
    for (const f of FLOWS) {
      const p = byPort.get(`tcp/${f.port}`);
      assertEquals([p?.service, p?.detected_by], [f.service, "payload"], `tcp/${f.port}`);
    }
    for (
      const [port, service] of [[123, "ntp"], [514, "syslog"], [161, "snmp"], [67, "dhcp"], [
        68,
        "dhcp",
      ]] as const
    ) {
      assertEquals(byPort.get(`udp/${port}`)?.detected_by, "payload", `udp/${port}`);
      assertEquals(byPort.get(`udp/${port}`)?.service, service);
    }
    assertEquals([byPort.get("tcp/3306")?.service, byPort.get("tcp/3306")?.detected_by], ["mysql", "port"]);
    const text = renderText(report, style(false), apps);
    assert(/tcp\/3306\s+mysql\?/.test(text) && /tcp\/3307\s+mysql\s/.test(text), text);

    // Greetings: the first line each server sent, as tshark's fields give it (the parts of an FTP
    // or POP3 response joined again, SMTP and IMAP lines without their escaped CR LF).
    const greetings = await tsharkFields(path, "tcp.srcport in {2525, 2121, 21, 1110, 1143} && tcp.len > 0", [
      "tcp.srcport",
      "smtp.response",
      "ftp.response.code",
      "ftp.response.arg",
      "pop.response.indicator",
      "pop.response.description",
      "imap.line",
    ], DECODE_AS.flatMap((d) => ["-d", d]));
    const theirGreetings = new Map<string, string>();
    // Backwards, so that each server keeps its first line.
    for (const { values } of greetings.reverse()) {
      theirGreetings.set(values[0][0], values.slice(1).flat().join(" ").replace(/\\r\\n$/, ""));
    }
    const other = app.other as OtherReport;
    const ourGreetings = new Map(other.banners.map((b) => [b.server.split(":")[1], b.banner]));
    assertEquals(ourGreetings, theirGreetings);
    assertEquals(other.banners.map((b) => b.protocol).sort(), ["ftp", "ftp", "imap", "pop3", "smtp"]);

    // The report sections: SSH with HASSH, DHCP client, NTP modes.
    const md5 = (s: string) => createHash("md5").update(s).digest("hex");
    const ssh = app.ssh as SshReport;
    assertEquals(ssh.clients, [{
      software: "OpenSSH_9.6",
      hassh: md5([0, 2, 4, 6].map((i) => CLIENT_KEX[i]).join(";")),
      flows: 1,
    }]);
    assertEquals(ssh.servers[0].hassh, md5([0, 3, 5, 7].map((i) => SERVER_KEX[i]).join(";")));
    assertEquals(
      sshIdentification("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6")?.software,
      ssh.servers[0].software,
    );
    assertEquals(other.dhcp?.clients, [{
      mac: "3c:22:fb:12:34:56",
      hostname: "alice-laptop",
      vendor_class: "android-dhcp-14",
      requested: "10.9.0.50",
      offered: "10.9.0.50",
      assigned: "10.9.0.50",
      messages: 4,
      message_types: { DISCOVER: 1, OFFER: 1, REQUEST: 1, ACK: 1 },
    }]);
    assertEquals(other.ntp, { packets: 2, modes: { client: 1, server: 1 }, versions: { v4: 2 } });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- port names on real traffic ----------------------------------------------------------------

Deno.test("HTTP on 8080 is named by its payload, not as the port's http-alt; port-only names are flagged", async () => {
  assertEquals(serviceName(6, 8080), "http-alt");
  const { report, apps } = await appReport(corpusFile("gen_http_methods.pcap"));
  const web = report.top_ports.find((p) => p.port === 8080)!;
  assertEquals([web.service, web.detected_by], ["http", "payload"]);
  const tftp = (await appReport(corpusFile("tftp.pcap"))).report.top_ports.find((p) =>
    p.port === 69
  ) as Report["top_ports"][0];
  assertEquals([tftp.service, tftp.detected_by], ["tftp", "port"]);
  assert(/tcp\/8080\s+http\s/.test(renderText(report, style(false), apps)));
});

Deno.test("40+ services are named by port, the issue's list among them", () => {
  const wanted: [number, number, string][] = [
    [17, 53, "dns"],
    [6, 80, "http"],
    [6, 443, "https"],
    [6, 22, "ssh"],
    [6, 21, "ftp"],
    [6, 23, "telnet"],
    [6, 25, "smtp"],
    [6, 143, "imap"],
    [6, 110, "pop3"],
    [6, 389, "ldap"],
    [6, 636, "ldaps"],
    [6, 3389, "rdp"],
    [6, 445, "smb"],
    [6, 3306, "mysql"],
    [6, 5432, "postgresql"],
    [6, 6379, "redis"],
    [6, 27017, "mongodb"],
    [6, 1883, "mqtt"],
    [17, 123, "ntp"],
    [17, 161, "snmp"],
    [17, 514, "syslog"],
    [17, 88, "kerberos"],
    [6, 88, "kerberos"],
  ];
  assertEquals(wanted.filter(([proto, port, name]) => serviceName(proto, port) !== name), []);
  const names = new Set<string>();
  for (let port = 1; port < 65536; port++) {
    for (const proto of [6, 17]) {
      const n = serviceName(proto, port);
      if (n) names.add(n);
    }
  }
  assert(names.size >= 40, `${names.size} services`);
});
