// One fuzz input through the whole pipeline, as `wiresight read --detect` runs it: the session
// builder with the decoder, the application layer, every detector with the EVE stream, and every
// export type in every format, all written to memory. Then what came out is checked: each JSON,
// NDJSON, EVE and CSV output parses back with as many rows as were written, no CSV cell is a
// formula, and the report renders as JSON and text. Anything that throws is the input's failure.
import { parse as parseCsv } from "csv-parse/sync";
import { DEFAULT_CONFIG, type DetectConfig } from "../../../src/detect/config.ts";
import { DetectionEngine } from "../../../src/detect/engine.ts";
import { type IntelLists, loadIntel } from "../../../src/detect/intel.ts";
import { DecoderPool } from "../../../src/decoder/pool.ts";
import { Session } from "../../../src/pipeline/session.ts";
import { detectionReport } from "../../../src/report/alerts.ts";
import { renderText } from "../../../src/report/text.ts";
import { style } from "../../../src/base/format.ts";
import { EveWriter } from "../../../src/sinks/alerts_eve.ts";
import { EXPORT_FORMATS, EXPORT_TYPES, Exporter, type Sink } from "../../../src/sinks/export.ts";
import type { SessionSink } from "../../../src/sinks/sink.ts";
import type { CaptureSource } from "../../../src/source/file.ts";

/** What one input produced (to tell a run that read something from one that read nothing). */
export interface PipelineCounts {
  packets: number;
  rows: number;
  alerts: number;
}

/** Decoder settings: packet records with payload, a flow table small enough to fill. */
const DECODER = { maxFlows: 4096, outBytes: 1 << 20, packets: { payloadMax: 64 } };

class MemorySink implements Sink {
  readonly #dec = new TextDecoder();
  text = "";
  writeSync(p: Uint8Array): number {
    this.text += this.#dec.decode(p);
    return p.length;
  }
}

/** What OWASP says a spreadsheet runs (the exports' own check lives in src/sinks/csv_cell.ts). */
const runnable = (cell: string) =>
  /^[=+\-@\t\r]/.test(cell) && !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(cell);

/**
 * Outputs already checked, by format and rows: most inputs' DNS, HTTP and TLS exports are the
 * same few bytes (a header, "[]"), and parsing them again would find nothing new. Small ones only.
 */
const checked = new Set<string>();
const CHECKED_MAX = 4096, CHECKED_BYTES = 2048;

function checkExport(label: string, format: string, text: string, rows: number): void {
  if (text.length > CHECKED_BYTES) return parseBack(label, format, text, rows);
  const key = `${format} ${rows} ${text}`;
  if (checked.has(key)) return;
  parseBack(label, format, text, rows);
  if (checked.size < CHECKED_MAX) checked.add(key);
}

function parseBack(label: string, format: string, text: string, rows: number): void {
  let parsed: unknown[];
  if (format === "json") parsed = JSON.parse(text);
  else if (format === "ndjson") parsed = text.split("\n").filter(Boolean).map((l) => JSON.parse(l));
  else {
    // Rows end as the header line does (plain names, no quotes): no delimiter guessing per parse.
    const crlf = text[text.indexOf("\n") - 1] === "\r";
    const records: string[][] = parseCsv(text, {
      relax_column_count: false,
      record_delimiter: crlf ? "\r\n" : "\n",
    });
    parsed = records.slice(1);
    for (const row of parsed as string[][]) {
      const bad = row.find(runnable);
      if (bad !== undefined) {
        throw new Error(`${label}: a CSV cell a spreadsheet would run: ${JSON.stringify(bad)}`);
      }
    }
  }
  if (parsed.length !== rows) throw new Error(`${label}: ${rows} rows written, ${parsed.length} read back`);
}

/** What one input produced: its counts, and every output by name (for comparing two runs). */
export interface PipelineResult {
  counts: PipelineCounts;
  outputs: Record<string, string>;
}

/**
 * Runs inputs one after another. What does not depend on the input is made once: the detection
 * settings and intel lists, and (with `reuse`) the decoder, reset between inputs.
 */
export class Pipeline {
  readonly #decoders: DecoderPool | undefined;

  private constructor(readonly config: DetectConfig, readonly intel: IntelLists, reuse: boolean) {
    this.#decoders = reuse ? new DecoderPool() : undefined;
  }

  static async create(opts: { reuse: boolean }): Promise<Pipeline> {
    const config = structuredClone(DEFAULT_CONFIG);
    return new Pipeline(config, await loadIntel(config.intel), opts.reuse);
  }

  /** Runs CAPTURE (a file, or bytes) through everything; EXTRA sinks join the exports (the test's hook). */
  async run(capture: CaptureSource, extra: SessionSink[] = []): Promise<PipelineResult> {
    const engine = new DetectionEngine(this.config, this.intel);
    const eveOut = new MemorySink();
    const eve = EveWriter.to(eveOut);
    engine.onAlert = (a) => eve.alert(a);
    const exports = EXPORT_TYPES.flatMap((type) =>
      EXPORT_FORMATS.map((format) => {
        const out = new MemorySink();
        return { label: `${type} ${format}`, format, out, exporter: Exporter.to(out, format, type) };
      })
    );
    const session = await Session.open({
      files: [capture],
      decoder: DECODER,
      detection: engine,
      sinks: [...exports.map((x) => x.exporter.sink()), ...extra],
      lateSinks: [eve],
      decoders: this.#decoders,
    });
    const { report } = await session.run();
    const outputs: Record<string, string> = {};
    let rows = 0;
    for (const x of exports) {
      checkExport(x.label, x.format, x.out.text, x.exporter.rows);
      rows += x.exporter.rows;
      outputs[x.label] = x.out.text;
    }
    checkExport("EVE", "ndjson", eveOut.text, eve.events);
    outputs.EVE = eveOut.text;
    const alerts = engine.alerts();
    outputs.report = JSON.stringify({ ...report, ...detectionReport(report, alerts, engine.summary()) });
    JSON.parse(outputs.report);
    outputs.text = renderText(report, style(false), session.apps);
    return { counts: { packets: report.packets, rows, alerts: alerts.length }, outputs };
  }

  /** WebAssembly memory of the decoder kept for the next input. */
  decoderMemory(): number {
    return this.#decoders?.memoryBytes() ?? 0;
  }

  free(): void {
    this.#decoders?.free();
  }
}
