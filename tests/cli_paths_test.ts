// Relative paths are the caller's: `deno task --config /abs/deno.json wiresight ...` run from
// another directory reads and writes there (deno task runs in the checkout and says where it was
// called from in INIT_CWD), and a stale INIT_CWD does not move a wiresight started elsewhere.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parse as parseCsv } from "csv-parse/sync";
import { capinfos, MAIN, REPO, run, SAMPLE, taskFlags } from "./helpers/cli.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wiresight_paths_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The environment a user's shell gives: no INIT_CWD left over from the test runner's npx. */
function shellEnv(): Record<string, string> {
  const keep = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"];
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const k of keep) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  return env;
}

/** `deno ...args` in `cwd` with only a user's shell environment (and `extraEnv`). */
function runClean(cwd: string, args: string[], extraEnv: Record<string, string> = {}) {
  return run(Deno.execPath(), args, { cwd, clearEnv: true, env: { ...shellEnv(), ...extraEnv } });
}

/** `deno task --config <checkout>/deno.json wiresight ...args` run from `cwd`, as a user would. */
function taskFrom(cwd: string, args: string[]) {
  return runClean(cwd, ["task", "--config", `${REPO}/deno.json`, "wiresight", ...args]);
}

/** Rows of the CSV export (header excluded). */
async function csvRows(path: string): Promise<number> {
  return parseCsv(await Deno.readTextFile(path), { columns: true }).length;
}

Deno.test("deno task --config from another directory: ./rel.pcap, --export, --alerts, --outdir land there", () =>
  withTempDir(async (dir) => {
    await Deno.copyFile(SAMPLE, `${dir}/rel.pcap`);
    const r = await taskFrom(dir, [
      "read",
      "./rel.pcap",
      "--export",
      "./out.csv",
      "--alerts",
      "eve.ndjson",
      "--outdir",
      "./reports",
      "-q",
    ]);
    assertEquals(r.code, 0, r.stderr);
    const info = await capinfos(`${dir}/rel.pcap`);
    assertEquals(await csvRows(`${dir}/out.csv`), info.packets, "one CSV row per packet, as capinfos counts");
    const flowEvents = (await Deno.readTextFile(`${dir}/eve.ndjson`)).trim().split("\n")
      .map((l) => JSON.parse(l)).filter((e) => e.event_type === "flow");
    assert(flowEvents.length > 0, "EVE flow events in the caller's directory");
    const reports = [...Deno.readDirSync(`${dir}/reports`)].map((e) => e.name);
    assertEquals(reports.filter((n) => n.endsWith(".report.json")).length, 1, reports.join(" "));
    for (const name of ["out.csv", "eve.ndjson", "reports", "rel.pcap"]) {
      await Deno.stat(`${REPO}/${name}`).then(
        () => assert(false, `${name} appeared in the checkout`),
        (e) => assert(e instanceof Deno.errors.NotFound),
      );
    }
  }));

Deno.test("a missing relative file under deno task is named as the caller gave it, exit 1", () =>
  withTempDir(async (dir) => {
    const r = await taskFrom(dir, ["read", "nope.pcap"]);
    assertEquals(r.code, 1, r.stderr);
    assert(r.stderr.includes(`${dir}/nope.pcap`), r.stderr);
  }));

Deno.test("a stale INIT_CWD does not move the paths of wiresight run outside the checkout", () =>
  withTempDir(async (dir) => {
    await Deno.copyFile(SAMPLE, `${dir}/rel.pcap`);
    const elsewhere = await Deno.makeTempDir({ prefix: "wiresight_paths_elsewhere_" });
    try {
      const r = await runClean(
        dir,
        ["run", ...taskFlags(), MAIN, "read", "rel.pcap", "--export", "out.csv", "-q"],
        { INIT_CWD: elsewhere },
      );
      assertEquals(r.code, 0, r.stderr);
      assertEquals(await csvRows(`${dir}/out.csv`), (await capinfos(`${dir}/rel.pcap`)).packets);
      assertEquals([...Deno.readDirSync(elsewhere)], []);
    } finally {
      await Deno.remove(elsewhere, { recursive: true });
    }
  }));

Deno.test("run from the checkout itself, relative paths stay as given (the report names them so)", async () => {
  const r = await run(Deno.execPath(), [
    "run",
    ...taskFlags(),
    MAIN,
    "read",
    "samples/sample.pcapng",
    "--report",
    "json",
  ], {
    cwd: REPO,
    env: { NO_COLOR: "1", INIT_CWD: REPO },
  });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(JSON.parse(r.stdout).files.map((f: { path: string }) => f.path), ["samples/sample.pcapng"]);
});
