// DNS end to end with real programs: dig asks a local dnsmasq for many record types over UDP and
// TCP while tcpdump captures loopback; wiresight's DNS records must say what dig was told.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as abi from "../src/decoder/abi.ts";
import { dnsMessage } from "../src/app/dns/message.ts";
import { analyze } from "../mod.ts";
import { appEvents } from "./helpers/app.ts";
import { compareDnsRecords } from "./helpers/dns_fields.ts";
import { captureLoopback, inNetns, run, withNetns } from "./helpers/capture.ts";
import { waitTcpQuiet } from "./helpers/live.ts";
import { waitFor } from "./helpers/wait.ts";

interface Ask {
  name: string;
  type: string;
  tcp?: boolean;
}

const ASKS: Ask[] = [
  { name: "www.lab.test", type: "A" },
  { name: "www.lab.test", type: "AAAA" },
  { name: "lab.test", type: "MX" },
  { name: "lab.test", type: "TXT", tcp: true },
  { name: "alias.lab.test", type: "CNAME" },
  { name: "_sip._udp.lab.test", type: "SRV", tcp: true },
  { name: "10.0.0.10.in-addr.arpa", type: "PTR" },
  { name: "web.lab.test", type: "A", tcp: true },
  { name: "nope.lab.test", type: "A" },
];

/** dnsmasq on 127.0.0.1:53 of the namespace, authoritative for lab.test with the records given. */
function startDnsmasq(netns: string, dir: string, records: string[]): Deno.ChildProcess {
  const [cmd, args] = inNetns(netns, "dnsmasq", [
    "-k",
    "-p53",
    "--listen-address=127.0.0.1",
    "--bind-interfaces",
    "--no-resolv",
    "--no-hosts",
    `--pid-file=${dir}/pid`,
    "--user=root",
    "--local=/lab.test/",
    ...records,
  ]);
  return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).spawn();
}

Deno.test("DNS records of dig's queries to dnsmasq, over UDP and TCP", () =>
  withNetns(async (netns) => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight_dns_" });
    const port = 53;
    const server = startDnsmasq(netns, dir, [
      "--host-record=www.lab.test,10.0.0.10,fd00::10",
      "--mx-host=lab.test,mail.lab.test,10",
      "--txt-record=lab.test,v=spf1 -all",
      "--cname=alias.lab.test,www.lab.test",
      "--srv-host=_sip._udp.lab.test,sip.lab.test,5060,10,20",
      "--ptr-record=10.0.0.10.in-addr.arpa,www.lab.test",
      "--address=/web.lab.test/10.0.0.11",
    ]);
    try {
      // dnsmasq answers, over UDP and TCP, before the capture starts.
      for (const transport of ["+notcp", "+tcp"]) {
        await waitFor(`dnsmasq to answer (${transport})`, async () => {
          const dig = ["+short", "+tries=1", "+time=2", transport, `-p${port}`, "@127.0.0.1", "www.lab.test"];
          return (await run(...inNetns(netns, "dig", dig))).trim() === "10.0.0.10";
        });
      }
      await waitTcpQuiet(netns);
      const capture = await captureLoopback(dir, "dns.pcap", `port ${port}`, netns);
      const answers: string[][] = [];
      for (const a of ASKS) {
        const args = ["+short", "+tries=1", "+time=5", `-p${port}`, "@127.0.0.1", a.name, a.type];
        if (a.tcp) args.unshift("+tcp");
        answers.push((await run(...inNetns(netns, "dig", args))).trim().split("\n").filter((l) => l));
      }
      const path = await capture.stop();

      const messages = await appEvents(path, [abi.AK_DNS], (e) => dnsMessage(e));
      const queries = messages.filter((m) => !m.response);
      const responses = messages.filter((m) => m.response);
      assertEquals(
        queries.map((m) => [m.questions[0].name, m.questions[0].type]),
        ASKS.map((a) => [a.name, a.type]),
      );
      assertEquals(
        messages.map((m) => m.transport),
        ASKS.flatMap((a) => [a.tcp ? "tcp" : "udp", a.tcp ? "tcp" : "udp"]),
      );
      assertEquals(responses.map((m) => m.id), queries.map((m) => m.id));
      ASKS.forEach((a, i) => {
        const r = responses[i];
        // dig prints names with a trailing dot and TXT strings in quotes.
        const ours = r.records.filter((x) => x.section === "answer").map((x) =>
          x.type === "TXT"
            ? x.data.map((t) => `"${t}"`).join(" ")
            : x.data.join(" ").replace(/([a-z])$/i, "$1.")
        );
        const dig = answers[i].map((l) => l.replace(/\.$/, "."));
        assertEquals(ours, dig, `${a.name} ${a.type}`);
      });
      assertEquals(responses.at(-1)!.rcode, "NXDOMAIN");

      const report = await analyze(path);
      assertEquals(
        [report.dns!.queries, report.dns!.responses, report.dns!.nxdomain, report.dns!.over_tcp],
        [9, 9, 1, 6],
      );
      assertEquals(report.dns!.resolved.find((r) => r.name === "www.lab.test")?.addresses, [
        "10.0.0.10",
        "fd00::10",
      ]);
    } finally {
      server.kill();
      await server.status;
      await Deno.remove(dir, { recursive: true });
    }
  }));

/** Records the corpus lacks, served by dnsmasq as given (hex data per RFC 9460, 4034, 6844). */
const RICH_RECORDS = [
  // HTTPS: priority 1, target ".", alpn h2,h3, port 443, ipv4hint, ech (opaque), ipv6hint.
  "--dns-rr=svc.lab.test,65,0001000001000602683202683300030002" +
  "01bb00040004c000020100050004000102030006001020010db8000000000000000000000001",
  // DS: key tag 12345, algorithm 8, digest type 2, a 32-byte digest.
  "--dns-rr=lab.test,43,303908021" + "0".repeat(62) + "f",
  // DNSKEY: flags 257 (zone key, SEP), protocol 3, algorithm 8, a short key.
  "--dns-rr=lab.test,48,0101030803010001a1b2c3d4e5f60718293a4b5c6d7e8f90",
  "--caa-record=lab.test,0,issue,letsencrypt.org",
  "--naptr-record=lab.test,100,10,S,SIP+D2U,,_sip._udp.lab.test",
];

const RICH_ASKS = [
  ["svc.lab.test", "HTTPS", "+subnet=192.0.2.0/24"],
  ["lab.test", "DS", "+dnssec"],
  ["lab.test", "DNSKEY", "+cookie"],
  ["lab.test", "CAA", "+subnet=2001:db8::/48"],
  ["lab.test", "NAPTR", "+tcp"],
];

Deno.test("HTTPS, DS, DNSKEY, CAA, NAPTR and EDNS options from dnsmasq agree with tshark", () =>
  withNetns(async (netns) => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight_dns_rich_" });
    const server = startDnsmasq(netns, dir, RICH_RECORDS);
    try {
      await waitFor("dnsmasq to answer", async () => {
        const dig = ["+short", "+tries=1", "+time=2", "@127.0.0.1", "lab.test", "CAA"];
        return (await run(...inNetns(netns, "dig", dig))).includes("letsencrypt.org");
      });
      await waitTcpQuiet(netns);
      const capture = await captureLoopback(dir, "dns_rich.pcap", "port 53", netns);
      for (const [name, type, option] of RICH_ASKS) {
        await run(...inNetns(netns, "dig", ["+tries=1", "+time=5", option, "@127.0.0.1", name, type]));
      }
      const path = await capture.stop();

      assertEquals(await compareDnsRecords(path), []);
      // What the comparison covered: every type asked for, and the EDNS options dig sent.
      const records = (await appEvents(path, [abi.AK_DNS], (e) => dnsMessage(e))).flatMap((m) => m.records);
      const types = new Set(records.map((r) => r.type));
      for (const [, type] of RICH_ASKS) assertEquals(types.has(type), true, `a ${type} answer`);
      const https = records.find((r) => r.type === "HTTPS")!;
      assertEquals(https.details.svcb, {
        priority: 1,
        target: "<Root>",
        alpn: "h2,h3",
        port: 443,
        ipv4hint: "192.0.2.1",
        ech: 1,
        ipv6hint: "2001:db8::1",
      });
      const edns = records.filter((r) => r.type === "OPT").map((r) =>
        r.details.edns as Record<string, unknown>
      );
      assertEquals(edns.filter((e) => e.client_subnet).length >= 2, true, "client subnets sent");
      assertEquals(edns.some((e) => e.cookie), true, "a cookie sent");
      assertEquals(edns.some((e) => e.do === 1), true, "DNSSEC OK asked");
    } finally {
      server.kill();
      await server.status;
      await Deno.remove(dir, { recursive: true });
    }
  }));
