// Packet line options `capture` and `read --lines` share: the compact form, detail, and the
// payload dump (tcpdump's -X and -A).
import type { PrinterOptions } from "../sinks/terminal.ts";
import { intOption, type Options } from "./args.ts";
import { UsageError } from "./errors.ts";

export const LINE_OPTIONS: Options = {
  compact: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  hex: { type: "boolean", short: "X" },
  ascii: { type: "boolean", short: "A" },
  "no-payload": { type: "boolean" },
  "max-payload": { type: "string" },
};

/** What `--help` says of them (the payload shown by default differs by command). */
export const LINE_HELP =
  `      --compact                one short line per packet, no payload unless -X, -A or --max-payload
  -v, --verbose                more detail per packet (flow, TTL, TCP numbers, executable, user)
  -X, --hex                    the payload in hex and ASCII, as tcpdump -X (all of it, or --max-payload)
  -A, --ascii                  the payload as text, as tcpdump -A (all of it, or --max-payload)
      --no-payload             no payload dump
      --max-payload N          payload bytes shown per packet, as with -X`;

/** Payload bytes a dump shows when -X or -A gives no --max-payload: all the decoder copies. */
const WHOLE_PAYLOAD = 65535;

/** The line options, validated; `payload` is what a full line shows when no option says. */
export function printerOptionsFrom(
  v: Record<string, unknown>,
  color: boolean,
  payload: number,
): PrinterOptions {
  if (v.hex && v.ascii) {
    throw new UsageError("-X and -A cannot be combined: hex and ASCII (-X) or text only (-A)");
  }
  const max = intOption(v["max-payload"] as string | undefined, "max-payload", 0, WHOLE_PAYLOAD);
  const dumpAsked = Boolean(v.hex || v.ascii);
  if (v["no-payload"] && (dumpAsked || max !== undefined)) {
    throw new UsageError("--no-payload cannot be combined with -X, -A or --max-payload");
  }
  return {
    color,
    compact: Boolean(v.compact),
    verbose: Boolean(v.verbose),
    payload: v["no-payload"] ? 0 : max ?? (dumpAsked ? WHOLE_PAYLOAD : v.compact ? 0 : payload),
    dump: v.ascii ? "ascii" : "hex",
  };
}

/** Line options given without the lines they shape (`read` without --lines, `capture -q`). */
export function lineOptionsGiven(v: Record<string, unknown>): string[] {
  return Object.keys(LINE_OPTIONS).filter((k) => v[k] !== undefined).map((k) => `--${k}`);
}
