// Application protocols in --protocol / --exclude-protocol against tshark: a packet belongs to its
// flow's application, so `-p dns` keeps every packet of each TCP/UDP stream in which tshark
// dissects DNS (the handshake of DNS over TCP too), and `--exclude-protocol dns` keeps the rest.
// Real captures: the corpus (DNS over UDP and TCP, HTTP, TLS) and HTTP on a port nothing names,
// made here with python's http.server and curl in a private network namespace.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { corpusFile } from "./helpers/corpus.ts";
import { captureLoopback, inNetns, run, withNetns } from "./helpers/capture.ts";
import { streamPackets } from "./helpers/app_streams.ts";
import { readReport, runCli } from "./helpers/run_cli.ts";

async function packets(path: string, ...args: string[]): Promise<number> {
  return (await readReport([path, ...args])).packets as number;
}

/** `-p APP` is tshark's stream count; `--exclude-protocol APP` the complement. */
async function checkApp(path: string, app: string, filter: string, decodeAs: string[] = []) {
  const { all, inStreams, streams } = await streamPackets(path, filter, decodeAs);
  const expected = all.filter(inStreams).length;
  // The check means something only where the application is there.
  assertEquals(streams > 0, true, `${path}: no ${app} stream`);
  assertEquals(await packets(path, "-p", app), expected, `read -p ${app} ${path}`);
  assertEquals(
    await packets(path, "--exclude-protocol", app),
    all.length - expected,
    `read --exclude-protocol ${app} ${path}`,
  );
}

const CASES: [file: string, app: string, filter: string][] = [
  ["gen_dns_any_sll2.pcap", "dns", "dns"],
  ["dns_tcp.pcap", "dns", "dns"],
  ["sv-dns-dns-tcp-multirequest-buffer.pcap", "dns", "dns"],
  ["gen_multi_interface.pcapng", "dns", "dns"],
  ["gen_multi_interface.pcapng", "http", "http"],
  ["gen_http_methods.pcap", "http", "http"],
  ["sv-ja4-tls.pcap", "tls", "tls"],
  ["sv-tls-tls13-draft28.pcap", "tls", "tls"],
  ["sv-tls-tls-client-hello-frag-01.pcap", "tls", "tls"],
  ["sv-ssh-hassh.pcap", "ssh", "ssh"],
  ["quic_handshake.pcap", "quic", "quic"],
  ["dhcp-option-33.pcap", "dhcp", "dhcp"],
  ["ntp.pcap", "ntp", "ntp"],
];

for (const [file, app, filter] of CASES) {
  Deno.test(`read -p ${app} and --exclude-protocol ${app} on ${file} agree with tshark's ${filter} streams`, () =>
    checkApp(corpusFile(file), app, filter));
}

Deno.test("network/transport and application names mix in one list (either matches)", async () => {
  const path = corpusFile("gen_multi_interface.pcapng");
  const { all, inStreams } = await streamPackets(path, "http");
  const expected = all.filter((f) => f.udp !== "" || inStreams(f)).length;
  assertEquals(await packets(path, "-p", "udp,http"), expected);
  // Excluding an L3/L4 name and an application drops both.
  assertEquals(
    await packets(path, "--exclude-protocol", "udp", "--exclude-protocol", "http"),
    all.filter((f) => f.udp === "" && !inStreams(f)).length,
  );
});

Deno.test("an unknown protocol name is a usage error that lists the known ones", async () => {
  const r = await runCli(["read", corpusFile("dns_tcp.pcap"), "-p", "dns,gopher"]);
  assertEquals(r.code, 2);
  assertEquals(r.stdout, "");
  for (const name of ["'gopher'", "tcp", "icmpv6", "dns", "http", "tls", "quic", "ssh", "dhcp", "ntp"]) {
    assertEquals(r.stderr.includes(name), true, `${name} in: ${r.stderr}`);
  }
});

Deno.test("HTTP on a port nothing names: every packet of its connections, handshakes included", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_app_filter_" });
  try {
    await withNetns(async (netns) => {
      const port = 20000 + Math.floor(Math.random() * 20000);
      const [cmd, args] = inNetns(netns, "python3", [
        "-m",
        "http.server",
        "--bind",
        "127.0.0.1",
        String(port),
      ]);
      const server = new Deno.Command(cmd, { args, cwd: dir, stdout: "null", stderr: "null" }).spawn();
      try {
        const capture = await captureLoopback(dir, "http_odd_port.pcap", "", netns);
        const url = `http://127.0.0.1:${port}/`;
        // The server needs a moment to listen: curl retries refused connections (bounded).
        const curl = ["-s", "-o", "/dev/null", "--max-time", "5", "--retry", "20", "--retry-connrefused"];
        await run(...inNetns(netns, "curl", [...curl, "--retry-delay", "0", url]));
        await run(...inNetns(netns, "curl", [...curl, `${url}missing`, "--next", url]));
        // Traffic of another kind in the same capture: a UDP datagram and a TCP connection refused.
        await run(...inNetns(netns, "python3", ["-c", UDP_AND_REFUSED]));
        const path = await capture.stop();
        await checkApp(path, "http", "http", [`tcp.port==${port},http`]);
      } finally {
        server.kill("SIGTERM");
        await server.status;
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const UDP_AND_REFUSED = `
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"hello", ("127.0.0.1", 9999))
t = socket.socket()
try:
    t.connect(("127.0.0.1", 9998))
except OSError:
    pass
`;
