// `wiresight interfaces`: the devices libpcap can capture on.
import { listInterfaces } from "../../ffi/libpcap.ts";
import { table } from "../report/format.ts";
import { type Options, parse } from "./args.ts";
import { EXIT_OK, UsageError } from "./errors.ts";
import { writeOut } from "./output.ts";

export const INTERFACES_HELP = `Usage: wiresight interfaces [--json]

List the interfaces live capture can use: name, state, addresses and description.
'wiresight capture' uses the first one that is up, not loopback and has an address, else 'any'.

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
  const all = listInterfaces();
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
  await writeOut(
    table(
      ["Name", "State", "Addresses", "Description"],
      all.map((i) => [i.name, state(i), i.addresses.join(" "), i.description]),
    ) +
      "\n",
  );
  return EXIT_OK;
}
