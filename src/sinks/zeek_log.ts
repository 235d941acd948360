// A Zeek log file as Zeek's ASCII writer writes it: the TSV header (#separator, #set_separator,
// #empty_field, #unset_field, #path, #open, #fields, #types), rows with "-" for unset and
// "(empty)" for empty values, and #close; or, with json, Zeek's JSON lines. Live capture can
// rotate it: the current file is closed and renamed `<path>.<open time>.log`, as Zeek's archived
// logs are named, and a new one opened.
import type { AppEvent } from "../decoder/app_event.ts";
import { BufferedWriter } from "./export.ts";

/** A log column: Zeek's field name and type (time, string, addr, port, count, set[string], ...). */
export interface ZeekField<T> {
  name: string;
  type: string;
  get(row: T): ZeekValue;
}

/** null is unset; a number of type time or interval (or a vector of them) is seconds. */
export type ZeekValue = string | number | boolean | string[] | number[] | null;

const SEPARATOR = "\t";
const SET_SEPARATOR = ",";
const EMPTY = "(empty)";
const UNSET = "-";

/** Zeek's date of a log's opening and closing, and of rotated file names. */
function zeekDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}-${p(d.getUTCHours())}-${
    p(d.getUTCMinutes())
  }-${p(d.getUTCSeconds())}`;
}

/** Escapes as Zeek's ASCII writer does: separators, backslashes and unprintable bytes as \xNN. */
function escape(s: string, inSet: boolean): string {
  if (s === "") return EMPTY;
  if (s === UNSET) return "\\x2d";
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const special = ch === "\\" || ch === SEPARATOR || (inSet && ch === SET_SEPARATOR);
    out += special || c < 0x20 || c === 0x7f ? `\\x${c.toString(16).padStart(2, "0")}` : ch;
  }
  return out;
}

function tsvNumber(v: number, type: string): string {
  return /\b(time|interval)\b/.test(type) ? v.toFixed(6) : String(v);
}

function tsvCell(v: ZeekValue, type: string): string {
  if (v === null) return UNSET;
  if (typeof v === "boolean") return v ? "T" : "F";
  if (typeof v === "number") return tsvNumber(v, type);
  if (Array.isArray(v)) {
    const cells = v.map((x) => typeof x === "number" ? tsvNumber(x, type) : escape(x, true));
    return cells.length ? cells.join(SET_SEPARATOR) : EMPTY;
  }
  return escape(v, false);
}

export class ZeekLog<T> {
  readonly #fields: ZeekField<T>[];
  readonly #json: boolean;
  #out: BufferedWriter | null = null;
  #file: Deno.FsFile | null = null;
  #opened = new Date();

  /** `dir/<path>.log`, in Zeek's TSV or (`json`) its JSON lines. */
  constructor(readonly dir: string, readonly path: string, fields: ZeekField<T>[], json: boolean) {
    this.#fields = fields;
    this.#json = json;
  }

  get file(): string {
    return `${this.dir}/${this.path}.log`;
  }

  #open(): BufferedWriter {
    this.#file = Deno.openSync(this.file, { write: true, create: true, truncate: true });
    this.#out = new BufferedWriter(this.#file);
    this.#opened = new Date();
    if (!this.#json) {
      const f = this.#fields;
      this.#out.write(
        [
          `#separator \\x09`,
          `#set_separator${SEPARATOR}${SET_SEPARATOR}`,
          `#empty_field${SEPARATOR}${EMPTY}`,
          `#unset_field${SEPARATOR}${UNSET}`,
          `#path${SEPARATOR}${this.path}`,
          `#open${SEPARATOR}${zeekDate(this.#opened)}`,
          `#fields${SEPARATOR}${f.map((x) => x.name).join(SEPARATOR)}`,
          `#types${SEPARATOR}${f.map((x) => x.type).join(SEPARATOR)}`,
        ].join("\n") + "\n",
      );
    }
    return this.#out;
  }

  write(row: T): void {
    const out = this.#out ?? this.#open();
    if (this.#json) {
      // Zeek's JSON: unset fields left out, times as epoch seconds, sets as arrays.
      const o: Record<string, ZeekValue> = {};
      for (const f of this.#fields) {
        const v = f.get(row);
        if (v !== null) o[f.name] = v;
      }
      out.write(JSON.stringify(o) + "\n");
    } else {
      out.write(this.#fields.map((f) => tsvCell(f.get(row), f.type)).join(SEPARATOR) + "\n");
    }
  }

  /** What was written is on disk. */
  flush(): void {
    this.#out?.flush();
  }

  /** Ends the current file (a log with no rows is never created). */
  close(): void {
    if (!this.#out) return;
    if (!this.#json) this.#out.write(`#close${SEPARATOR}${zeekDate(new Date())}\n`);
    this.#out.flush();
    this.#file?.close();
    this.#out = null;
    this.#file = null;
  }

  /** Closes the file and moves it to `<path>.<open time>.log`; the next row opens a new one.
   * Returns the new name (null when nothing was written since the last rotation). */
  rotate(): string | null {
    if (!this.#out) return null;
    const opened = this.#opened;
    this.close();
    const to = `${this.dir}/${this.path}.${zeekDate(opened)}.log`;
    Deno.renameSync(this.file, to);
    return to;
  }
}

/** A connection's endpoints as Zeek's `id` record names them. */
export interface ZeekIds {
  orig: { h: string; p: number };
  resp: { h: string; p: number };
}

/** The ends of an app message's flow, its sender the originator when `senderIsOrig`. */
export function eventIds(e: AppEvent, senderIsOrig: boolean): ZeekIds {
  const src = { h: e.src, p: e.srcPort }, dst = { h: e.dst, p: e.dstPort };
  return senderIsOrig ? { orig: src, resp: dst } : { orig: dst, resp: src };
}

/** Zeek's `id.orig_h id.orig_p id.resp_h id.resp_p` columns. */
export function idFields<T extends { ids: ZeekIds }>(): ZeekField<T>[] {
  return [
    { name: "id.orig_h", type: "addr", get: (r) => r.ids.orig.h },
    { name: "id.orig_p", type: "port", get: (r) => r.ids.orig.p },
    { name: "id.resp_h", type: "addr", get: (r) => r.ids.resp.h },
    { name: "id.resp_p", type: "port", get: (r) => r.ids.resp.p },
  ];
}

/** An app message's time in seconds. */
export const eventSeconds = (e: AppEvent) => e.tsSec + e.tsNsec / 1e9;
