// `wiresight serve [FILE...]` and `wiresight capture --serve`: the local web view with its
// history store; files given are analysed into sessions first.
import { CaptureError } from "../../ffi/libpcap.ts";
import { join } from "node:path";
import { createApp, type WebApp } from "../server/app.ts";
import { asHttp, ConnectionGuard, GUARD_DEFAULTS, type GuardLimits } from "../server/guard.ts";
import { type EngineFactory, engineFactory } from "../server/detection.ts";
import { ConfigError } from "../detect/config.ts";
import type { LiveStart } from "../server/live.ts";
import { isLoopback, newToken } from "../server/security.ts";
import { openStore, StoreOpenError } from "../store/open.ts";
import { DEFAULT_LIMITS } from "../store/recorder.ts";
import type { SessionStore } from "../store/types.ts";
import { choice, intervalOption, intOption, listOption, type Options, parse, secondsOption } from "./args.ts";
import { ATTRIBUTION_METHODS } from "../proc/attribution.ts";
import { decoderConfigFrom, memoryPlanFrom } from "./common.ts";
import { EXIT_OK, EXIT_RUNTIME, UsageError } from "./errors.ts";
import { writeOut } from "./output.ts";
import { callerPath } from "./paths.ts";
import { HISTORY_OPTIONS, sensorName } from "./store.ts";

export const SERVE_HELP = `Usage: wiresight serve [FILE...] [options]

The local web view: dashboard, flows, packets, DNS, TLS/HTTP, alerts, capture upload and live
capture, with every analysis and capture kept as a session in a history database. Capture files
given are analysed into sessions before the server starts.

      --listen ADDR:PORT       where to listen (default 127.0.0.1:8080; port 0 picks a free one)
      --token TOKEN            require this token on every request (also WIRESIGHT_TOKEN); any
                               address other than loopback needs one, and one is generated and
                               printed when none is given
      --db PATH                SQLite history file (default: ${"$"}XDG_DATA_HOME/wiresight/history.sqlite,
                               i.e. ~/.local/share/wiresight/history.sqlite)
                               DATABASE_URL=postgres://... stores the history in PostgreSQL instead
      --retain DAYS            delete sessions older than DAYS (at start, then hourly)
      --retain SIZE            keep the newest sessions that fit in SIZE (500MB, 2GiB: their rows' size,
                               as the sessions list shows it), deleting older ones (at start, then each
                               minute); give both to bound by age and size
      --max-upload MIB         largest capture accepted by upload (default 256)
      --analyses N             uploads and files analysed at once, each in a worker (default 2)
      --upload-queue N         uploads accepted beyond those analysed, waiting their turn
                               (default 8); more are answered 503 with Retry-After
      --max-connections N      connections at once; more are answered 503 (default ${GUARD_DEFAULTS.connections})
      --header-timeout S       a request's head must arrive within S seconds (default ${
  GUARD_DEFAULTS.headerTimeoutMs / 1000
})
      --body-timeout S         a request's body must bring ${
  GUARD_DEFAULTS.bodyMinBytes / 1024
} KiB in every S seconds waited for it
                               (default ${GUARD_DEFAULTS.bodyWindowMs / 1000}); slower clients are cut off
      --store-packets N        packets kept per session for the packets page (default ${DEFAULT_LIMITS.packets}; 0: none)
      --top N                  entries in each top list (default 10)
      --sensor NAME            this machine's name in the history (default: the host name)
      --no-capture             do not let the page start live captures
      --config FILE            detection thresholds and intel lists (as for --detect; TOML or JSON)
      --no-detect              no detectors (the alerts page stays empty)
  -h, --help                   this help

Examples:
  wiresight serve                                   # http://127.0.0.1:8080/
  wiresight serve capture.pcapng --db /tmp/h.sqlite
  DATABASE_URL=postgres://wiresight@db/wiresight wiresight serve --listen 0.0.0.0:8080
  sudo wiresight capture -i eth0 --serve            # capture and watch it live in the page
`;

export const SERVE_OPTIONS: Options = {
  listen: { type: "string" },
  token: { type: "string" },
  ...HISTORY_OPTIONS,
  retain: { type: "string", multiple: true },
  "max-upload": { type: "string" },
  analyses: { type: "string" },
  "upload-queue": { type: "string" },
  "max-connections": { type: "string" },
  "header-timeout": { type: "string" },
  "body-timeout": { type: "string" },
  "no-detect": { type: "boolean" },
};

const OPTIONS: Options = {
  help: { type: "boolean", short: "h" },
  top: { type: "string" },
  "no-capture": { type: "boolean" },
  config: { type: "string" },
  ...SERVE_OPTIONS,
};

/** "ADDR:PORT", "[v6]:PORT", "ADDR" or "PORT" (on 127.0.0.1) -> host and port; ":PORT" is every address. */
export function parseListen(value: string | undefined): { hostname: string; port: number } {
  if (value === undefined) return { hostname: "127.0.0.1", port: 8080 };
  const m = value.match(/^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/) ??
    value.match(/^([^:\s\[\]]*?)(?::(\d{1,5}))?$/);
  const bad = () =>
    new UsageError(`--listen takes ADDR:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), not '${value}'`);
  if (!m) throw bad();
  if (/^\d{1,5}$/.test(value)) return { hostname: "127.0.0.1", port: Number(value) };
  const port = m[2] === undefined ? 8080 : Number(m[2]);
  if (port > 65535) throw bad();
  return { hostname: m[1] || "0.0.0.0", port };
}

export interface ServeSettings {
  listen: { hostname: string; port: number };
  token: string | null;
  /** Whether the token was generated (it is printed then). */
  generatedToken: boolean;
  retainDays?: number;
  retainBytes?: number;
  maxUploadBytes: number;
  /** File analyses at once, and uploads that may wait beyond them. */
  analyses: { running: number; queued: number };
  /** Connection limit and slow-client timeouts. */
  guard: GuardLimits;
  storePackets: number;
  top: number;
  sensor: string;
  capture: boolean;
  dbPath: string | undefined;
  /** Run the detectors on every session, with this config file (default settings without). */
  detect: boolean;
  detectConfig: string | undefined;
}

function timeoutMs(value: unknown, name: string): number | undefined {
  const s = secondsOption(value as string | undefined, name);
  if (s === 0) throw new UsageError(`--${name} takes a number of seconds above 0`);
  return s === undefined ? undefined : s * 1000;
}

/** The serve options, validated (shared with `capture --serve`). */
export function serveSettings(v: Record<string, unknown>): ServeSettings {
  const listen = parseListen(v.listen as string | undefined);
  let token = (v.token as string | undefined) ?? Deno.env.get("WIRESIGHT_TOKEN") ?? null;
  if (token !== null && !/^[\x21-\x7e]{16,256}$/.test(token)) {
    throw new UsageError("--token takes 16 to 256 printable characters without spaces");
  }
  let generatedToken = false;
  if (!token && !isLoopback(listen.hostname)) {
    token = newToken();
    generatedToken = true;
  }
  return {
    listen,
    token,
    generatedToken,
    ...retainFrom(listOption(v.retain as string[] | undefined)),
    maxUploadBytes: (intOption(v["max-upload"] as string | undefined, "max-upload", 1, 1 << 20) ?? 256) *
      (1 << 20),
    analyses: {
      running: intOption(v.analyses as string | undefined, "analyses", 1, 64) ?? 2,
      queued: intOption(v["upload-queue"] as string | undefined, "upload-queue", 0, 10_000) ?? 8,
    },
    guard: {
      ...GUARD_DEFAULTS,
      connections: intOption(v["max-connections"] as string | undefined, "max-connections", 1, 100_000) ??
        GUARD_DEFAULTS.connections,
      headerTimeoutMs: timeoutMs(v["header-timeout"], "header-timeout") ?? GUARD_DEFAULTS.headerTimeoutMs,
      bodyWindowMs: timeoutMs(v["body-timeout"], "body-timeout") ?? GUARD_DEFAULTS.bodyWindowMs,
    },
    storePackets: intOption(v["store-packets"] as string | undefined, "store-packets", 0, 10_000_000) ??
      DEFAULT_LIMITS.packets,
    top: intOption(v.top as string | undefined, "top", 1, 1000) ?? 10,
    sensor: sensorName(v.sensor as string | undefined),
    capture: !v["no-capture"],
    dbPath: callerPath(v.db as string | undefined),
    detect: !v["no-detect"],
    detectConfig: callerPath(v.config as string | undefined),
  };
}

const DAY_MS = 86_400_000;

const listenName = (l: { hostname: string; port: number }) =>
  `${l.hostname.includes(":") ? `[${l.hostname}]` : l.hostname}:${l.port}`;

/** Why the address cannot be listened on, and what to do, in words. */
function listenProblem(e: Error): string {
  if (e instanceof Deno.errors.AddrInUse) return "the port is in use: pick another --listen port";
  if (e instanceof Deno.errors.AddrNotAvailable) {
    return "this host has no such address: give one of its addresses (ip addr), 127.0.0.1 or 0.0.0.0";
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return "not allowed (ports below 1024 need privileges): pick a port from 1024 up";
  }
  return e.message;
}

/**
 * Opens the store, starts the server, runs `ready` (analyses, a capture), then serves until
 * SIGINT/SIGTERM; everything is closed on the way out.
 */
export async function runServer(
  s: ServeSettings,
  ready: (web: WebApp, store: SessionStore) => Promise<void>,
): Promise<number> {
  let detection: EngineFactory | undefined;
  try {
    detection = s.detect ? await engineFactory(s.detectConfig) : undefined;
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
  let store: SessionStore;
  try {
    store = await openStore({ dbPath: s.dbPath, databaseUrl: Deno.env.get("DATABASE_URL") || undefined });
  } catch (e) {
    if (e instanceof StoreOpenError) {
      console.error(`wiresight: ${e.message}`);
      return EXIT_RUNTIME;
    }
    throw e;
  }
  // Bind first: a wrong --listen fails at once, before any analysis.
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen(s.listen);
  } catch (e) {
    console.error(`wiresight: cannot listen on ${listenName(s.listen)}: ${listenProblem(e as Error)}`);
    await store.close();
    return EXIT_RUNTIME;
  }
  // Private (0700): the upload files, and the socket the guard relays connections to.
  const workDir = await Deno.makeTempDir({ prefix: "wiresight-serve-" });
  const guard = new ConnectionGuard(listener, join(workDir, "http.sock"), s.guard);
  const stopped = Promise.withResolvers<void>();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const onSignal = () => stopped.resolve();
  for (const sig of signals) Deno.addSignalListener(sig, onSignal);
  let retention: ReturnType<typeof setInterval> | undefined;
  let server: Deno.HttpServer | undefined;
  const web = createApp({
    store,
    token: s.token,
    sensor: s.sensor,
    top: s.top,
    limits: { ...DEFAULT_LIMITS, packets: s.storePackets },
    maxUploadBytes: s.maxUploadBytes,
    uploadDir: workDir,
    capture: s.capture,
    detection,
    analyses: s.analyses,
  });
  try {
    if (s.retainDays !== undefined || s.retainBytes !== undefined) {
      const prune = async () => {
        if (s.retainDays !== undefined) {
          const n = await store.deleteBefore(Date.now() - s.retainDays * DAY_MS);
          if (n) console.error(`wiresight: deleted ${n} sessions older than ${s.retainDays} days`);
        }
        if (s.retainBytes !== undefined) {
          const n = await store.deleteBeyond(s.retainBytes);
          if (n) {
            console.error(
              `wiresight: deleted ${n} old sessions to keep the history under ${s.retainBytes} bytes`,
            );
          }
        }
      };
      await prune();
      // A size can be reached by a few uploads: it is checked more often than an age.
      retention = setInterval(
        () => prune().catch((e) => console.error(`wiresight: retention: ${e.message}`)),
        s.retainBytes !== undefined ? 60_000 : 3_600_000,
      );
    }
    server = Deno.serve(
      { path: join(workDir, "http.sock"), onListen: () => {} },
      (req) => web.app.fetch(asHttp(req)),
    );
    await ready(web, store);
    const addr = guard.addr;
    const url = `http://${listenName(addr)}/${s.token && s.generatedToken ? `?token=${s.token}` : ""}`;
    console.error(`wiresight: web view on ${url} (history: ${store.kind} ${store.location}; Ctrl+C to stop)`);
    if (s.token && !s.generatedToken) {
      console.error("wiresight: every request needs the token given with --token");
    }
    await stopped.promise;
    return EXIT_OK;
  } finally {
    for (const sig of signals) Deno.removeSignalListener(sig, onSignal);
    clearInterval(retention);
    await guard.close();
    await web.captures.stop();
    await web.analyses.close();
    web.hub.closeAll();
    await server?.shutdown();
    await store.close();
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}

export async function serveCommand(argv: string[]): Promise<number> {
  const { values: v, positionals: files } = parse(argv, OPTIONS, "serve");
  if (v.help) {
    await writeOut(SERVE_HELP);
    return EXIT_OK;
  }
  const settings = serveSettings(v);
  return await runServer(settings, async (web, store) => {
    for (const f of files.map((f) => callerPath(f))) {
      const id = await store.createSession({ kind: "file", name: f, sensor: settings.sensor });
      const report = await web.analyses.run(web.analyses.reserve(true), { sessionId: id, files: [f] })
        .catch(() => null);
      const stored = await store.session(id);
      if (!report || stored?.status === "failed") {
        console.error(`wiresight: error: ${stored?.error} (session ${id})`);
      } else {console.error(
          `wiresight: ${f}: session ${id}, ${report.packets} packets, ${report.flows} flows`,
        );}
    }
  });
}

/** `capture --serve`: the web view with a capture started at once from the capture options. */
export async function captureServeCommand(
  v: Record<string, unknown>,
  device: string,
  filter: string | undefined,
): Promise<number> {
  for (const flag of ["write", "export"]) {
    if (v[flag] !== undefined) {
      throw new UsageError(`--${flag} does not go with --serve (the history keeps the session)`);
    }
  }
  const settings = serveSettings(v);
  const start: LiveStart = {
    device,
    filter,
    snaplen: intOption(v.snaplen as string | undefined, "snaplen", 64, 262144),
    promiscuous: Boolean(v.promisc),
    bufferBytes: (intOption(v["buffer-size"] as string | undefined, "buffer-size", 1, 4096) ?? 8) << 20,
    count: intOption(v.count as string | undefined, "count", 1, Number.MAX_SAFE_INTEGER),
    duration: intervalOption(v.duration as string | undefined, "duration"),
    decoder: decoderConfigFrom(v, memoryPlanFrom(v, false)),
    attribution: choice(v.attribution as string | undefined, "attribution", ATTRIBUTION_METHODS),
  };
  return await runServer({ ...settings, capture: true }, async (web) => {
    let live;
    try {
      live = await web.captures.start(start);
    } catch (e) {
      if (e instanceof CaptureError && e.usage) throw new UsageError(e.message);
      throw e;
    }
    for (const w of live.warnings) console.error(`wiresight: warning: ${w}`);
    console.error(`wiresight: capturing on ${device} into session ${live.id}`);
    live.done.then((r) =>
      console.error(
        `wiresight: capture ended: ${r.packets} packets, ${r.flows} flows (session ${live.id}); still serving`,
      )
    ).catch((e) => console.error(`wiresight: capture failed: ${(e as Error).message}`));
  });
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** `--retain DAYS` and `--retain SIZE` (a number with a unit), at most one of each. */
export function retainFrom(values: string[]): { retainDays?: number; retainBytes?: number } {
  const out: { retainDays?: number; retainBytes?: number } = {};
  for (const value of values) {
    const size = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)$/i.exec(value.trim());
    const key = size ? "retainBytes" : "retainDays";
    if (out[key] !== undefined) {
      throw new UsageError(`--retain: give at most one age and one size, not '${value}'`);
    }
    const n = size ? Number(size[1]) * SIZE_UNITS[size[2].toLowerCase()] : Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < 0) {
      throw new UsageError(`--retain takes DAYS or a size such as 500MB, not '${value}'`);
    }
    out[key] = size ? Math.floor(n) : n;
  }
  return out;
}
