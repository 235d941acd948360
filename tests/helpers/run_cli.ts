// Runs the wiresight CLI as a subprocess (exit codes, stderr and written files are what matter),
// with the same permissions as `deno task wiresight`.

const ROOT = new URL("../../", import.meta.url).pathname;
const MAIN = `${ROOT}src/cli/main.ts`;
const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
  "--allow-net",
  "--allow-run",
];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  /** Extra `deno run` flags, e.g. `--v8-flags=--max-old-space-size=40`. */
  denoFlags?: string[];
  /** Run under this wrapper (e.g. ["/usr/bin/time", "-f", "%M"]); its output goes to stderr. */
  wrapper?: string[];
}

export async function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const deno = [Deno.execPath(), "run", "--quiet", ...PERMISSIONS, ...(opts.denoFlags ?? []), MAIN, ...args];
  const [cmd, ...rest] = opts.wrapper ? [...opts.wrapper, ...deno] : deno;
  const out = await new Deno.Command(cmd, {
    args: rest,
    cwd: ROOT,
    env: { NO_COLOR: "1", ...opts.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** `wiresight read ... --report json`, parsed; fails with stderr when the run did not exit 0. */
export async function readReport(args: string[], opts: CliOptions = {}): Promise<Record<string, unknown>> {
  const r = await runCli(["read", ...args, "--report", "json", "--no-progress"], opts);
  if (r.code !== 0) throw new Error(`wiresight read ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
