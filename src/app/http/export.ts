// `--export-type http`: one row per request or response.
import * as abi from "../../decoder/abi.ts";
import { APP_BASE_COLUMNS, type AppExport, appRowBase } from "../protocol.ts";
import { contentLength, httpMessage } from "./message.ts";

export const HTTP_EXPORT: AppExport = {
  type: "http",
  kinds: [abi.AK_HTTP_REQUEST, abi.AK_HTTP_RESPONSE],
  columns: [
    ...APP_BASE_COLUMNS,
    "kind",
    "version",
    "method",
    "uri",
    "host",
    "user_agent",
    "referer",
    "auth_scheme",
    "status",
    "reason",
    "server",
    "content_type",
    "content_length",
    "truncated",
  ],
  row(e) {
    const m = httpMessage(e);
    return {
      ...appRowBase(e),
      kind: m.kind,
      version: m.version,
      method: m.method,
      uri: m.uri,
      host: m.host,
      user_agent: m.userAgent,
      referer: m.referer,
      auth_scheme: m.authScheme,
      status: m.status,
      reason: m.reason,
      server: m.server,
      content_type: m.contentType,
      content_length: contentLength(m.contentLength),
      truncated: m.truncated,
    };
  },
};
