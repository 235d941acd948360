/// <reference lib="dom" />
// The dashboard: totals, rates, protocols, traffic over time, top talkers, ports and processes,
// from a stored session's report or, while a capture runs, from the server's pushed snapshots.
import { getJson } from "./api.ts";
import { Charts, type Point } from "./charts.ts";
import { bits, bytes, clear, type Column, count, el, table } from "./dom.ts";

type Obj = Record<string, unknown>;
const TIMELINE_LIVE_POINTS = 600;

interface Stats {
  session: { id: number; name: string; status: string; error: string | null; kind: string; sensor: string };
  live: boolean;
  packets: number | null;
  bytes: number | null;
  flows: number | null;
  duration_s: number | null;
  start: string | null;
  rates: { packets_per_s: number; bits_per_s: number; avg_packet_bytes: number } | null;
  warnings: string[] | null;
  interval?: { t: number; seconds: number; packets: number; bytes: number } | null;
}

const CARDS: [string, string, (s: Stats) => number | null, (n: number) => string][] = [
  ["packets", "Packets", (s) => s.packets, count],
  ["bytes", "Bytes", (s) => s.bytes, bytes],
  ["flows", "Flows", (s) => s.flows, count],
  ["duration", "Duration", (s) => s.duration_s, (n) => `${n.toFixed(2)} s`],
  ["pps", "Packets/s", (s) => s.rates?.packets_per_s ?? null, (n) => count(n)],
  ["bps", "Bit rate", (s) => s.rates?.bits_per_s ?? null, bits],
  ["avg", "Avg packet", (s) => s.rates?.avg_packet_bytes ?? null, (n) => `${n.toFixed(1)} B`],
];

/** Per-second rates of stored buckets; an empty stretch drops to zero instead of a slope across it. */
function withGaps(points: { t: number; width_s: number; packets: number; bytes: number }[]): Point[] {
  const out: Point[] = [];
  points.forEach((p, i) => {
    const prev = points[i - 1];
    if (prev && p.t - prev.t > p.width_s) {
      out.push({ t: prev.t + p.width_s, bits: 0, packets: 0 });
      if (p.t - prev.t > 2 * p.width_s) out.push({ t: p.t - p.width_s, bits: 0, packets: 0 });
    }
    out.push({ t: p.t, bits: (8 * p.bytes) / p.width_s, packets: p.packets / p.width_s });
  });
  return out;
}

export class Dashboard {
  readonly #charts: Charts;
  readonly #cards = new Map<string, HTMLElement>();
  readonly #title = el("h1", { id: "dashboard-title" });
  readonly #note = el("p", { id: "dashboard-note", class: "note" });
  readonly #talkersTable = el("div", { class: "table-wrap" });
  readonly #portsTable = el("div", { class: "table-wrap" });
  readonly #processesTable = el("div", { class: "table-wrap" });
  readonly #countriesTable = el("div", { class: "table-wrap" });
  readonly #asTable = el("div", { class: "table-wrap" });
  readonly #canvas = {
    talkers: el("canvas", { id: "chart-talkers" }),
    ports: el("canvas", { id: "chart-ports" }),
    processes: el("canvas", { id: "chart-processes" }),
    countries: el("canvas", { id: "chart-countries" }),
  };
  #points: Point[] = [];
  #session: number | null = null;

  constructor(root: HTMLElement) {
    const cards = CARDS.map(([id, label]) => {
      const value = el("div", { class: "value", id: `stat-${id}` }, "–");
      this.#cards.set(id, value);
      return el("div", { class: "card" }, el("div", { class: "label" }, label), value);
    });
    const protocols = el("canvas", { id: "chart-protocols" });
    const timeline = el("canvas", { id: "chart-timeline" });
    const panel = (title: string, ...body: Node[]) =>
      el("section", { class: "panel" }, el("h2", {}, title), ...body);
    const chart = (c: HTMLCanvasElement) => el("div", { class: "chart" }, c);
    clear(
      root,
      this.#title,
      this.#note,
      el("div", { class: "cards" }, ...cards),
      el(
        "div",
        { class: "grid" },
        panel("Traffic over time", chart(timeline)),
        panel("Protocols", chart(protocols)),
        panel("Top talkers", chart(this.#canvas.talkers), this.#talkersTable),
        panel("Top ports", chart(this.#canvas.ports), this.#portsTable),
        panel("Top processes", chart(this.#canvas.processes), this.#processesTable),
        panel("Countries", chart(this.#canvas.countries), this.#countriesTable),
        panel("Autonomous systems", this.#asTable),
      ),
    );
    this.#charts = new Charts(protocols, timeline);
  }

  destroy(): void {
    this.#charts.destroy();
  }

  get session(): number | null {
    return this.#session;
  }

  /** Loads everything for the scope's session ("latest" or an id, of its sensor when given). */
  async load(scope: Record<string, string>): Promise<Stats> {
    const [stats, protocols, timeline, talkers, ports, processes, geo] = await Promise.all([
      getJson<Stats>("/api/stats", scope),
      getJson<{ protocols: Obj[] }>("/api/protocols", scope),
      getJson<{ points: { t: number; width_s: number; packets: number; bytes: number }[] }>(
        "/api/timeline",
        scope,
      ),
      getJson<{ top_talkers: Obj[] | null }>("/api/top-talkers", scope),
      getJson<{ top_ports: Obj[] | null }>("/api/ports", scope),
      getJson<{ processes: Obj[] }>("/api/processes", scope),
      getJson<{ top_countries: Obj[] | null; top_as: Obj[] | null }>("/api/countries", scope),
    ]);
    this.#session = stats.session.id;
    this.#points = withGaps(timeline.points);
    this.#showStats(stats);
    this.#showProtocols(protocols.protocols);
    this.#charts.timeline(this.#points);
    this.#showTops(talkers.top_talkers ?? [], ports.top_ports ?? [], processes.processes);
    this.#showGeo(geo.top_countries ?? [], geo.top_as ?? []);
    return stats;
  }

  /** A snapshot pushed by the running capture. */
  live(snapshot: Obj & Stats & { running: boolean }): void {
    this.#showStats({
      ...snapshot,
      live: snapshot.running,
      session: { ...(this.#sessionInfo ?? {}), id: this.#session! } as Stats["session"],
    });
    const protocols = Object.entries((snapshot.protocols ?? {}) as Record<string, Obj>).map(([name, p]) => ({
      name,
      ...p,
    }));
    this.#showProtocols(protocols);
    const i = snapshot.interval;
    if (i && i.seconds > 0) {
      this.#points.push({ t: i.t, bits: (8 * i.bytes) / i.seconds, packets: i.packets / i.seconds });
      if (this.#points.length > TIMELINE_LIVE_POINTS) {
        this.#points.splice(0, this.#points.length - TIMELINE_LIVE_POINTS);
      }
      this.#charts.timeline(this.#points);
    }
    this.#showTops(
      (snapshot.top_talkers ?? []) as Obj[],
      (snapshot.top_ports ?? []) as Obj[],
      (snapshot.processes ?? []) as Obj[],
    );
  }

  #sessionInfo: Stats["session"] | null = null;

  #showStats(s: Stats): void {
    if (s.session.name) this.#sessionInfo = s.session;
    const info = this.#sessionInfo;
    this.#title.textContent = `Session ${s.session.id}${info ? `: ${info.name} on ${info.sensor}` : ""}${
      s.live ? " (live)" : info?.status === "running" ? " (running)" : ""
    }`;
    this.#title.dataset.session = String(s.session.id);
    const notes: string[] = [];
    if (info?.status === "running" && !s.live) {
      notes.push(info.kind === "capture" ? "capturing: counts as its sensor last stored them" : "analysing…");
    }
    if (info?.status === "stale") notes.push("stale: its sensor stopped writing (killed?) before closing it");
    if (info?.error) notes.push(`error: ${info.error}`);
    for (const w of s.warnings ?? []) notes.push(`warning: ${w}`);
    this.#note.textContent = notes.join(" · ");
    for (const [id, , value, format] of CARDS) {
      const n = value(s);
      const e = this.#cards.get(id)!;
      e.textContent = n === null || n === undefined ? "–" : format(n);
      e.dataset.value = n === null || n === undefined ? "" : String(n);
    }
  }

  #showProtocols(list: Obj[]): void {
    // The chart shows transport protocols when there are any (network shares overlap them).
    const transport = list.filter((p) => p.layer === "transport");
    const shown = (transport.length ? transport : list).map((p) => ({
      name: String(p.name),
      packets: Number(p.packets),
    }));
    this.#charts.protocols(shown.slice(0, 10));
  }

  /** Traffic per country (private and special addresses by class) and per AS: stored sessions only. */
  #showGeo(countries: Obj[], ases: Obj[]): void {
    const n = (v: unknown) => count(Number(v));
    const b = (v: unknown) => bytes(Number(v));
    const share: Column[] = [
      { key: "flows", label: "Flows", numeric: true, format: n },
      { key: "packets", label: "Packets", numeric: true, format: n },
      { key: "bytes", label: "Bytes", numeric: true, format: b },
    ];
    const countryColumns: Column[] = [{ key: "country", label: "Country" }, ...share];
    const asColumns: Column[] = [
      { key: "asn", label: "AS", numeric: true },
      { key: "as_org", label: "Organisation" },
      ...share,
    ];
    clear(this.#countriesTable, table(countryColumns, countries, { id: "countries-table" }));
    clear(this.#asTable, table(asColumns, ases, { id: "as-table" }));
    this.#charts.bars(
      this.#canvas.countries,
      "bytes",
      countries.map((c) => ({ name: String(c.country), value: Number(c.bytes) })),
    );
  }

  #showTops(talkers: Obj[], ports: Obj[], processes: Obj[]): void {
    const n = (v: unknown) => count(Number(v));
    const b = (v: unknown) => bytes(Number(v));
    const talkerColumns: Column[] = [
      { key: "address", label: "Address" },
      { key: "name", label: "Name" },
      { key: "packets", label: "Packets", numeric: true, format: n },
      { key: "bytes", label: "Bytes", numeric: true, format: b },
      { key: "country", label: "Country" },
      { key: "asn", label: "AS", numeric: true },
    ];
    const portColumns: Column[] = [
      { key: "protocol", label: "Proto" },
      { key: "port", label: "Port", numeric: true },
      { key: "service", label: "Service" },
      { key: "packets", label: "Packets", numeric: true, format: n },
      { key: "bytes", label: "Bytes", numeric: true, format: b },
    ];
    const processColumns: Column[] = [
      { key: "name", label: "Process" },
      { key: "pid", label: "PID", numeric: true },
      { key: "packets", label: "Packets", numeric: true, format: n },
      { key: "bytes_sent", label: "Sent", numeric: true, format: b },
      { key: "bytes_received", label: "Received", numeric: true, format: b },
    ];
    clear(this.#talkersTable, table(talkerColumns, talkers, { id: "talkers-table" }));
    clear(this.#portsTable, table(portColumns, ports, { id: "ports-table" }));
    clear(this.#processesTable, table(processColumns, processes, { id: "processes-table" }));
    this.#charts.bars(
      this.#canvas.talkers,
      "bytes",
      talkers.map((t) => ({ name: String(t.address), value: Number(t.bytes) })),
    );
    this.#charts.bars(
      this.#canvas.ports,
      "bytes",
      ports.map((p) => ({
        name: `${p.protocol}/${p.port ?? "-"}${p.service ? ` ${p.service}` : ""}`,
        value: Number(p.bytes),
      })),
    );
    this.#charts.bars(
      this.#canvas.processes,
      "bytes",
      processes.map((p) => ({
        name: `${p.name}(${p.pid})`,
        value: Number(p.bytes_sent) + Number(p.bytes_received),
      })),
    );
  }
}
