// Writes to stdout/stderr; a reader that went away (`| head`) ends the output quietly. Which of
// the two carries what: stdout holds only what the user asked for.
import { UsageError } from "./errors.ts";

const enc = new TextEncoder();

export type Stream = typeof Deno.stdout | typeof Deno.stderr;

/** False when the reader went away. */
export async function writeTo(stream: Stream, text: string | Uint8Array): Promise<boolean> {
  const bytes = typeof text === "string" ? enc.encode(text) : text;
  try {
    for (let off = 0; off < bytes.length;) off += await stream.write(bytes.subarray(off));
    return true;
  } catch (e) {
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
    return false;
  }
}

export function writeOut(text: string): Promise<boolean> {
  return writeTo(Deno.stdout, text);
}

export function writeErr(text: string): Promise<boolean> {
  return writeTo(Deno.stderr, text);
}

export interface StdoutPlan {
  /** Where the final report goes. */
  report: Stream;
  /** Where alert lines, and capture's packet lines and panels, go. */
  lines: Stream;
}

/**
 * Who owns stdout: an export or EVE on `-` (then everything else goes to stderr), else the
 * report; a JSON report keeps stdout to itself, so `| jq` always parses. Two machine formats
 * cannot share it.
 */
export function stdoutPlan(
  report: string,
  exportPath?: string,
  alertsPath?: string,
  packetLines = false,
): StdoutPlan {
  if (packetLines && (alertsPath === "-" || exportPath === "-")) {
    throw new UsageError("--lines writes to stdout: give --alerts and --export a file");
  }
  // read --lines: stdout is the packet lines, everything else goes to stderr.
  if (packetLines) return { report: Deno.stderr, lines: Deno.stderr };
  if (alertsPath === "-" && exportPath === "-") {
    throw new UsageError("--alerts - and --export - cannot both write to stdout: give one of them a file");
  }
  if (alertsPath === "-" && report === "json") {
    throw new UsageError(
      "--alerts - and --report json cannot both write to stdout: choose --alerts FILE, or --report text|none",
    );
  }
  if (exportPath === "-" || alertsPath === "-") return { report: Deno.stderr, lines: Deno.stderr };
  return { report: Deno.stdout, lines: report === "json" ? Deno.stderr : Deno.stdout };
}
