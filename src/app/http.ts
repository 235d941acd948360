// HTTP/1.x requests and responses from AK_HTTP_REQUEST / AK_HTTP_RESPONSE events.
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import { count, counted, printable, type Style, table } from "../report/format.ts";
import { APP_BASE_COLUMNS, appRowBase } from "../sinks/rows.ts";
import { Counter } from "./counter.ts";
import type { AppExport, FlowNames, Section } from "./section.ts";

export interface HttpMessage {
  kind: "request" | "response";
  /** "HTTP/1.1"; null for a request line cut by the header limit. */
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

export interface HttpReport {
  requests: number;
  responses: number;
  /** Messages whose header block was larger than the decoder reads. */
  truncated: number;
  top_hosts: { host: string; count: number }[];
  methods: Record<string, number>;
  status_codes: Record<string, number>;
  top_user_agents: { user_agent: string; count: number }[];
  top_uris: { uri: string; count: number }[];
  /** Content types of responses. */
  content_types: Record<string, number>;
  top_servers: { server: string; count: number }[];
}

const NONE = "(none)";

/** HTTP activity for the report; requests name their flows by Host. */
export class HttpSection implements Section<HttpReport> {
  readonly key = "http";
  readonly kinds = [abi.AK_HTTP_REQUEST, abi.AK_HTTP_RESPONSE];
  #requests = 0;
  #responses = 0;
  #truncated = 0;
  readonly #hosts = new Counter();
  readonly #methods = new Counter(100);
  readonly #statuses = new Counter(1000);
  readonly #agents = new Counter();
  readonly #uris = new Counter();
  readonly #types = new Counter(1000);
  readonly #servers = new Counter();

  constructor(private readonly flowNames: FlowNames) {}

  add(e: AppEvent): void {
    const m = httpMessage(e);
    if (m.truncated) this.#truncated++;
    if (m.kind === "request") {
      this.#requests++;
      this.#hosts.add(m.host ?? NONE);
      this.#methods.add(m.method ?? NONE);
      this.#agents.add(m.userAgent ?? NONE);
      if (m.uri !== null) this.#uris.add(m.uri);
      if (m.host) this.flowNames.set(e.flowId, hostName(m.host));
      return;
    }
    this.#responses++;
    this.#statuses.add(String(m.status));
    if (m.contentType !== null) this.#types.add(m.contentType);
    if (m.server !== null) this.#servers.add(m.server);
  }

  report(top: number): HttpReport | null {
    if (this.#requests + this.#responses === 0) return null;
    return {
      requests: this.#requests,
      responses: this.#responses,
      truncated: this.#truncated,
      top_hosts: this.#hosts.top(top).map(([host, count]) => ({ host, count })),
      methods: Object.fromEntries(this.#methods.top(100)),
      status_codes: Object.fromEntries(this.#statuses.top(1000)),
      top_user_agents: this.#agents.top(top).map(([user_agent, count]) => ({ user_agent, count })),
      top_uris: this.#uris.top(top).map(([uri, count]) => ({ uri, count })),
      content_types: Object.fromEntries(this.#types.top(top)),
      top_servers: this.#servers.top(top).map(([server, count]) => ({ server, count })),
    };
  }

  text(r: HttpReport, st: Style): string[] {
    const out = [st.heading("HTTP")];
    out.push(
      `  ${counted(r.requests, "request")}, ${counted(r.responses, "response")}${
        r.truncated ? `, ${count(r.truncated)} with oversized headers` : ""
      }`,
    );
    const list = (o: Record<string, number>) =>
      Object.entries(o).map(([k, n]) => `${printable(k)} ${count(n)}`).join(", ");
    if (Object.keys(r.methods).length) out.push(`  Methods: ${list(r.methods)}`);
    if (Object.keys(r.status_codes).length) out.push(`  Status codes: ${list(r.status_codes)}`);
    if (r.top_hosts.length) {
      out.push(table(["Host", "Requests"], r.top_hosts.map((h) => [printable(h.host), count(h.count)])));
    }
    if (r.top_user_agents.length) {
      out.push(table(
        ["User-Agent", "Requests"],
        r.top_user_agents.map((a) => [printable(a.user_agent, 80), count(a.count)]),
      ));
    }
    if (r.top_uris.length) {
      out.push(table(["URI", "Requests"], r.top_uris.map((u) => [printable(u.uri, 80), count(u.count)])));
    }
    if (Object.keys(r.content_types).length) out.push(`  Content types: ${list(r.content_types)}`);
    if (r.top_servers.length) {
      out.push(
        `  Servers: ${r.top_servers.map((s) => `${printable(s.server, 60)} ${count(s.count)}`).join(", ")}`,
      );
    }
    return out;
  }
}

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
