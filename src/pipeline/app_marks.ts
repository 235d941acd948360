// Application protocols in the protocol filter, for capture files. A packet belongs to its flow's
// application, but the application shows only at the flow's first payload (after the TCP
// handshake, and on a port that may say nothing). So a pre-pass reads the files once, with
// application detection and without filters, notes each record's flow and each flow's
// application, and marks every record (wasm/ABI.md, "Application marks"); the real pass keeps or
// drops each packet by its mark inside the decoder, before any total counts it, in file order.
// Memory: 4 bytes per packet during the pre-pass, 2 bits per packet after it.
import * as abi from "../decoder/abi.ts";
import type { AppMarks, DecoderConfig } from "../decoder/decoder.ts";
import { runDecode } from "../source/decode.ts";
import type { CaptureSource } from "../source/file.ts";

/** The APP_MARK_* bits of a flow of application `app` (APP_*), for the lists `apps` gives. */
export function appMarker(apps: DecoderConfig["apps"]): (app: number) => number {
  const include = new Set(apps?.include), exclude = new Set(apps?.exclude);
  return (app) =>
    (include.has(app) ? abi.APP_MARK_INCLUDED : 0) | (exclude.has(app) ? abi.APP_MARK_EXCLUDED : 0);
}

/** Empty marks for `records` records (the caller sets them with `setMark`). */
export function emptyMarks(records: number, apps: DecoderConfig["apps"]): AppMarks {
  return {
    marks: new Uint8Array((records + 3) >> 2),
    include: Boolean(apps?.include.length),
    exclude: Boolean(apps?.exclude.length),
  };
}

export function setMark(m: AppMarks, record: number, mark: number): void {
  m.marks[record >> 2] |= mark << (2 * (record & 3));
}

/** The mark of every record of `files` for the applications `config.apps` names. */
export async function appMarks(
  files: CaptureSource[],
  config: DecoderConfig,
  progress?: (file: string, index: number, bytesRead: number) => void,
): Promise<AppMarks> {
  const markOf = appMarker(config.apps);
  const markOfFlow = new Map<number, number>();
  // The flow of each record, by its index over all files (flow ids count up from 1; 0: none).
  let flowOf = new Uint32Array(1 << 16);
  let records = 0;
  await runDecode({
    files,
    decoder: { maxFlows: config.maxFlows, timeouts: config.timeouts, packets: { payloadMax: 0 } },
    progress,
  }, {
    packet: (p) => {
      if (records === flowOf.length) {
        const grown = new Uint32Array(2 * records);
        grown.set(flowOf);
        flowOf = grown;
      }
      flowOf[records++] = p.flowId;
    },
    flow: (f) => {
      const mark = markOf(f.app);
      if (mark) markOfFlow.set(f.id, mark);
    },
  });
  const marks = emptyMarks(records, config.apps);
  for (let i = 0; i < records; i++) {
    const mark = markOfFlow.get(flowOf[i]);
    if (mark) setMark(marks, i, mark);
  }
  return marks;
}
