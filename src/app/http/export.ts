// `--export-type http`: one row per request or response.
import * as abi from "../../decoder/abi.ts";
import { via } from "../../base/columns.ts";
import { appExport } from "../protocol.ts";
import { contentLength, httpMessage } from "./message.ts";

export const HTTP_EXPORT = appExport(
  "http",
  [abi.AK_HTTP_REQUEST, abi.AK_HTTP_RESPONSE],
  via(httpMessage, [
    { name: "kind", type: "text", get: (m) => m.kind },
    { name: "version", type: "text", get: (m) => m.version },
    { name: "method", type: "text", get: (m) => m.method },
    { name: "uri", type: "text", get: (m) => m.uri },
    { name: "host", type: "text", get: (m) => m.host },
    { name: "user_agent", type: "text", get: (m) => m.userAgent },
    { name: "referer", type: "text", get: (m) => m.referer },
    { name: "auth_scheme", type: "text", get: (m) => m.authScheme },
    { name: "status", type: "integer", get: (m) => m.status },
    { name: "reason", type: "text", get: (m) => m.reason },
    { name: "server", type: "text", get: (m) => m.server },
    { name: "content_type", type: "text", get: (m) => m.contentType },
    { name: "content_length", type: "integer", get: (m) => contentLength(m.contentLength) },
    { name: "truncated", type: "boolean", get: (m) => m.truncated },
    { name: "stream_id", type: "integer", get: (m) => m.streamId },
  ]),
);
