// DNS end to end with real programs: dig asks a local dnsmasq for many record types over UDP and
// TCP while tcpdump captures loopback; wiresight's DNS records must say what dig was told.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as abi from "../src/decoder/abi.ts";
import { dnsMessage } from "../src/app/dns/message.ts";
import { analyze } from "../mod.ts";
import { appEvents } from "./helpers/app.ts";
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

Deno.test("DNS records of dig's queries to dnsmasq, over UDP and TCP", () =>
  withNetns(async (netns) => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight_dns_" });
    const port = 53;
    const [cmd, args] = inNetns(netns, "dnsmasq", [
      "-k",
      `-p${port}`,
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      "--no-resolv",
      "--no-hosts",
      `--pid-file=${dir}/pid`,
      "--user=root",
      "--local=/lab.test/",
      "--host-record=www.lab.test,10.0.0.10,fd00::10",
      "--mx-host=lab.test,mail.lab.test,10",
      "--txt-record=lab.test,v=spf1 -all",
      "--cname=alias.lab.test,www.lab.test",
      "--srv-host=_sip._udp.lab.test,sip.lab.test,5060,10,20",
      "--ptr-record=10.0.0.10.in-addr.arpa,www.lab.test",
      "--address=/web.lab.test/10.0.0.11",
    ]);
    const server = new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).spawn();
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
