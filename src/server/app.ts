// The web view: one Hono app with the page and its assets (embedded in the executable), the JSON
// API, uploads, capture control and server-sent events, behind access control and security
// headers on every route.
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { CaptureError } from "../../ffi/libpcap.ts";
import { ASSETS } from "../../web/dist/assets.ts";
import type { DecoderConfig } from "../decoder/decoder.ts";
import type { StoreLimits } from "../store/recorder.ts";
import type { SessionStore } from "../store/types.ts";
import type { EngineFactory } from "./detection.ts";
import { AnalysisPool, ServerBusy } from "./analysis_pool.ts";
import { ApiError, apiRoutes } from "./api.ts";
import { CaptureControl } from "./control.ts";
import { EventHub } from "./events.ts";
import { accessControl, securityHeaders } from "./security.ts";
import { handleUpload, UploadAborted, UploadError } from "./upload.ts";

export interface ServerOptions {
  store: SessionStore;
  /** Required on every request when set (it must be set for any address but loopback). */
  token: string | null;
  sensor: string;
  top: number;
  limits: StoreLimits;
  maxUploadBytes: number;
  uploadDir: string;
  /** Whether the page may start captures. */
  capture: boolean;
  /** Settings for captures started from the page (flow timeouts, filters). */
  decoder?: DecoderConfig;
  /** The detectors each session runs (none without). */
  detection?: EngineFactory;
  /** File analyses at once, and how many more may wait (uploads beyond are refused with 503). */
  analyses: { running: number; queued: number };
}

export interface WebApp {
  app: Hono;
  hub: EventHub;
  captures: CaptureControl;
  analyses: AnalysisPool;
}

/** Seconds between keep-alive comments on an idle event stream. */
const SSE_KEEPALIVE_MS = 15_000;

export function createApp(o: ServerOptions): WebApp {
  const hub = new EventHub();
  const captures = new CaptureControl(
    { store: o.store, hub, sensor: o.sensor, top: o.top, limits: o.limits, detection: o.detection },
    o.capture,
  );
  const analyses = new AnalysisPool({
    store: o.store,
    top: o.top,
    limits: o.limits,
    detection: o.detection,
    ...o.analyses,
  });
  const app = new Hono();
  app.use("*", securityHeaders);
  app.use("*", accessControl({ token: o.token }));
  app.use("/api/*", async (c, next) => {
    await next();
    c.header("cache-control", "no-store");
  });

  app.onError((e, c) => {
    if (e instanceof ApiError || e instanceof UploadError) return c.json({ error: e.message }, e.status);
    if (e instanceof CaptureError) return c.json({ error: e.message }, e.usage ? 409 : 503);
    if (e instanceof RangeError) return c.json({ error: e.message }, 400);
    if (e instanceof ServerBusy) {
      return c.json({ error: e.message }, 503, { "retry-after": String(e.retryAfterS) });
    }
    if (e instanceof UploadAborted) {
      // A client going away is no server fault: one line, no stack.
      console.error(`wiresight: web: ${e.message}`);
      return c.json({ error: e.message }, 400);
    }
    console.error(`wiresight: web: ${c.req.method} ${new URL(c.req.url).pathname}: ${e.stack ?? e}`);
    return c.json({ error: `internal error: ${e.message}` }, 500);
  });
  app.notFound((c) => c.json({ error: `no such page or API: ${new URL(c.req.url).pathname}` }, 404));

  for (const [path, asset] of Object.entries(ASSETS)) {
    app.get(path, (c) => c.body(asset.body, 200, { "content-type": asset.type }));
  }

  app.route("/api", apiRoutes({ store: o.store, captures, top: o.top, sensor: o.sensor }));

  app.post("/api/upload", (c) =>
    handleUpload(c, {
      store: o.store,
      hub,
      sensor: o.sensor,
      maxBytes: o.maxUploadBytes,
      dir: o.uploadDir,
      pool: analyses,
    }));

  app.get("/api/capture/status", (c) => c.json(captures.status()));
  app.get("/api/interfaces", (c) => c.json({ interfaces: captures.interfaces() }));
  app.post("/api/capture/start", async (c) => {
    const body = await c.req.json().catch(() => {
      throw new ApiError(400, 'send the capture settings as JSON: {"interface": "lo"}');
    }) as Record<string, unknown>;
    const device = body.interface;
    if (typeof device !== "string" || !/^[\w.:@-]{1,64}$/.test(device)) {
      throw new ApiError(400, "'interface' must name a capture interface (GET /api/interfaces lists them)");
    }
    const positive = (k: string) => {
      const v = body[k];
      if (v === undefined || v === null || v === "") return undefined;
      if (typeof v !== "number" || !(v > 0)) throw new ApiError(400, `'${k}' must be a positive number`);
      return v;
    };
    if (body.filter !== undefined && typeof body.filter !== "string") {
      throw new ApiError(400, "'filter' must be a BPF expression (a string)");
    }
    const live = await captures.start({
      device,
      filter: (body.filter as string | undefined) || undefined,
      duration: positive("duration"),
      count: positive("count"),
      decoder: o.decoder,
    });
    return c.json({ ...captures.status(), session: live.id }, 201);
  });
  app.post("/api/capture/stop", async (c) => {
    const stopped = await captures.stop();
    if (!stopped) throw new ApiError(409, "no capture is running");
    return c.json({ ...captures.status(), session: stopped.id });
  });

  app.get("/api/events", (c) =>
    streamSSE(c, async (stream) => {
      const sub = hub.subscribe();
      stream.onAbort(() => hub.unsubscribe(sub));
      await stream.writeSSE({ event: "capture", data: JSON.stringify(captures.status()) });
      while (!sub.closed && !stream.aborted) {
        const events = await sub.take(SSE_KEEPALIVE_MS);
        if (!events.length) await stream.write(": keep-alive\n\n");
        for (const e of events) await stream.writeSSE({ event: e.event, data: JSON.stringify(e.data) });
      }
    }));

  return { app, hub, captures, analyses };
}
