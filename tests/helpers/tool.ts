// The programs tests run as oracles or clients (tshark, tcpdump, capinfos, editcap, dig, curl ...):
// run to completion, their exit code checked, their stderr in the failure. An oracle that failed
// says nothing about wiresight; reading its empty output as an answer would make a test pass on
// nothing.

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ToolOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** A bound against hangs, not a measure: generous, for a loaded machine (default 120 s). */
  timeoutMs?: number;
  /** Exit codes that are answers too (curl's 28 when --max-time ends a stream on purpose). */
  okCodes?: number[];
}

const dec = new TextDecoder();

/** Runs `cmd args`; throws with the command line, exit code and stderr unless it exited 0 (or `okCodes`). */
export async function runTool(cmd: string, args: string[], options: ToolOptions = {}): Promise<ToolResult> {
  const out = await new Deno.Command(cmd, {
    args,
    env: options.env,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
  }).output();
  const r = { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  if (!(options.okCodes ?? [0]).includes(r.code)) {
    const why = out.signal ? `killed by ${out.signal}` : `exited ${r.code}`;
    throw new Error(`${[cmd, ...args].join(" ")} ${why}:\n${r.stderr.trim()}`);
  }
  return r;
}

/** stderr without tshark's warning about running as root (it says nothing about the capture). */
export function tsharkStderr(stderr: string): string {
  return stderr.split("\n").filter((l) => l && !l.startsWith("Running as user")).join("\n");
}
