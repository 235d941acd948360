// Runs `wiresight serve` (or `capture --serve`) as a subprocess, as users do, and waits for the
// line that gives its URL; real clients (curl, fetch, a browser) then talk to it.
import { inNetns } from "./capture.ts";
import { wiresightArgs } from "./cli.ts";

export interface Served {
  /** The URL wiresight printed (with ?token=... when it generated one). */
  url: string;
  /** scheme://host:port */
  origin: string;
  token: string | null;
  /** Everything the server wrote on stderr so far. */
  log(): string;
  stop(): Promise<void>;
}

export async function serve(
  args: string[],
  opts: { env?: Record<string, string>; netns?: string; command?: string[] } = {},
): Promise<Served> {
  const [deno, denoArgs] = wiresightArgs([...(opts.command ?? ["serve"]), ...args]);
  const [cmd, argv] = inNetns(opts.netns, deno, denoArgs);
  const proc = new Deno.Command(cmd, {
    args: argv,
    env: { NO_COLOR: "1", ...opts.env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reader = proc.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      log += value;
    }
  })();
  const deadline = Date.now() + 60_000;
  let m: RegExpMatchArray | null = null;
  while (!(m = log.match(/web view on (http:\/\/\S+)/)) && Date.now() < deadline) {
    const exited = await Promise.race([
      proc.status.then(() => true),
      new Promise((r) => setTimeout(() => r(false), 50)),
    ]);
    if (exited) break;
  }
  if (!m) {
    try {
      proc.kill("SIGKILL");
    } catch { /* gone */ }
    await proc.status;
    await pump;
    throw new Error(`wiresight serve did not start:\n${log}`);
  }
  const url = new URL(m[1]);
  return {
    url: m[1],
    origin: url.origin,
    token: url.searchParams.get("token"),
    log: () => log,
    async stop() {
      try {
        proc.kill("SIGTERM");
      } catch { /* gone */ }
      const timer = setTimeout(() => {
        try {
          proc.kill("SIGKILL");
        } catch { /* gone */ }
      }, 15_000);
      await proc.status;
      clearTimeout(timer);
      await pump;
    },
  };
}

export async function withServe<T>(
  args: string[],
  fn: (s: Served) => Promise<T>,
  opts: { env?: Record<string, string>; netns?: string; command?: string[] } = {},
): Promise<T> {
  const s = await serve(args, opts);
  try {
    return await fn(s);
  } finally {
    await s.stop();
  }
}

/** A curl request: status, headers (lower-case names) and body. */
export interface CurlResult {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Runs curl (in `netns` if given) and parses its answer; `args` come before the URL. */
export async function curl(url: string, args: string[] = [], netns?: string): Promise<CurlResult> {
  const [cmd, argv] = inNetns(netns, "curl", ["-sS", "-i", "--max-time", "60", ...args, url]);
  const out = await new Deno.Command(cmd, { args: argv, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`curl ${args.join(" ")} ${url}: ${new TextDecoder().decode(out.stderr)}`);
  // With 100 Continue there are two header blocks: the last one is the answer.
  const blocks = text.split("\r\n\r\n");
  let i = 0;
  while (blocks[i + 1] !== undefined && /^HTTP\/[\d.]+ 100/.test(blocks[i])) i++;
  const [statusLine, ...lines] = blocks[i].split("\r\n");
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const at = l.indexOf(":");
    if (at > 0) headers[l.slice(0, at).toLowerCase()] = l.slice(at + 1).trim();
  }
  return { status: Number(statusLine.split(" ")[1]), headers, body: blocks.slice(i + 1).join("\r\n\r\n") };
}

/** curl's answer as JSON (throws with the body when it is not). */
export async function curlJson(url: string, args: string[] = [], netns?: string) {
  const r = await curl(url, args, netns);
  try {
    return { ...r, json: JSON.parse(r.body) };
  } catch {
    throw new Error(`not JSON (${r.status}) from ${url}: ${r.body.slice(0, 500)}`);
  }
}

/** Uploads `file` with curl; `wait` makes the server answer once the analysis is done. */
export function upload(origin: string, file: string, name: string, extra: string[] = [], netns?: string) {
  return curlJson(
    `${origin}/api/upload?name=${encodeURIComponent(name)}&wait=1`,
    ["-X", "POST", "-H", "content-type: application/octet-stream", "--data-binary", `@${file}`, ...extra],
    netns,
  );
}
