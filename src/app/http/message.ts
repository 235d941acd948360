// HTTP/1.x and HTTP/2 requests and responses from AK_HTTP_REQUEST / AK_HTTP_RESPONSE events.
import * as abi from "../../decoder/abi.ts";
import type { AppEvent } from "../../decoder/app_event.ts";

export interface HttpMessage {
  kind: "request" | "response";
  /** "HTTP/1.1", "HTTP/2"; null for a request line cut by the header limit. */
  version: string | null;
  method: string | null;
  uri: string | null;
  host: string | null;
  userAgent: string | null;
  referer: string | null;
  /** The Authorization scheme ("Basic", "Bearer" ...); the decoder never passes credentials. */
  authScheme: string | null;
  status: number | null;
  reason: string | null;
  server: string | null;
  contentType: string | null;
  /** The Content-Length header as sent (it may not be a number). */
  contentLength: string | null;
  /** The header block was larger than the decoder reads. */
  truncated: boolean;
  /** HTTP/2: the stream the message belongs to. */
  streamId: number | null;
}

/** The HTTP message of an AppEvent (parsed once per event, shared by whoever asks). */
export function httpMessage(e: AppEvent): HttpMessage {
  return e.parsed(parseHttpMessage);
}

function parseHttpMessage(e: AppEvent): HttpMessage {
  const s = (id: number) => e.str(id) ?? null;
  return {
    kind: e.kind === abi.AK_HTTP_REQUEST ? "request" : "response",
    version: s(abi.F_HTTP_VERSION),
    method: s(abi.F_HTTP_METHOD),
    uri: s(abi.F_HTTP_URI),
    host: s(abi.F_HTTP_HOST),
    userAgent: s(abi.F_HTTP_USER_AGENT),
    referer: s(abi.F_HTTP_REFERER),
    authScheme: s(abi.F_HTTP_AUTH_SCHEME),
    status: e.num(abi.F_HTTP_STATUS) ?? null,
    reason: s(abi.F_HTTP_REASON),
    server: s(abi.F_HTTP_SERVER),
    contentType: s(abi.F_HTTP_CONTENT_TYPE),
    contentLength: s(abi.F_HTTP_CONTENT_LENGTH),
    truncated: e.has(abi.F_HTTP_TRUNCATED),
    streamId: e.num(abi.F_HTTP_STREAM_ID) ?? null,
  };
}

/** A Content-Length as a number, or null when it is missing or not a plain decimal. */
export function contentLength(v: string | null): number | null {
  if (v === null || !/^\d{1,15}$/.test(v.trim())) return null;
  return Number(v.trim());
}

/** The host name of a Host header (without its port), for naming the flow. */
export function hostName(host: string): string {
  return host.replace(/:\d*$/, "");
}
