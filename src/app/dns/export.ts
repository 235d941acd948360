// `--export-type dns`: one row per DNS message. JSON and NDJSON carry each section as an array
// of records {name, type, ttl, data, ...details} (as Suricata's EVE and Zeek's dns.log list
// them); CSV, the store and the web keep one joined text cell per section.
import * as abi from "../../decoder/abi.ts";
import { type Column, via } from "../../base/columns.ts";
import { appExport } from "../protocol.ts";
import { type DnsMessage, dnsMessage, type DnsRecord } from "./message.ts";

const inSection = (m: DnsMessage, section: string) => m.records.filter((r) => r.section === section);

/** A record as the JSON exports show it. */
export function recordObject(r: DnsRecord): Record<string, unknown> {
  return { name: r.name, type: r.type, ttl: r.ttl, data: r.data.join(" "), ...r.details };
}

/** A section's column: "TYPE data; TYPE data" as text, the records themselves in JSON. */
function sectionColumn(name: string, section: string): Column<DnsMessage> {
  return {
    name,
    type: "text",
    get: (m) => inSection(m, section).map((r) => `${r.type} ${r.data.join(" ")}`).join("; ") || null,
    json: (m) => inSection(m, section).map(recordObject),
  };
}

export const DNS_EXPORT = appExport(
  "dns",
  [abi.AK_DNS],
  via(dnsMessage, [
    { name: "transport", type: "text", get: (m) => m.transport },
    { name: "id", type: "integer", get: (m) => m.id },
    { name: "response", type: "boolean", get: (m) => m.response },
    { name: "opcode", type: "integer", get: (m) => m.opcode },
    { name: "rcode", type: "text", get: (m) => m.response ? m.rcode : null },
    { name: "qname", type: "text", get: (m) => m.questions[0]?.name ?? null },
    { name: "qtype", type: "text", get: (m) => m.questions[0]?.type ?? null },
    sectionColumn("answers", "answer"),
    {
      name: "ttl_min",
      type: "integer",
      get: (m) => {
        const a = inSection(m, "answer");
        return a.length ? Math.min(...a.map((r) => r.ttl)) : null;
      },
    },
    { name: "aa", type: "boolean", get: (m) => m.flags.aa },
    { name: "tc", type: "boolean", get: (m) => m.flags.tc },
    { name: "rd", type: "boolean", get: (m) => m.flags.rd },
    { name: "ra", type: "boolean", get: (m) => m.flags.ra },
    { name: "error", type: "text", get: (m) => m.error },
    sectionColumn("authorities", "authority"),
    sectionColumn("additionals", "additional"),
    {
      name: "capped",
      type: "text",
      get: (m) => m.capped.join(",") || null,
    },
  ]),
);
