// A real PostgreSQL server for the tests (Debian's `postgresql` package): a private cluster in
// a temporary directory, listening on 127.0.0.1 and a Unix socket there, run as the `postgres`
// user when the tests run as root (the server refuses root), stopped and deleted afterwards.
import { freePort } from "./capture.ts";

export interface PgServer {
  port: number;
  /** The directory of its Unix socket (reachable from any network namespace: PGHOST=socketDir). */
  socketDir: string;
  /** A new empty database's URL. */
  createDatabase(): Promise<string>;
}

/** The newest installed server's bin directory. */
function pgBin(): string {
  const root = "/usr/lib/postgresql";
  let versions: number[] = [];
  try {
    versions = [...Deno.readDirSync(root)].map((e) => Number(e.name)).filter((n) => n > 0);
  } catch { /* none */ }
  if (!versions.length) {
    throw new Error(
      "PostgreSQL is not installed: apt-get install -y postgresql (the tests start their own server)",
    );
  }
  return `${root}/${Math.max(...versions)}/bin`;
}

const asRoot = Deno.uid() === 0;

async function runAs(cmd: string, args: string[]): Promise<string> {
  const [program, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
  const out = await new Deno.Command(program, {
    args: argv,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  })
    .output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

let databases = 0;

export async function withPostgres<T>(fn: (pg: PgServer) => Promise<T>): Promise<T> {
  const bin = pgBin();
  const dir = await Deno.makeTempDir({ prefix: "wiresight-pg-" });
  const data = `${dir}/data`;
  let started = false;
  try {
    if (asRoot) await new Deno.Command("chown", { args: ["postgres:postgres", dir] }).output();
    await runAs(`${bin}/initdb`, ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
    const port = freePort();
    const options = `-k ${dir} -p ${port} -c listen_addresses=127.0.0.1 -c fsync=off`;
    // -w: returns once the server accepts connections.
    await runAs(`${bin}/pg_ctl`, ["-D", data, "-l", `${dir}/log`, "-o", options, "-w", "-t", "60", "start"]);
    started = true;
    const pg: PgServer = {
      port,
      socketDir: dir,
      async createDatabase() {
        const name = `wiresight_test_${++databases}`;
        await runAs(`${bin}/createdb`, ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", name]);
        return `postgres://postgres@127.0.0.1:${port}/${name}`;
      },
    };
    return await fn(pg);
  } finally {
    // Fast shutdown: clients still connected are disconnected.
    if (started) await runAs(`${bin}/pg_ctl`, ["-D", data, "-m", "fast", "-w", "stop"]);
    await Deno.remove(dir, { recursive: true });
  }
}
