// `wiresight interfaces`: the devices libpcap can capture on.
import { captureInterfaces } from "../source/live.ts";
import { printable } from "../base/format.ts";
import { type Options, parse } from "./args.ts";
import { EXIT_OK, UsageError } from "./errors.ts";
import { writeOut } from "./output.ts";

export const INTERFACES_HELP = `Usage: wiresight interfaces [--json]

List the interfaces live capture can use, in libpcap's order: name, state, addresses and
description. 'wiresight capture' uses the first one that is up and not loopback, else 'any'.

      --json     one JSON array instead of a table
  -h, --help     this help
`;

const OPTIONS: Options = { json: { type: "boolean" }, help: { type: "boolean", short: "h" } };

export async function interfacesCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, OPTIONS, "interfaces");
  if (v.help) {
    await writeOut(INTERFACES_HELP);
    return EXIT_OK;
  }
  if (positionals.length) throw new UsageError("interfaces takes no arguments");
  const all = captureInterfaces();
  if (v.json) {
    await writeOut(JSON.stringify(all, null, 2) + "\n");
    return EXIT_OK;
  }
  const state = (i: (typeof all)[number]) =>
    [
      i.up ? "up" : "down",
      i.running ? "running" : "",
      i.loopback ? "loopback" : "",
      i.wireless ? "wireless" : "",
    ]
      .filter((s) => s).join(",");
  // A device name may hold control characters: escape them like text from the wire.
  const rows = [
    ["Name", "State", "Addresses", "Description"],
    ...all.map((i) => [
      printable(i.name, Infinity),
      state(i),
      i.addresses.join(" ") || "-",
      printable(i.description, Infinity),
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const text = rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd());
  await writeOut(text.join("\n") + "\n");
  return EXIT_OK;
}
