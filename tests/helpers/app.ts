// Application-layer events of a capture, and tshark's fields for the same frames.
import type { AppEvent } from "../../src/decoder/app_event.ts";
import { runDecode } from "../../src/source/decode.ts";
import { NO_TIMEOUTS } from "./corpus.ts";
import { TSHARK_PREFS } from "./tshark.ts";
import { runTool } from "./tool.ts";

/** Runs the pipeline and maps each APP event of the wanted kinds through `take` (events are views). */
export async function appEvents<T>(path: string, kinds: number[], take: (e: AppEvent) => T): Promise<T[]> {
  const out: T[] = [];
  await runDecode({ files: [path], decoder: { timeouts: NO_TIMEOUTS } }, {
    app: (e) => {
      if (kinds.includes(e.kind)) out.push(take(e));
    },
  });
  return out;
}

/**
 * tshark -T fields rows (all occurrences, joined by "|") for frames matching `filter`; `env` for
 * tshark's environment (TZ for local times).
 */
export async function tsharkFields(
  path: string,
  filter: string,
  fields: string[],
  prefs: string[] = [],
  env: Record<string, string> = {},
) {
  const args = [
    "-n",
    "-r",
    path,
    ...TSHARK_PREFS,
    ...prefs,
    "-Y",
    filter,
    "-T",
    "fields",
    "-E",
    "occurrence=a",
  ];
  args.push("-E", "aggregator=|", "-E", "separator=\t");
  for (const f of ["frame.number", ...fields]) args.push("-e", f);
  const out = await runTool("tshark", args, { env });
  return out.stdout.split("\n").filter((l) => l).map((l) => {
    const cells = l.split("\t");
    return { frame: Number(cells[0]), values: cells.slice(1).map((c) => (c === "" ? [] : c.split("|"))) };
  });
}
