// DNS in the EVE stream (Suricata's version 2 format): one query event per question, one answer
// event per response with its answers, authorities and additionals (the EDNS OPT record left out,
// as Suricata does).
import * as abi from "../../decoder/abi.ts";
import type { AppEvent } from "../../decoder/app_event.ts";
import { eventTuple, eveTime, reversedTuple } from "../eve.ts";
import type { EveLog, EveRecord } from "../protocol.ts";
import { dnsMessage, type DnsRecord } from "./message.ts";

export function dnsEve(): EveLog {
  return {
    kinds: [abi.AK_DNS],
    add: (e, write) => dnsEvents(e).forEach(write),
    flowEnd: () => {},
    close: () => {},
  };
}

function dnsEvents(e: AppEvent): EveRecord[] {
  const m = dnsMessage(e);
  const proto = m.transport === "udp" ? 17 : 6;
  const base = {
    timestamp: eveTime(e.tsSec, e.tsNsec),
    flow_id: e.flowId,
    pcap_cnt: e.frame,
    event_type: "dns",
    // Suricata's tuple is the client's, for answers too.
    ...(e.dir === 1 ? reversedTuple(e, proto) : eventTuple(e, proto)),
  };
  if (!m.response) {
    return m.questions.map((q) => ({
      ...base,
      dns: {
        version: 2,
        type: "query",
        id: m.id,
        rrname: q.name,
        rrtype: q.type,
        tx_id: 0,
        opcode: m.opcode,
      },
    }));
  }
  const q = m.questions[0];
  const section = (name: string) => {
    const records = m.records.filter((r) => r.section === name && r.type !== "OPT").map(eveRecord);
    return records.length ? records : undefined;
  };
  const flags = e.num(abi.F_DNS_FLAGS) ?? 0;
  return [{
    ...base,
    dns: {
      version: 2,
      type: "answer",
      id: m.id,
      flags: flags.toString(16).padStart(4, "0"),
      qr: true,
      aa: m.flags.aa || undefined,
      tc: m.flags.tc || undefined,
      rd: m.flags.rd || undefined,
      ra: m.flags.ra || undefined,
      opcode: m.opcode,
      rrname: q?.name,
      rrtype: q?.type,
      rcode: m.rcode,
      answers: section("answer"),
      authorities: section("authority"),
      additionals: section("additional"),
    },
  }];
}

/** A record as Suricata writes it: SOA and SRV as objects instead of `rdata`. */
function eveRecord(r: DnsRecord) {
  const structured = "soa" in r.details || "srv" in r.details;
  return {
    rrname: r.name,
    rrtype: r.type,
    ttl: r.ttl,
    ...(structured ? {} : { rdata: r.data.join(" ") }),
    ...r.details,
  };
}
