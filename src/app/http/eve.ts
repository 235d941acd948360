// HTTP in the EVE stream: one event per transaction, a request with its response (Suricata's
// shape). Requests wait for their responses in order, bounded per flow and in flows.
import * as abi from "../../decoder/abi.ts";
import type { AppEvent } from "../../decoder/app_event.ts";
import { BoundedTable } from "../../base/bounded_table.ts";
import { eventTuple, eveTime } from "../eve.ts";
import type { EveLog, EveRecord } from "../protocol.ts";
import { contentLength, hostName, type HttpMessage, httpMessage } from "./message.ts";

interface PendingRequest {
  ts: [number, number];
  tuple: EveRecord;
  m: HttpMessage;
}

/** Flows with requests waiting for their responses. */
const PENDING_FLOWS = 4096;
/** Pipelined requests waiting in one flow. */
const PENDING_PER_FLOW = 8;

export function httpEve(): EveLog {
  const requests = new BoundedTable<PendingRequest[]>("eve_http_pending", PENDING_FLOWS);
  /** Requests of a flow that ended without their responses. */
  const flush = (flowId: number, write: (r: EveRecord) => void) => {
    const queue = requests.get(String(flowId));
    if (!queue) return;
    for (const r of queue) write(transaction(flowId, r.ts, r.tuple, r.m, null));
    requests.delete(String(flowId));
  };
  return {
    kinds: [abi.AK_HTTP_REQUEST, abi.AK_HTTP_RESPONSE],
    add(e: AppEvent, write) {
      const key = String(e.flowId);
      const m = httpMessage(e);
      if (m.kind === "request") {
        const queue = requests.upsert(key, () => []);
        if (queue.length < PENDING_PER_FLOW) {
          queue.push({ ts: [e.tsSec, e.tsNsec], tuple: eventTuple(e, 6), m });
        }
        return;
      }
      // HTTP/1 answers in order; HTTP/2 answers on the request's stream, in any order.
      const queue = requests.get(key);
      const at = queue ? queue.findIndex((r) => r.m.streamId === m.streamId) : -1;
      const req = at >= 0 ? queue!.splice(at, 1)[0] : undefined;
      if (req) write(transaction(e.flowId, [e.tsSec, e.tsNsec], req.tuple, req.m, m));
    },
    flowEnd: flush,
    close(write) {
      for (const [id] of [...requests.entries()]) flush(Number(id), write);
    },
  };
}

function transaction(
  flowId: number,
  ts: [number, number],
  tuple: EveRecord,
  req: HttpMessage,
  res: HttpMessage | null,
): EveRecord {
  const port = req.host?.match(/:(\d+)$/)?.[1];
  // Suricata counts the body bytes it saw; the decoder reads headers only, so this is the
  // response's Content-Length, and absent without one.
  const length = contentLength(res?.contentLength ?? null) ?? undefined;
  return {
    timestamp: eveTime(...ts),
    flow_id: flowId,
    event_type: "http",
    ...tuple,
    tx_id: 0,
    http: {
      hostname: req.host ? hostName(req.host) : undefined,
      http_port: port ? Number(port) : undefined,
      url: req.uri ?? undefined,
      http_user_agent: req.userAgent ?? undefined,
      // Without parameters, as Suricata writes it ("text/html", not "text/html; charset=...").
      http_content_type: res?.contentType?.split(";")[0].trim() || undefined,
      http_refer: req.referer ?? undefined,
      http_method: req.method ?? undefined,
      protocol: req.version ?? undefined,
      status: res?.status ?? undefined,
      length,
    },
  };
}
