// http.log as Zeek's base/protocols/http writes it: one row per request, numbered by its depth in
// the connection, paired with the responses in order (1xx responses fill info_code/info_msg and
// wait for the final one); written at the final response, or when the flow ends without it.
// HTTP/2 is not HTTP/1 to Zeek (its own analyzer, not in http.log), so only HTTP/1.x is logged.
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import { contentLength, type HttpMessage, httpMessage } from "../app/http/message.ts";
import type { FlowView } from "./rows.ts";
import type { SessionSink } from "./sink.ts";
import type { UidMaker } from "./zeek_conn.ts";
import { eventIds, eventSeconds, idFields, type ZeekField, type ZeekIds, ZeekLog } from "./zeek_log.ts";

interface HttpRow {
  ts: number;
  uid: string;
  ids: ZeekIds;
  depth: number;
  method: string | null;
  host: string | null;
  uri: string | null;
  referrer: string | null;
  version: string | null;
  userAgent: string | null;
  requestBodyLen: number;
  responseBodyLen: number | null;
  status: number | null;
  statusMsg: string | null;
  infoCode: number | null;
  infoMsg: string | null;
}

/** A flow's request count and its requests waiting for their final response, oldest first. */
interface FlowHttp {
  requests: number;
  waiting: HttpRow[];
}

/** Zeek's max_pending_requests: past it, the waiting rows are written without their responses. */
const MAX_PENDING = 100;

/** The URI with its %XX escapes decoded, as Zeek's unescape_URI does (bad escapes kept as sent). */
function unescapeUri(uri: string): string {
  return uri.replace(/%([0-9a-fA-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
}

/** "HTTP/1.1" is "1.1" to Zeek. */
const versionNumber = (v: string | null) => v?.replace(/^HTTP\//, "") ?? null;

/** What Zeek counts as body: none for HEAD, 1xx, 204, 304 and a CONNECT's 2xx (RFC 9110 6.3); else
 * the Content-Length. A body
 * without one (chunked, or up to the close) is unknown: the decoder reads headers only. */
function responseBody(res: HttpMessage, method: string | null): number | null {
  const s = res.status ?? 0;
  const bodiless = method === "HEAD" || (s >= 100 && s < 200) || s === 204 || s === 304 ||
    (method === "CONNECT" && s >= 200 && s < 300);
  if (bodiless) return 0;
  return contentLength(res.contentLength);
}

export const HTTP_FIELDS: ZeekField<HttpRow>[] = [
  { name: "ts", type: "time", get: (r) => r.ts },
  { name: "uid", type: "string", get: (r) => r.uid },
  ...idFields<HttpRow>(),
  { name: "trans_depth", type: "count", get: (r) => r.depth },
  { name: "method", type: "string", get: (r) => r.method },
  { name: "host", type: "string", get: (r) => r.host },
  { name: "uri", type: "string", get: (r) => r.uri },
  { name: "referrer", type: "string", get: (r) => r.referrer },
  { name: "version", type: "string", get: (r) => r.version },
  { name: "user_agent", type: "string", get: (r) => r.userAgent },
  // The decoder does not pass the Origin header, the proxy headers or credentials.
  { name: "origin", type: "string", get: () => null },
  { name: "request_body_len", type: "count", get: (r) => r.requestBodyLen },
  { name: "response_body_len", type: "count", get: (r) => r.responseBodyLen },
  { name: "status_code", type: "count", get: (r) => r.status },
  { name: "status_msg", type: "string", get: (r) => r.statusMsg },
  { name: "info_code", type: "count", get: (r) => r.infoCode },
  { name: "info_msg", type: "string", get: (r) => r.infoMsg },
  { name: "tags", type: "set[enum]", get: () => [] },
  { name: "username", type: "string", get: () => null },
  { name: "password", type: "string", get: () => null },
  { name: "proxied", type: "set[string]", get: () => null },
  // Zeek's file analysis (file ids, names, MIME types sniffed from the bodies): wiresight reads
  // headers only.
  { name: "orig_fuids", type: "vector[string]", get: () => null },
  { name: "orig_filenames", type: "vector[string]", get: () => null },
  { name: "orig_mime_types", type: "vector[string]", get: () => null },
  { name: "resp_fuids", type: "vector[string]", get: () => null },
  { name: "resp_filenames", type: "vector[string]", get: () => null },
  { name: "resp_mime_types", type: "vector[string]", get: () => null },
];

/** `--zeek-logs DIR`: http.log rows from the session's HTTP/1.x requests and responses. */
export class ZeekHttpLog {
  readonly log: ZeekLog<HttpRow>;
  readonly #flows = new Map<number, FlowHttp>();

  constructor(dir: string, json: boolean, private readonly uids: UidMaker) {
    this.log = new ZeekLog(dir, "http", HTTP_FIELDS, json);
  }

  #newRow(e: AppEvent, fromClient: boolean, depth: number): HttpRow {
    return {
      ts: eventSeconds(e),
      uid: this.uids.of(e.flowId),
      ids: eventIds(e, fromClient),
      depth,
      method: null,
      host: null,
      uri: null,
      referrer: null,
      version: null,
      userAgent: null,
      requestBodyLen: 0,
      responseBodyLen: 0,
      status: null,
      statusMsg: null,
      infoCode: null,
      infoMsg: null,
    };
  }

  app(e: AppEvent): void {
    if (e.kind !== abi.AK_HTTP_REQUEST && e.kind !== abi.AK_HTTP_RESPONSE) return;
    const m = httpMessage(e);
    if (m.streamId !== null || m.version === "HTTP/2") return;
    let flow = this.#flows.get(e.flowId);
    if (!flow) this.#flows.set(e.flowId, flow = { requests: 0, waiting: [] });
    if (m.kind === "request") this.#request(flow, e, m);
    else this.#response(flow, e, m);
  }

  #request(flow: FlowHttp, e: AppEvent, m: HttpMessage): void {
    if (flow.waiting.length >= MAX_PENDING) flow.waiting.splice(0).forEach((r) => this.log.write(r));
    const row = this.#newRow(e, true, ++flow.requests);
    row.method = m.method;
    row.uri = m.uri === null ? null : unescapeUri(m.uri);
    row.host = m.host;
    row.referrer = m.referer;
    row.userAgent = m.userAgent;
    row.requestBodyLen = contentLength(m.contentLength) ?? 0;
    flow.waiting.push(row);
  }

  #response(flow: FlowHttp, e: AppEvent, m: HttpMessage): void {
    // A response with no request waiting is a row of its own (Zeek: HTTP_response_before_request).
    const row = flow.waiting[0] ?? this.#newRow(e, false, Math.max(flow.requests, 1));
    const status = m.status ?? 0;
    row.status = m.status;
    row.statusMsg = m.reason || "<empty>";
    row.version = versionNumber(m.version);
    row.responseBodyLen = responseBody(m, row.method);
    if (status >= 100 && status < 200) {
      row.infoCode = m.status;
      row.infoMsg = row.statusMsg;
      if (!flow.waiting.length) flow.waiting.push(row);
      return;
    }
    if (flow.waiting[0] === row) flow.waiting.shift();
    this.log.write(row);
  }

  /** The flow's requests still without a final response are written when it ends. */
  flow(view: FlowView): void {
    if (view.record.endReason !== "active_timeout") this.#flush(view.record.id);
  }

  #flush(id: number): void {
    const flow = this.#flows.get(id);
    if (!flow) return;
    this.#flows.delete(id);
    flow.waiting.forEach((r) => this.log.write(r));
  }

  sink(): SessionSink {
    return {
      app: (e) => this.app(e),
      flow: (v) => this.flow(v),
      close: () => {
        for (const id of [...this.#flows.keys()]) this.#flush(id);
        this.log.close();
      },
    };
  }
}
