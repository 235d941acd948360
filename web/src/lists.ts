/// <reference lib="dom" />
// The paged, filterable, sortable lists: flows, packets, DNS, TLS, HTTP, alerts. Filtering and
// sorting happen on the server (the store); the page shows one page of rows at a time.
import { getJson } from "./api.ts";
import { bytes, clear, type Column, count, el, table } from "./dom.ts";

export interface Filter {
  key: string;
  label: string;
  /** Choices for a select; otherwise a text box. */
  options?: string[];
  numeric?: boolean;
}

export interface ListSpec {
  id: string;
  title: string;
  endpoint: string;
  columns: Column[];
  filters: Filter[];
  sort?: string;
  order?: "asc" | "desc";
  pageSize?: number;
}

const num = (v: unknown) => (v === null || v === undefined ? "" : count(Number(v)));
const size = (v: unknown) => (v === null || v === undefined ? "" : bytes(Number(v)));

export const FLOWS: ListSpec = {
  id: "flows",
  title: "Flows",
  endpoint: "/api/flows",
  sort: "bytes",
  order: "desc",
  filters: [
    { key: "q", label: "Search" },
    { key: "protocol", label: "Protocol", options: ["", "TCP", "UDP", "ICMP", "ICMPv6", "SCTP", "GRE"] },
    { key: "app", label: "App" },
    { key: "process", label: "Process" },
    { key: "host", label: "Host" },
    { key: "port", label: "Port", numeric: true },
  ],
  columns: [
    { key: "start", label: "Start", sortable: true },
    { key: "protocol", label: "Proto", sortable: true },
    { key: "src", label: "Source", sortable: true },
    { key: "src_port", label: "Port", sortable: true, numeric: true },
    { key: "dst", label: "Destination", sortable: true },
    { key: "dst_port", label: "Port", sortable: true, numeric: true },
    { key: "app", label: "App", sortable: true },
    { key: "server_name", label: "Server name", sortable: true },
    { key: "packets", label: "Packets", sortable: true, numeric: true, format: num },
    { key: "bytes", label: "Bytes", sortable: true, numeric: true, format: size },
    { key: "duration_s", label: "Seconds", sortable: true, numeric: true },
    { key: "tcp_state", label: "State", sortable: true },
    { key: "process", label: "Process", sortable: true },
    { key: "pid", label: "PID", sortable: true, numeric: true },
    { key: "user", label: "User", sortable: true },
    { key: "responder_process", label: "Responder process", sortable: true },
    { key: "responder_pid", label: "Responder PID", sortable: true, numeric: true },
  ],
};

export const PACKETS: ListSpec = {
  id: "packets",
  title: "Packets",
  endpoint: "/api/packets",
  sort: "frame",
  order: "asc",
  filters: [
    {
      key: "protocol",
      label: "Protocol",
      options: ["", "TCP", "UDP", "ICMP", "ICMPv6", "ARP", "IPv4", "IPv6"],
    },
    { key: "host", label: "Host" },
    { key: "port", label: "Port", numeric: true },
  ],
  columns: [
    { key: "frame", label: "No.", sortable: true, numeric: true },
    { key: "time", label: "Time", sortable: true },
    { key: "protocol", label: "Proto", sortable: true },
    { key: "src", label: "Source" },
    { key: "src_port", label: "Port", numeric: true },
    { key: "dst", label: "Destination" },
    { key: "dst_port", label: "Port", numeric: true },
    { key: "len", label: "Length", sortable: true, numeric: true },
    { key: "tcp_flags", label: "Flags" },
    { key: "ttl", label: "TTL", numeric: true },
    { key: "malformed", label: "Malformed" },
  ],
};

export const DNS: ListSpec = {
  id: "dns",
  title: "DNS",
  endpoint: "/api/dns",
  sort: "time",
  filters: [{ key: "q", label: "Name" }, { key: "host", label: "Host" }],
  columns: [
    { key: "time", label: "Time", sortable: true },
    { key: "src", label: "Source", sortable: true },
    { key: "dst", label: "Destination", sortable: true },
    { key: "transport", label: "Via" },
    { key: "response", label: "Response" },
    { key: "qname", label: "Name" },
    { key: "qtype", label: "Type" },
    { key: "rcode", label: "Rcode" },
    { key: "answers", label: "Answers" },
  ],
};

export const TLS: ListSpec = {
  id: "tls",
  title: "TLS",
  endpoint: "/api/tls",
  sort: "time",
  filters: [{ key: "q", label: "SNI" }, { key: "host", label: "Host" }],
  columns: [
    { key: "time", label: "Time", sortable: true },
    { key: "src", label: "Source", sortable: true },
    { key: "dst", label: "Destination", sortable: true },
    { key: "kind", label: "Message" },
    { key: "version", label: "Version" },
    { key: "sni", label: "SNI" },
    { key: "alpn", label: "ALPN" },
    { key: "ja3", label: "JA3" },
    { key: "ja4", label: "JA4" },
    { key: "cert_subject", label: "Certificate" },
  ],
};

export const HTTP: ListSpec = {
  id: "http",
  title: "HTTP",
  endpoint: "/api/http",
  sort: "time",
  filters: [{ key: "q", label: "Host" }, { key: "host", label: "Address" }],
  columns: [
    { key: "time", label: "Time", sortable: true },
    { key: "src", label: "Source", sortable: true },
    { key: "dst", label: "Destination", sortable: true },
    { key: "kind", label: "Message" },
    { key: "method", label: "Method" },
    { key: "host", label: "Host" },
    { key: "uri", label: "URI" },
    { key: "status", label: "Status", numeric: true },
    { key: "user_agent", label: "User agent" },
    { key: "content_type", label: "Content type" },
  ],
};

export const ALERTS: ListSpec = {
  id: "alerts",
  title: "Alerts",
  endpoint: "/api/alerts",
  sort: "first_seen",
  filters: [
    { key: "severity", label: "Severity", options: ["", "info", "low", "medium", "high", "critical"] },
    { key: "type", label: "Type" },
    { key: "q", label: "Search" },
  ],
  columns: [
    { key: "severity", label: "Severity", sortable: true },
    { key: "type", label: "Type", sortable: true },
    { key: "first_seen", label: "First seen", sortable: true },
    { key: "last_seen", label: "Last seen", sortable: true },
    { key: "src", label: "Source" },
    { key: "dst", label: "Destination" },
    {
      key: "evidence",
      label: "What",
      format: (v) => String((v as Record<string, unknown> | null)?.message ?? ""),
    },
    {
      key: "evidence",
      label: "Count",
      numeric: true,
      format: (v) => num((v as Record<string, unknown> | null)?.count),
    },
    { key: "evidence", label: "Evidence" },
  ],
};

/** Renders a list with its filter bar and pager into `root`; `scope` picks the session (and sensor). */
export function renderList(root: HTMLElement, spec: ListSpec, scope: () => Record<string, string>): void {
  const state: Record<string, string> = {};
  let sort = spec.sort, order = spec.order ?? "asc", offset = 0;
  const pageSize = spec.pageSize ?? 50;
  const status = el("p", { class: "list-status", id: `${spec.id}-status` });
  const holder = el("div", { class: "table-wrap" });
  const pager = el("div", { class: "pager" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let seq = 0;

  const load = async () => {
    const mine = ++seq;
    status.textContent = "loading…";
    status.classList.remove("error");
    try {
      const page = await getJson<{ total: number; rows: Record<string, unknown>[] }>(spec.endpoint, {
        ...scope(),
        ...state,
        sort,
        order,
        limit: pageSize,
        offset,
      });
      if (mine !== seq) return;
      clear(
        holder,
        table(spec.columns, page.rows, {
          id: `${spec.id}-table`,
          sort,
          order,
          onSort: (key) => {
            order = sort === key && order === "asc" ? "desc" : "asc";
            sort = key;
            offset = 0;
            load();
          },
        }),
      );
      const last = Math.min(offset + page.rows.length, page.total);
      status.textContent = page.total
        ? `rows ${count(offset + 1)}–${count(last)} of ${count(page.total)}`
        : "no rows";
      status.dataset.total = String(page.total);
      const prev = el("button", { type: "button", disabled: offset === 0 }, "◀ previous");
      const next = el("button", { type: "button", disabled: last >= page.total }, "next ▶");
      prev.addEventListener("click", () => {
        offset = Math.max(0, offset - pageSize);
        load();
      });
      next.addEventListener("click", () => {
        offset += pageSize;
        load();
      });
      clear(pager, prev, next);
    } catch (e) {
      if (mine !== seq) return;
      status.textContent = (e as Error).message;
      status.classList.add("error");
      clear(holder);
    }
  };

  const filters = spec.filters.map((f) => {
    const input = f.options
      ? el(
        "select",
        { name: f.key, id: `${spec.id}-filter-${f.key}` },
        ...f.options.map((o) => el("option", { value: o }, o || "any")),
      )
      : el("input", {
        name: f.key,
        id: `${spec.id}-filter-${f.key}`,
        type: f.numeric ? "number" : "search",
        placeholder: f.label,
        autocomplete: "off",
      });
    input.addEventListener(f.options ? "change" : "input", () => {
      state[f.key] = (input as HTMLInputElement).value.trim();
      offset = 0;
      clearTimeout(timer);
      timer = setTimeout(load, 250);
    });
    return el("label", {}, f.label, input);
  });
  clear(
    root,
    el("h1", {}, spec.title),
    el("form", { class: "filters", id: `${spec.id}-filters` }, ...filters),
    status,
    holder,
    pager,
  );
  root.querySelector("form")!.addEventListener("submit", (e) => e.preventDefault());
  load();
}
