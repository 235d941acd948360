// How the benchmarks start a checkout's wiresight: `deno run` with the exact flags of the
// `wiresight` task in that checkout's deno.json (permissions, V8 flags), its own import map.
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The command line up to the subcommand (append "read", FILE, ...). */
export function wiresightCommand(root: string): string[] {
  const config = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
  const words: string[] = config.tasks.wiresight.split(/\s+/);
  const script = words.findIndex((w) => w.endsWith(".ts"));
  const flags = words.slice(words.indexOf("run") + 1, script);
  return [Deno.execPath(), "run", "--config", join(root, "deno.json"), ...flags, join(root, words[script])];
}
