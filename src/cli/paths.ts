// Paths the user gives (captures, --export, --write, --alerts, --outdir, --config, --db ...) are
// the caller's: `deno task` runs wiresight in the checkout, and says where it was called from in
// INIT_CWD. Every path option goes through `callerPath`.
import { isAbsolute, join } from "node:path";

/** The checkout `deno task` runs in (none in a compiled binary, whose modules are not on disk). */
const PROJECT_ROOT = realPath(new URL("../..", import.meta.url).pathname);

/** Symlinks resolved, so a checkout reached through a link is still recognised. */
function realPath(path: string): string | undefined {
  try {
    return Deno.realPathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * The caller's directory when it differs from ours: INIT_CWD, but only while we run in the
 * checkout as `deno task` starts us (an INIT_CWD inherited from an unrelated `npm run` or
 * `deno task` does not move the paths of a wiresight started elsewhere).
 */
function callerDir(): string | undefined {
  const init = Deno.env.get("INIT_CWD");
  if (!init || !isAbsolute(init)) return undefined;
  const cwd = realPath(Deno.cwd());
  return cwd !== undefined && cwd === PROJECT_ROOT && realPath(init) !== cwd ? init : undefined;
}

/** `path` as the caller meant it; "-" (stdin/stdout) and absolute paths are kept as they are. */
export function callerPath(path: string): string;
export function callerPath(path: string | undefined): string | undefined;
export function callerPath(path: string | undefined): string | undefined {
  if (path === undefined || path === "-" || isAbsolute(path)) return path;
  const dir = callerDir();
  return dir ? join(dir, path) : path;
}
