// `--export-type dns`: one row per DNS message.
import * as abi from "../../decoder/abi.ts";
import { APP_BASE_COLUMNS, type AppExport, appRowBase } from "../protocol.ts";
import { dnsMessage } from "./message.ts";

export const DNS_EXPORT: AppExport = {
  type: "dns",
  kinds: [abi.AK_DNS],
  columns: [
    ...APP_BASE_COLUMNS,
    "transport",
    "id",
    "response",
    "opcode",
    "rcode",
    "qname",
    "qtype",
    "answers",
    "ttl_min",
    "aa",
    "tc",
    "rd",
    "ra",
    "error",
  ],
  row(e) {
    const m = dnsMessage(e);
    const answers = m.records.filter((r) => r.section === "answer");
    return {
      ...appRowBase(e),
      transport: m.transport,
      id: m.id,
      response: m.response,
      opcode: m.opcode,
      rcode: m.response ? m.rcode : null,
      qname: m.questions[0]?.name ?? null,
      qtype: m.questions[0]?.type ?? null,
      answers: answers.map((r) => `${r.type} ${r.data.join(" ")}`).join("; ") || null,
      ttl_min: answers.length ? Math.min(...answers.map((r) => r.ttl)) : null,
      aa: m.flags.aa,
      tc: m.flags.tc,
      rd: m.flags.rd,
      ra: m.flags.ra,
      error: m.error,
    };
  },
};
