// Encrypted DNS recognised on flows (src/app/tls/encrypted_dns.ts) from what real clients send, in
// a private network namespace against openssl s_server: dig +tls (DoT: port 853, ALPN "dot"),
// curl to a public resolver's DoH name (SNI dns.google on 443, ALPN h2) and curl to another name
// (plain HTTPS, left "tls"). tshark reads the same hellos: the rules' inputs are checked there.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { encryptedDns } from "../src/app/tls/encrypted_dns.ts";
import { captureLoopback, inNetns, run, withNetns } from "./helpers/capture.ts";
import { selfSignedCert } from "./helpers/detect.ts";
import { spawnIn } from "./helpers/netns.ts";
import { tsharkFields } from "./helpers/app.ts";
import { runCli } from "./helpers/run_cli.ts";
import { runTool } from "./helpers/tool.ts";
import { waitFor } from "./helpers/wait.ts";

Deno.test("DoT by dig and DoH to dns.google by curl are labelled on their flows; other HTTPS is not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_encdns_" });
  try {
    await withNetns(async (netns) => {
      await selfSignedCert(dir, "/CN=dns.google");
      const tls = ["-cert", `${dir}/cert.pem`, "-key", `${dir}/key.pem`, "-www", "-quiet"];
      const servers = [853, 443].map((port) =>
        spawnIn(netns, "openssl", ["s_server", "-accept", String(port), ...tls])
      );
      try {
        for (const port of [853, 443]) {
          await waitFor(
            `s_server on ${port}`,
            () => run(...inNetns(netns, "nc", ["-z", "-w", "2", "127.0.0.1", String(port)])),
          );
        }
        const capture = await captureLoopback(dir, "encdns.pcap", "tcp port 853 or tcp port 443", netns);
        // s_server -www answers HTTP, not DNS: dig gives up (exit 9); its hello is what counts.
        await runTool(
          ...inNetns(netns, "dig", ["+tls", "+tries=1", "+timeout=2", "@127.0.0.1", "example.com"]),
          {
            okCodes: [9, 10],
          },
        );
        const curl = (host: string, path: string) =>
          run(
            ...inNetns(netns, "curl", [
              "-sk",
              "-o",
              "/dev/null",
              "--max-time",
              "5",
              "--resolve",
              `${host}:443:127.0.0.1`,
              `https://${host}${path}`,
            ]),
          );
        await curl("dns.google", "/dns-query?dns=q80BAAABAAAAAAAAA2dldAdleGFtcGxlAAABAAE");
        await curl("www.example.com", "/");
        const path = await capture.stop();

        const out = `${dir}/flows.json`;
        const r = await runCli(["read", path, "--export", out, "--export-type", "flows", "--no-progress"]);
        assertEquals(r.code, 0, r.stderr);
        const flows = JSON.parse(await Deno.readTextFile(out)) as Record<string, unknown>[];
        assertEquals(
          flows.map((f) => [f.dst_port, f.server_name, f.app]),
          [[853, null, "dot"], [443, "dns.google", "doh"], [443, "www.example.com", "tls"]],
        );
        // The inputs as tshark reads them: port, SNI and ALPN of each ClientHello.
        const hellos = await tsharkFields(path, "tls.handshake.type == 1", [
          "tcp.dstport",
          "tls.handshake.extensions_server_name",
          "tls.handshake.extensions_alpn_str",
        ]);
        const labels = hellos.map(({ values: [[port], sni, alpn] }) =>
          encryptedDns({ transport: "tcp", serverPort: Number(port), sni: sni[0] ?? null, alpn })
        );
        assertEquals(labels, ["dot", "doh", null]);
        assertEquals(hellos[0].values[2], ["dot"]);
      } finally {
        for (const s of servers) await s.stop();
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the rules: QUIC to 853 or with ALPN doq is DoQ; DoH needs port 443, a listed name and HTTP ALPN", () => {
  const hello = (transport: "tcp" | "quic", serverPort: number, sni: string | null, alpn: string[]) =>
    encryptedDns({ transport, serverPort, sni, alpn });
  assertEquals(
    [
      hello("quic", 853, null, []),
      hello("quic", 8853, "dns.example", ["doq"]),
      hello("quic", 443, "dns.google", ["h3"]),
      hello("tcp", 443, "Mozilla.Cloudflare-DNS.com.", ["h2", "http/1.1"]),
      hello("tcp", 443, "abc123.dns.nextdns.io", []),
      hello("tcp", 8443, "dns.google", ["h2"]),
      hello("tcp", 443, "dns.google", ["h2", "acme-tls/1"]),
      hello("tcp", 443, "notdns.google", ["h2"]),
      hello("quic", 443, "www.example.com", ["h3"]),
    ],
    ["doq", "doq", "doh", "doh", "doh", null, null, null, null],
  );
});
