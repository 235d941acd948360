// `--export-type dns`: one row per DNS message.
import * as abi from "../../decoder/abi.ts";
import { via } from "../../base/columns.ts";
import { appExport } from "../protocol.ts";
import { type DnsMessage, dnsMessage } from "./message.ts";

const answers = (m: DnsMessage) => m.records.filter((r) => r.section === "answer");

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
    {
      name: "answers",
      type: "text",
      get: (m) => answers(m).map((r) => `${r.type} ${r.data.join(" ")}`).join("; ") || null,
    },
    {
      name: "ttl_min",
      type: "integer",
      get: (m) => {
        const a = answers(m);
        return a.length ? Math.min(...a.map((r) => r.ttl)) : null;
      },
    },
    { name: "aa", type: "boolean", get: (m) => m.flags.aa },
    { name: "tc", type: "boolean", get: (m) => m.flags.tc },
    { name: "rd", type: "boolean", get: (m) => m.flags.rd },
    { name: "ra", type: "boolean", get: (m) => m.flags.ra },
    { name: "error", type: "text", get: (m) => m.error },
  ]),
);
