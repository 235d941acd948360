// Runs wiresight's command line as a subprocess, the way `deno task wiresight` does, and the
// capinfos oracle.
import { AssertionError } from "node:assert/strict";

/** The repository root (absolute, no trailing slash). */
export const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const MAIN = `${REPO}/src/cli/main.ts`;
export const SAMPLE = `${REPO}/samples/sample.pcapng`;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The permission flags of the `wiresight` task in deno.json, read from it so the tests run the
 * CLI with exactly the permissions users get.
 */
export function taskFlags(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${REPO}/deno.json`));
  const task: string = config.tasks.wiresight;
  const words = task.split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "run" || words.at(-1) !== "src/cli/main.ts") {
    throw new Error(`unexpected wiresight task in deno.json: ${task}`);
  }
  return words.slice(2, -1);
}

const decoder = new TextDecoder();

/** Fails showing the whole text (node:assert has no "includes" for strings). */
export function assertIncludes(text: string, part: string, message = ""): void {
  if (!text.includes(part)) {
    throw new AssertionError({
      message: `${message ? message + ": " : ""}expected ${JSON.stringify(part)} in:\n${text}`,
    });
  }
}

/** Any program, run to completion. */
export async function run(
  program: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; clearEnv?: boolean } = {},
): Promise<Run> {
  const out = await new Deno.Command(program, {
    args,
    cwd: options.cwd ?? REPO,
    env: options.env,
    clearEnv: options.clearEnv,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** The command line of `wiresight ...args` (for running it elsewhere, e.g. in a namespace). */
export function wiresightArgs(args: string[]): [string, string[]] {
  return [Deno.execPath(), ["run", ...taskFlags(), MAIN, ...args]];
}

/** `deno run <task flags> src/cli/main.ts ...args` with the deno running the tests. */
export function wiresight(args: string[], options: { cwd?: string } = {}): Promise<Run> {
  // NO_COLOR pins the plain report whatever the environment of the test run says.
  return run(Deno.execPath(), ["run", ...taskFlags(), MAIN, ...args], { ...options, env: { NO_COLOR: "1" } });
}

/** The same command as `wiresight()`, spawned, for tests that drive its pipes. */
export function spawnWiresight(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...taskFlags(), MAIN, ...args],
    cwd: REPO,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

export interface CapInfo {
  packets: number;
  /** Sum of the packets' original (wire) lengths. */
  bytes: number;
  /** First/last packet time, UTC, as "YYYY-MM-DD hh:mm:ss.ffffff". */
  start: string;
  end: string;
  /** The same times in Unix seconds, as capinfos prints them. */
  startEpoch: string;
  endEpoch: string;
}

/** capinfos' machine-readable count, data size and first/last times of one capture. */
export async function capinfos(path: string): Promise<CapInfo> {
  const table = async (extra: string[]) => {
    const r = await run("capinfos", ["-T", "-r", "-M", "-c", "-d", "-a", "-e", ...extra, path], {
      env: { TZ: "UTC" },
    });
    if (r.code !== 0) throw new Error(`capinfos ${path} failed: ${r.stderr}`);
    return r.stdout.trim().split("\t");
  };
  const [[, packets, bytes, start, end], [, , , startEpoch, endEpoch]] = await Promise.all([
    table([]),
    table(["-S"]),
  ]);
  return { packets: Number(packets), bytes: Number(bytes), start, end, startEpoch, endEpoch };
}
