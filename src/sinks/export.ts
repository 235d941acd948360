// Streaming exports of packets, flows or application records as JSON, NDJSON or CSV (RFC 4180, via csv-stringify;
// cells a spreadsheet would take for a formula are neutralised, csv_cell.ts).
// Rows are written through a small buffer with synchronous writes, so memory stays flat however
// large the capture.
import { stringify } from "csv-stringify/sync";
import type { PacketRecord } from "../decoder/records.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import type { Cell, RowSchema } from "../base/columns.ts";
import { FLOW_ROWS, type FlowView, PACKET_ROWS } from "./rows.ts";
import { APP_EXPORTS } from "../app/registry.ts";
import type { SessionSink } from "./sink.ts";
import { castCsvString } from "./csv_cell.ts";

export type ExportFormat = "json" | "ndjson" | "csv";

/** "packets", "flows", or the type of an application-layer export ("dns", "http", "tls"). */
export type ExportType = string;
export const EXPORT_FORMATS: ExportFormat[] = ["json", "ndjson", "csv"];
export const EXPORT_TYPES: ExportType[] = ["packets", "flows", ...Object.keys(APP_EXPORTS)];

/** The format named by a file extension (.json, .ndjson/.jsonl, .csv), if any. */
export function formatFromPath(path: string): ExportFormat | undefined {
  const ext = path.toLowerCase().split(".").pop();
  if (ext === "json") return "json";
  if (ext === "ndjson" || ext === "jsonl") return "ndjson";
  if (ext === "csv") return "csv";
  return undefined;
}

const FLUSH_BYTES = 1 << 20;
const CSV_BATCH = 2048;

/** Where export bytes go: a file, or standard output for PATH "-". */
export interface Sink {
  writeSync(p: Uint8Array): number;
  close?(): void;
}

export class BufferedWriter {
  #parts: string[] = [];
  #size = 0;
  readonly #enc = new TextEncoder();
  constructor(readonly sink: Sink) {}

  write(s: string): void {
    this.#parts.push(s);
    this.#size += s.length;
    if (this.#size >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (!this.#parts.length) return;
    const bytes = this.#enc.encode(this.#parts.join(""));
    this.#parts = [];
    this.#size = 0;
    for (let off = 0; off < bytes.length;) off += this.sink.writeSync(bytes.subarray(off));
  }
}

export class Exporter {
  readonly #out: BufferedWriter;
  #rows = 0;
  #csvHeaderWritten = false;
  #csvBatch: Cell[][] = [];
  /** The CSV header. */
  readonly #columns: readonly string[];

  private constructor(sink: Sink, readonly format: ExportFormat, readonly type: ExportType) {
    this.#out = new BufferedWriter(sink);
    this.#columns = type === "packets"
      ? PACKET_ROWS.names
      : type === "flows"
      ? FLOW_ROWS.names
      : APP_EXPORTS[type].names;
    if (format === "json") this.#out.write("[");
  }

  /** Writes to SINK (memory, a socket). */
  static to(sink: Sink, format: ExportFormat, type: ExportType): Exporter {
    return new Exporter(sink, format, type);
  }

  /** Opens PATH for writing ("-" is standard output). */
  static async open(path: string, format: ExportFormat, type: ExportType): Promise<Exporter> {
    if (path === "-") return new Exporter({ writeSync: (p) => Deno.stdout.writeSync(p) }, format, type);
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    return new Exporter(file, format, type);
  }

  packet(p: PacketRecord): void {
    this.#row(PACKET_ROWS, p);
  }

  flow(view: FlowView): void {
    this.#row(FLOW_ROWS, view);
  }

  /** An application-layer event, when this export's type takes its kind. */
  app(e: AppEvent): void {
    const x = APP_EXPORTS[this.type];
    if (x?.kinds.includes(e.kind)) this.#row(x, e);
  }

  /** The session sink of this export: it takes only the records of its type. */
  sink(): SessionSink {
    const close = () => this.close();
    if (this.type === "packets") return { packet: (p) => this.packet(p), close };
    if (this.type === "flows") return { flow: (v) => this.flow(v), close };
    return { app: (e) => this.app(e), close };
  }

  get rows(): number {
    return this.#rows;
  }

  #row<T>(schema: RowSchema<T>, x: T): void {
    if (this.format === "csv") {
      // null is written as an empty field.
      this.#csvBatch.push(schema.values(x));
      if (this.#csvBatch.length >= CSV_BATCH) this.#flushCsv();
    } else if (this.format === "ndjson") {
      this.#out.write(JSON.stringify(schema.jsonRow(x)) + "\n");
    } else {
      this.#out.write((this.#rows ? ",\n" : "\n") + JSON.stringify(schema.jsonRow(x)));
    }
    this.#rows++;
  }

  #flushCsv(): void {
    const header = !this.#csvHeaderWritten;
    this.#csvHeaderWritten = true;
    this.#out.write(
      stringify(this.#csvBatch, {
        header,
        columns: [...this.#columns],
        // The one kind of object a row holds is a list of integers ("integers" columns).
        cast: {
          boolean: (b) => String(b),
          string: castCsvString,
          object: (list) => (list as number[]).join(" "),
        },
      }),
    );
    this.#csvBatch = [];
  }

  /** Writes out the rows buffered so far (a live capture streams them as it goes). */
  flush(): void {
    if (this.format === "csv" && this.#csvBatch.length) this.#flushCsv();
    this.#out.flush();
  }

  close(): void {
    if (this.format === "csv") {
      if (this.#csvBatch.length || !this.#csvHeaderWritten) this.#flushCsv();
    } else if (this.format === "json") {
      this.#out.write(this.#rows ? "\n]\n" : "]\n");
    }
    this.#out.flush();
    this.#out.sink.close?.();
  }
}
