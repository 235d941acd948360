// wiresight command line: dispatch to a command, map errors to exit codes.
import { LibpcapMissingError } from "../../ffi/libpcap.ts";
import { CaptureOpenError } from "../source/file.ts";
import { DecoderMemoryError } from "../decoder/decoder.ts";
import { VERSION } from "../version.ts";
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, UsageError } from "./errors.ts";
import { writeOut } from "./output.ts";
import { readCommand } from "./read.ts";
import { captureCommand } from "./capture.ts";
import { interfacesCommand } from "./interfaces.ts";
import { serveCommand } from "./serve.ts";
import { CaptureError } from "../../ffi/libpcap.ts";

const HELP = `wiresight ${VERSION}: network traffic analyzer

Usage: wiresight COMMAND [options]
       wiresight -r FILE [read options]    as tcpdump: the same as 'wiresight read -r FILE'
       wiresight -D                        as tcpdump: the same as 'wiresight interfaces'

Commands:
  read FILE...     analyse pcap/pcapng captures: report, flows, exports
  capture          capture live traffic: which program talks to whom (root)
  interfaces       list the interfaces capture can use
  serve [FILE...]  the local web view and history: dashboard, flows, uploads, live capture

Options:
  -h, --help       this help (and 'wiresight COMMAND --help' for a command's options)
  -V, --version    print the version

Run 'wiresight read --help' for filters, exports and report options.
`;

/**
 * tcpdump's habits without a command: -r FILE reads (the whole line goes to `read`, which knows
 * -r), -D lists the interfaces; -n may come along, as it often does.
 */
function tcpdumpCommand(args: string[]): [string, string[]] | undefined {
  if (args.some((a) => a === "-D" || a === "--list-interfaces")) {
    const rest = args.filter((a) => !["-D", "--list-interfaces", "-n", "-nn"].includes(a));
    return ["interfaces", rest];
  }
  if (args.some((a) => /^-n*r/.test(a))) return ["read", args];
  return undefined;
}

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  read: readCommand,
  capture: captureCommand,
  interfaces: interfacesCommand,
  serve: serveCommand,
};

export async function main(argv: string[]): Promise<number> {
  const habit = argv[0]?.startsWith("-") ? tcpdumpCommand(argv) : undefined;
  const [command, ...rest] = habit ? [habit[0], ...habit[1]] : argv;
  try {
    if (command === undefined || command === "-h" || command === "--help" || command === "help") {
      await writeOut(HELP);
      return command === undefined ? EXIT_USAGE : EXIT_OK;
    }
    if (command === "-V" || command === "--version") {
      await writeOut(`wiresight ${VERSION}\n`);
      return EXIT_OK;
    }
    const run = COMMANDS[command];
    if (!run) {
      throw new UsageError(
        command.startsWith("-")
          ? `'${command}' needs a command first, e.g. 'wiresight capture ${command} ...' ` +
            `(without one, only -r FILE and -D work, as in tcpdump)`
          : `unknown command '${command}' (commands: ${Object.keys(COMMANDS).join(", ")})`,
      );
    }
    return await run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(
        `wiresight: ${e.message}\nTry 'wiresight ${COMMANDS[command] ? command + " " : ""}--help'.`,
      );
      return EXIT_USAGE;
    }
    if (
      e instanceof CaptureOpenError || e instanceof LibpcapMissingError || e instanceof DecoderMemoryError ||
      e instanceof CaptureError
    ) {
      console.error(`wiresight: ${e.message}`);
      return EXIT_RUNTIME;
    }
    if (
      e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotFound ||
      e instanceof Deno.errors.NotCapable
    ) {
      console.error(`wiresight: ${(e as Error).message}`);
      return EXIT_RUNTIME;
    }
    console.error(`wiresight: internal error: ${(e as Error).stack ?? e}`);
    return EXIT_RUNTIME;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
