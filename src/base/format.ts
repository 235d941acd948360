// Number and table formatting for terminal output.

export function count(n: number): string {
  const r = Math.round(n);
  // Intl is slow (tens of microseconds a call, a report makes dozens): group safe integers here.
  if (!Number.isSafeInteger(r) || Object.is(r, -0)) return r.toLocaleString("en-US");
  return String(r).replace(/\B(?=(\d{3})+$)/g, ",");
}

/**
 * A rate with the digits that matter: whole above 100, else a decimal or two ("0.22", "3.5"),
 * so a slow capture does not read "0 pkt/s".
 */
export function rateText(n: number): string {
  if (n >= 100 || n === 0) return count(n);
  if (n >= 10) return n.toFixed(1);
  if (n >= 1) return n.toFixed(2);
  return String(Number(n.toPrecision(2)));
}

/** Decimal units, as network tools count bytes (1 kB = 1000 B). */
/** "1 request", "3 requests": a count and its noun (plural by -s unless given). */
export function counted(n: number, noun: string, plural = `${noun}s`): string {
  return `${count(n)} ${n === 1 ? noun : plural}`;
}

export function bytesText(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n, u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

export function bitsPerSecond(n: number): string {
  const units = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"];
  let v = n, u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? rateText(v) : v.toFixed(1)} ${units[u]}`;
}

export function percent(x: number): string {
  return `${x.toFixed(1)}%`;
}

/**
 * Text from the wire for the terminal: control characters escaped so that they cannot drive it,
 * values longer than `max` cut.
 */
export function printable(s: string, max = 120): string {
  // deno-lint-ignore no-control-regex
  const t = s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return t.length > max ? `${t.slice(0, max - 3)}...` : t;
}

/**
 * Left-aligns the first column and right-aligns the others, under a header row. Cells are made
 * printable: most of them come from the wire.
 */
export function table(header: string[], cells: string[][], indent = "  "): string {
  const rows = cells.map((r) => r.map((c) => printable(c, Infinity)));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    indent +
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

export interface Style {
  heading(s: string): string;
  dim(s: string): string;
}

export function style(color: boolean): Style {
  const wrap = (code: string) => (s: string) => color ? `\x1b[${code}m${s}\x1b[0m` : s;
  return { heading: wrap("1"), dim: wrap("2") };
}

/** Colour only on a terminal, never with NO_COLOR set (https://no-color.org). */
export function colorWanted(stream: { isTerminal(): boolean }, disabled: boolean): boolean {
  return !disabled && !Deno.env.get("NO_COLOR") && stream.isTerminal();
}
