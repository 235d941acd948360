// `wiresight serve [FILE...]` and `wiresight capture --serve`: the local web view with its
// history store; files given are analysed into sessions first.
import { hostname } from "node:os";
import { CaptureError } from "../../ffi/libpcap.ts";
import { createApp, type WebApp } from "../server/app.ts";
import { analyzeIntoSession } from "../server/analysis.ts";
import { type EngineFactory, engineFactory } from "../server/detection.ts";
import { ConfigError } from "../detect/config.ts";
import type { LiveStart } from "../server/live.ts";
import { isLoopback, newToken } from "../server/security.ts";
import { openStore, StoreOpenError } from "../store/open.ts";
import { DEFAULT_LIMITS } from "../store/recorder.ts";
import type { SessionStore } from "../store/types.ts";
import { choice, intOption, listOption, type Options, parse, secondsOption } from "./args.ts";
import { ATTRIBUTION_METHODS } from "../proc/attribution.ts";
import { decoderConfigFrom, memoryPlanFrom } from "./common.ts";
import { EXIT_OK, EXIT_RUNTIME, UsageError } from "./errors.ts";
import { writeOut } from "./output.ts";

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
  db: { type: "string" },
  retain: { type: "string", multiple: true },
  "max-upload": { type: "string" },
  "store-packets": { type: "string" },
  sensor: { type: "string" },
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
  storePackets: number;
  top: number;
  sensor: string;
  capture: boolean;
  dbPath: string | undefined;
  /** Run the detectors on every session, with this config file (default settings without). */
  detect: boolean;
  detectConfig: string | undefined;
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
    storePackets: intOption(v["store-packets"] as string | undefined, "store-packets", 0, 10_000_000) ??
      DEFAULT_LIMITS.packets,
    top: intOption(v.top as string | undefined, "top", 1, 1000) ?? 10,
    sensor: (v.sensor as string | undefined) ?? hostname(),
    capture: !v["no-capture"],
    dbPath: v.db as string | undefined,
    detect: !v["no-detect"],
    detectConfig: v.config as string | undefined,
  };
}

const DAY_MS = 86_400_000;

/**
 * Opens the store, starts the server, runs `ready` (analyses, a capture), then serves until
 * SIGINT/SIGTERM; everything is closed on the way out.
 */
export async function runServer(
  s: ServeSettings,
  ready: (web: WebApp, store: SessionStore, detection: EngineFactory | undefined) => Promise<void>,
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
  const uploadDir = await Deno.makeTempDir({ prefix: "wiresight-uploads-" });
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
    uploadDir,
    capture: s.capture,
    detection,
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
    await ready(web, store, detection);
    try {
      server = Deno.serve({ ...s.listen, onListen: () => {} }, web.app.fetch);
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) {
        console.error(
          `wiresight: ${s.listen.hostname}:${s.listen.port} is in use: pick another --listen port`,
        );
        return EXIT_RUNTIME;
      }
      throw e;
    }
    const addr = server.addr as Deno.NetAddr;
    const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
    const url = `http://${host}:${addr.port}/${s.token && s.generatedToken ? `?token=${s.token}` : ""}`;
    console.error(`wiresight: web view on ${url} (history: ${store.kind} ${store.location}; Ctrl+C to stop)`);
    if (s.token && !s.generatedToken) {
      console.error("wiresight: every request needs the token given with --token");
    }
    await stopped.promise;
    return EXIT_OK;
  } finally {
    for (const sig of signals) Deno.removeSignalListener(sig, onSignal);
    clearInterval(retention);
    await web.captures.stop();
    web.hub.closeAll();
    await server?.shutdown();
    await store.close();
    await Deno.remove(uploadDir, { recursive: true }).catch(() => {});
  }
}

export async function serveCommand(argv: string[]): Promise<number> {
  const { values: v, positionals: files } = parse(argv, OPTIONS, "serve");
  if (v.help) {
    await writeOut(SERVE_HELP);
    return EXIT_OK;
  }
  const settings = serveSettings(v);
  return await runServer(settings, async (_web, store, detection) => {
    for (const f of files) {
      const id = await store.createSession({ kind: "file", name: f, sensor: settings.sensor });
      const report = await analyzeIntoSession(store, id, [f], {
        top: settings.top,
        limits: { ...DEFAULT_LIMITS, packets: settings.storePackets },
        detection,
      });
      const stored = await store.session(id);
      if (stored?.status === "failed") console.error(`wiresight: error: ${stored.error} (session ${id})`);
      else console.error(`wiresight: ${f}: session ${id}, ${report.packets} packets, ${report.flows} flows`);
    }
  });
}

/** `capture --serve`: the web view with a capture started at once from the capture options. */
export async function captureServeCommand(v: Record<string, unknown>, device: string): Promise<number> {
  for (const flag of ["write", "export"]) {
    if (v[flag] !== undefined) {
      throw new UsageError(`--${flag} does not go with --serve (the history keeps the session)`);
    }
  }
  const settings = serveSettings(v);
  const start: LiveStart = {
    device,
    filter: v.filter as string | undefined,
    snaplen: intOption(v.snaplen as string | undefined, "snaplen", 64, 262144),
    promiscuous: Boolean(v.promisc),
    bufferBytes: (intOption(v["buffer-size"] as string | undefined, "buffer-size", 1, 4096) ?? 8) << 20,
    count: intOption(v.count as string | undefined, "count", 1, Number.MAX_SAFE_INTEGER),
    duration: secondsOption(v.duration as string | undefined, "duration"),
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
