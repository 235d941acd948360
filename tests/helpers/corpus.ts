// The shared capture corpus and wiresight's view of a capture for comparisons.
import type { FlowRecord } from "../../src/decoder/records.ts";
import { type DecodeResult, runDecode } from "../../src/source/decode.ts";

/**
 * The shared corpus (real captures with their sources): $WIRESIGHT_CORPUS, else ../shared/corpus
 * beside the checkout. A missing corpus is an error, never a skip.
 */
export function corpusRoot(): string {
  const env = Deno.env.get("WIRESIGHT_CORPUS");
  const root = env || new URL("../../../shared/corpus", import.meta.url).pathname.replace(/\/$/, "");
  try {
    if (Deno.statSync(`${root}/public`).isDirectory) return root;
  } catch { /* said below */ }
  const from = env ? "$WIRESIGHT_CORPUS" : "../shared/corpus beside the checkout";
  throw new Error(
    `capture corpus not found: ${root}/public is missing (from ${from}); ` +
      "put the shared corpus there or point WIRESIGHT_CORPUS at it",
  );
}

export function corpusFiles(): string[] {
  const root = corpusRoot();
  const files: string[] = [];
  for (const dir of ["public", "generated"]) {
    try {
      for (const e of Deno.readDirSync(`${root}/${dir}`)) {
        if (e.isFile && /\.(pcap|pcapng|cap)$/.test(e.name)) files.push(`${root}/${dir}/${e.name}`);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return files.sort();
}

export function corpusFile(name: string): string {
  const found = corpusFiles().find((f) => f.endsWith("/" + name));
  if (!found) throw new Error(`corpus file ${name} not found`);
  return found;
}

/** Timeouts off: tshark never splits a conversation by time, so neither may we when comparing. */
export const NO_TIMEOUTS = { tcpIdle: 0, udpIdle: 0, closedLinger: 0, active: 0 };

export async function analyze(path: string): Promise<DecodeResult & { flows: FlowRecord[] }> {
  const flows: FlowRecord[] = [];
  const result = await runDecode({ files: [path], decoder: { timeouts: NO_TIMEOUTS } }, {
    flow: (f) => flows.push(f),
  });
  return { ...result, flows };
}
