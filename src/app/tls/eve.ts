// TLS in the EVE stream: one event per handshake (Suricata's shape), written once the server's
// certificate is seen or the flow ends. QUIC handshakes are not logged as tls, as in Suricata.
import * as abi from "../../decoder/abi.ts";
import type { AppEvent } from "../../decoder/app_event.ts";
import { BoundedTable } from "../../base/bounded_table.ts";
import { eventTuple, eveTime, reversedTuple } from "../eve.ts";
import type { EveLog, EveRecord } from "../protocol.ts";
import { tlsRecord } from "./message.ts";

interface Handshake {
  ts: [number, number];
  tuple: EveRecord;
  tls: EveRecord;
}

/** Handshakes waiting for their certificate. */
const PENDING = 4096;

/** Suricata writes certificate times without zone or fraction. */
const certTime = (iso: string | null) => iso?.replace(/\.\d+Z$|Z$/, "") ?? null;

export function tlsEve(): EveLog {
  const sessions = new BoundedTable<Handshake>("eve_tls_pending", PENDING);
  const writeSession = (flowId: number, s: Handshake, write: (r: EveRecord) => void) => {
    sessions.delete(String(flowId));
    write({ timestamp: eveTime(...s.ts), flow_id: flowId, event_type: "tls", ...s.tuple, tls: s.tls });
  };
  return {
    kinds: [abi.AK_TLS_CLIENT_HELLO, abi.AK_TLS_SERVER_HELLO, abi.AK_TLS_CERTIFICATE],
    add(e: AppEvent, write) {
      const r = tlsRecord(e);
      if (r.transport === "quic") return;
      const client = r.kind === "client_hello";
      const s = sessions.upsert(String(e.flowId), () => ({
        ts: [e.tsSec, e.tsNsec],
        // Suricata's tuple is the client's: a server message has it reversed.
        tuple: client ? eventTuple(e, 6) : reversedTuple(e, 6),
        tls: {},
      }));
      if (client) {
        s.tls.sni = r.sni ?? undefined;
        s.tls.ja3 = { hash: r.ja3, string: r.ja3_string };
        s.tls.ja4 = r.ja4 ?? undefined;
        if (!s.tls.version) s.tls.version = r.version;
      } else if (r.kind === "server_hello") {
        s.tls.version = r.version;
        s.tls.ja3s = { hash: r.ja3s, string: r.ja3s_string };
      } else if (r.cert) {
        Object.assign(s.tls, {
          subject: r.cert.subject ?? undefined,
          issuerdn: r.cert.issuer ?? undefined,
          serial: r.x509?.serial ?? undefined,
          fingerprint: r.x509?.sha1 ?? undefined,
          notbefore: certTime(r.cert.not_before) ?? undefined,
          notafter: certTime(r.cert.not_after) ?? undefined,
        });
        writeSession(e.flowId, s, write);
      }
    },
    flowEnd(flowId, write) {
      const s = sessions.get(String(flowId));
      if (s) writeSession(flowId, s, write);
    },
    close(write) {
      for (const [id, s] of [...sessions.entries()]) writeSession(Number(id), s, write);
    },
  };
}
