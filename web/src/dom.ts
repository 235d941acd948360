/// <reference lib="dom" />
// Small DOM helpers. Captured data only ever reaches the page as text (textContent), never as
// HTML: DNS names, URIs and user agents come from the wire and may be hostile.

export type Child = Node | string | number | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

export function clear(e: Element, ...children: Child[]): void {
  e.replaceChildren();
  for (const c of children) {
    if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
  }
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function bytes(n: number): string {
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : n} ${UNITS[i]}`;
}

export function count(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

export function bits(n: number): string {
  const u = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s"];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

export function cellText(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export interface Column {
  key: string;
  label: string;
  /** Right-aligned numbers. */
  numeric?: boolean;
  sortable?: boolean;
  format?(v: unknown, row: Record<string, unknown>): string;
}

/** A table of rows; sortable headers call `onSort(key)`. */
export function table(
  columns: Column[],
  rows: Record<string, unknown>[],
  opts: { id?: string; sort?: string; order?: string; onSort?(key: string): void } = {},
): HTMLTableElement {
  const head = el(
    "tr",
    {},
    ...columns.map((c) => {
      const arrow = opts.sort === c.key ? (opts.order === "desc" ? " ▼" : " ▲") : "";
      const th = el("th", { "data-key": c.key, class: c.numeric ? "num" : undefined }, c.label + arrow);
      if (c.sortable && opts.onSort) {
        th.classList.add("sortable");
        th.addEventListener("click", () => opts.onSort!(c.key));
      }
      return th;
    }),
  );
  const body = rows.map((r) =>
    el(
      "tr",
      {},
      ...columns.map((c) =>
        el(
          "td",
          { class: c.numeric ? "num" : undefined },
          c.format ? c.format(r[c.key], r) : cellText(r[c.key]),
        )
      ),
    )
  );
  return el("table", { id: opts.id }, el("thead", {}, head), el("tbody", {}, ...body));
}
