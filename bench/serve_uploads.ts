// `deno run --allow-all bench/serve_uploads.ts [--baseline DIR] [--uploads 20] [--file PCAP] [-- SERVE ARGS]`:
// the peak memory of `wiresight serve` while N clients upload a capture at once (each waits for
// its analysis), for this checkout and optionally another (a `git worktree` of an earlier
// commit). Default capture: a 1.5 MB random-source SYN flood (tests/helpers/syn_flood.ts).
// Prints, per checkout, the answers' statuses, the wall time and the server's idle and peak RSS
// (VmHWM of /proc/PID/status: the workers are threads of the same process). SERVE ARGS go to
// this checkout's server only (the baseline may not know them).
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeSynFlood } from "../tests/helpers/syn_flood.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

const { values: o, positionals: serveArgs } = parseArgs({
  args: Deno.args,
  options: {
    baseline: { type: "string" },
    uploads: { type: "string", default: "20" },
    file: { type: "string" },
  },
  allowPositionals: true,
});

function status(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(new RegExp(`${field}:\\s+(\\d+) kB`));
  return Number(m?.[1]) / 1024;
}

async function measure(checkout: string, args: string[], file: string, uploads: number, work: string) {
  const proc = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      `${checkout}/src/cli/main.ts`,
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--db",
      `${work}/${crypto.randomUUID()}.sqlite`,
      ...args,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines = proc.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "", url: string | undefined;
  while (!(url = log.match(/web view on (http:\/\/\S+)/)?.[1])) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`serve did not start:\n${log}`);
    log += value;
  }
  const drain = (async () => {
    while (!(await lines.read()).done);
  })();
  const idle = status(proc.pid, "VmRSS");
  const body = await Deno.readFile(file);
  const t0 = performance.now();
  const answers = await Promise.all(
    Array.from({ length: uploads }, async (_, i) => {
      const r = await fetch(new URL(`/api/upload?name=u${i}.pcap&wait=1`, url), { method: "POST", body });
      const json = await r.json().catch(() => ({}));
      return `${r.status} ${json.status ?? ""}`.trim();
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const peak = status(proc.pid, "VmHWM");
  proc.kill("SIGTERM");
  await proc.status;
  await drain;
  const counts: Record<string, number> = {};
  for (const a of answers) counts[a] = (counts[a] ?? 0) + 1;
  return {
    checkout,
    answers: counts,
    seconds: +seconds.toFixed(1),
    idleMiB: +idle.toFixed(0),
    peakMiB: +peak.toFixed(0),
  };
}

const work = await Deno.makeTempDir({ prefix: "wiresight-bench-uploads-" });
try {
  let file = o.file;
  if (!file) {
    file = `${work}/flood-1.5MB.pcap`;
    await writeSynFlood(file, 21_400);
  }
  const runs: [string, string[]][] = [[ROOT.replace(/\/$/, ""), serveArgs]];
  if (o.baseline) runs.push([o.baseline, []]);
  for (const [checkout, args] of runs) {
    console.log(JSON.stringify(await measure(checkout, args, file, Number(o.uploads), work)));
  }
} finally {
  await Deno.remove(work, { recursive: true });
}
