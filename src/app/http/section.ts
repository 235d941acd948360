// The report's HTTP section: methods, status codes, hosts, user agents, URIs.
import * as abi from "../../decoder/abi.ts";
import type { AppEvent } from "../../decoder/app_event.ts";
import { Counter } from "../../base/counter.ts";
import { count, counted, printable, type Style, table } from "../../base/format.ts";
import type { FlowNames, Section } from "../protocol.ts";
import { hostName, httpMessage } from "./message.ts";

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
