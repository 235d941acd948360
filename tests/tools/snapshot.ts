// Writes what `wiresight read` produces for every corpus capture (the JSON report, the report and
// EVE stream with --detect, every export type in every format, and stderr) into one directory, so
// that two trees can be compared byte for byte after a refactor:
//   deno run -A tests/tools/snapshot.ts OUTDIR && diff -r OUTDIR_BEFORE OUTDIR
// Each capture runs in its own process (the report owns that process's stdout).
import { corpusRoot } from "../helpers/corpus.ts";

const EXPORT_TYPES = ["packets", "flows", "dns", "http", "tls"];
const FORMATS = ["csv", "ndjson", "json"];

async function snapshotOne(file: string, dir: string): Promise<void> {
  const { main } = await import("../../src/cli/main.ts");
  const code = await main(["read", file, "--report", "json", "--top", "20", "--no-progress"]);
  console.error(`exit ${code}`);
  await main(["read", file, "-q", "--no-progress", "--detect", "--outdir", `${dir}/detect`]);
  for (const type of EXPORT_TYPES) {
    for (const format of FORMATS) {
      const extra = type === "packets" ? ["--export-payload", "16"] : [];
      await main([
        "read",
        file,
        "-q",
        "--no-progress",
        "--export",
        `${dir}/${type}.${format}`,
        "--export-type",
        type,
        ...extra,
      ]);
    }
  }
  // --outdir names its files by the time of the run: give them fixed names.
  for (const e of Deno.readDirSync(`${dir}/detect`)) {
    Deno.renameSync(`${dir}/detect/${e.name}`, `${dir}/detect/${e.name.replace(/\d{8}T\d{6}Z/, "STAMP")}`);
  }
}

async function snapshotAll(out: string): Promise<void> {
  const root = corpusRoot();
  const files: string[] = [];
  for (const sub of ["public", "generated", "zeek", "community-id"]) {
    for (const e of Deno.readDirSync(`${root}/${sub}`)) {
      if (e.isFile && /\.(pcap|pcapng|cap|trace)$/.test(e.name)) files.push(`${sub}/${e.name}`);
    }
  }
  files.sort();
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const rel = files[next++];
      const dir = `${out}/${rel}`;
      Deno.mkdirSync(`${dir}/detect`, { recursive: true });
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL(import.meta.url).pathname, "--one", `${root}/${rel}`, dir],
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).spawn();
      const r = await child.output();
      Deno.writeFileSync(`${dir}/report.json`, r.stdout);
      Deno.writeFileSync(`${dir}/stderr.txt`, r.stderr);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  console.log(`${files.length} captures written to ${out}`);
}

if (Deno.args[0] === "--one") await snapshotOne(Deno.args[1], Deno.args[2]);
else if (Deno.args.length === 1) await snapshotAll(Deno.args[0]);
else console.error("usage: snapshot.ts OUTDIR");
