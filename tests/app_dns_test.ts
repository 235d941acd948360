// DNS extracted by wiresight against tshark's dns.* fields on every corpus capture: per frame,
// the question names and types, response flag, response code and A/AAAA answers.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as abi from "../src/decoder/abi.ts";
import { type DnsMessage, dnsMessage } from "../src/app/dns/message.ts";
import { DNS_TYPES } from "../src/app/names.ts";
import { corpusFiles } from "./helpers/corpus.ts";
import { appEvents, tsharkFields } from "./helpers/app.ts";

const TYPE_NUMBERS = new Map(Object.entries(DNS_TYPES).map(([n, name]) => [name, n]));
const typeNumber = (t: string) => TYPE_NUMBERS.get(t) ?? t.replace(/^TYPE/, "");

/** Where wiresight and tshark legitimately differ, and why (checked to still differ). */
const KNOWN: Record<string, { why: string; onlyTshark?: number; placeholderNames?: number }> = {
  "LINKTYPE_IPV4_invalid.pcap": {
    why: "an IPv6 packet on a raw-IPv4 link: wiresight counts it malformed (see corpus_test.ts)",
    onlyTshark: 1,
  },
  "dns-badlabel.pcap": {
    why:
      "a name longer than 255 bytes: tshark prints '<Name too long>', wiresight reports the message malformed",
    placeholderNames: 1,
  },
  "dns_fwdptr.pcap": {
    why:
      "compression pointers that point forward: tshark prints '<Name too long>' for each name, wiresight " +
      "refuses forward pointers (they allow loops) and reports the message malformed",
    placeholderNames: 1,
  },
};

function row(ms: DnsMessage[]): string {
  const join = (xs: (string | number)[]) => xs.join(",");
  return [
    join(ms.flatMap((m) => m.questions.map((q) => q.name))),
    join(ms.flatMap((m) => m.questions.map((q) => typeNumber(q.type)))),
    join(ms.map((m) => (m.response ? 1 : 0))),
    // tshark's dns.flags.rcode is the header's 4 bits; the EDNS extension sits in the OPT record.
    join(ms.filter((m) => m.response).map((m) => m.rcodeValue & 0xf)),
    join(ms.flatMap((m) => m.records.filter((r) => r.type === "A").flatMap((r) => r.data))),
    join(ms.flatMap((m) => m.records.filter((r) => r.type === "AAAA").flatMap((r) => r.data))),
  ].join(" / ");
}

for (const path of corpusFiles()) {
  const name = path.split("/").pop()!;
  Deno.test(`DNS fields agree with tshark on ${name}`, async () => {
    const [theirs, ours] = await Promise.all([
      tsharkFields(path, "dns", [
        "dns.qry.name",
        "dns.qry.type",
        "dns.flags.response",
        "dns.flags.rcode",
        "dns.a",
        "dns.aaaa",
      ]),
      appEvents(path, [abi.AK_DNS], (e) => ({ frame: e.frame, m: dnsMessage(e) })),
    ]);
    const known = KNOWN[name];
    // tshark attributes every message to the frame that completed it, as wiresight does.
    // Malformed messages are compared too, up to where each parser stopped; only names tshark
    // replaces by a placeholder are left out.
    const tsharkRows = new Map(theirs.map((t) => [t.frame, t.values.map((v) => v.join(",")).join(" / ")]));
    const byFrame = new Map<number, DnsMessage[]>();
    for (const o of ours) {
      // tshark does not decode a DoH GET's dns= parameter (app_http2_test.ts checks those).
      if (o.m.transport === "doh" && !tsharkRows.has(o.frame)) continue;
      byFrame.set(o.frame, [...(byFrame.get(o.frame) ?? []), o.m]);
    }
    const placeholders = [...tsharkRows].filter(([, r]) => r.includes("<Name too long>")).map(([f]) => f);
    assertEquals(placeholders.length, known?.placeholderNames ?? 0, "frames with placeholder names");
    for (const f of placeholders) {
      assertEquals(
        byFrame.get(f)?.every((m) => m.error !== null),
        true,
        `frame ${f} is malformed for wiresight`,
      );
      tsharkRows.delete(f);
      byFrame.delete(f);
    }
    const ourRows = new Map([...byFrame].map(([f, ms]) => [f, row(ms)]));
    const onlyTshark = [...tsharkRows.keys()].filter((f) => !ourRows.has(f));
    assertEquals(onlyTshark.length, known?.onlyTshark ?? 0, `frames only tshark decodes: ${onlyTshark}`);
    for (const [frame, ours] of ourRows) assertEquals(ours, tsharkRows.get(frame), `frame ${frame}`);
    if (known) assertEquals(Boolean(known.onlyTshark || known.placeholderNames), true, known.why);
  });
}
