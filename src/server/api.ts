// The JSON API: each page's data for one session (`?session=ID`, default the running capture or
// else the newest session), of one sensor with `?sensor=NAME` (the history may hold many). A
// finished session answers from its stored report and rows; this server's running capture from
// its live aggregate; another sensor's running capture from the counts its heartbeat stored.
import { type Context, Hono } from "hono";
import {
  FLOW_FILTERS,
  FLOW_NUMERIC_FILTERS,
  type ListQuery,
  type RecordKind,
  type SessionInfo,
  type SessionStore,
} from "../store/types.ts";
import type { CaptureControl } from "./control.ts";
import type { LiveSession } from "./live.ts";

/** A request the API cannot answer as asked (bad parameter, unknown session). */
export class ApiError extends Error {
  constructor(readonly status: 400 | 404 | 409, message: string) {
    super(message);
  }
}

export interface ApiDeps {
  store: SessionStore;
  captures: CaptureControl;
  top: number;
  /** This server's sensor name (its own captures and uploads are stored under it). */
  sensor: string;
}

interface SessionSource {
  info: SessionInfo;
  /** The report fields: the stored report, or the live capture's running totals. */
  report: Record<string, unknown>;
  live: LiveSession | null;
}

const MAX_LIMIT = 1000;

function intParam(c: Context, name: string, min: number, max: number): number | undefined {
  const v = c.req.query(name);
  if (v === undefined || v === "") return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new ApiError(400, `'${name}' takes a whole number from ${min} to ${max}, not '${v}'`);
  }
  return Number(v);
}

/** `?sensor=NAME`: only that sensor's sessions (absent or empty: every sensor). */
function sensorParam(c: Context): string | undefined {
  const v = c.req.query("sensor");
  if (v === undefined || v === "") return undefined;
  if (v.length > 64) throw new ApiError(400, "'sensor' takes a sensor name (64 characters at most)");
  return v;
}

/** Paging, sorting, search and the given column filters of a list request. */
function listQuery(c: Context, filters: readonly string[], numeric: readonly string[] = []): ListQuery {
  const order = c.req.query("order");
  if (order !== undefined && order !== "asc" && order !== "desc") {
    throw new ApiError(400, `'order' takes asc or desc, not '${order}'`);
  }
  const where: Record<string, string | number> = {};
  for (const f of filters) {
    const v = c.req.query(f);
    if (v === undefined || v === "") continue;
    where[f] = numeric.includes(f) ? intParam(c, f, 0, Number.MAX_SAFE_INTEGER)! : v;
  }
  return {
    limit: intParam(c, "limit", 1, MAX_LIMIT) ?? 100,
    offset: intParam(c, "offset", 0, Number.MAX_SAFE_INTEGER) ?? 0,
    sort: c.req.query("sort") || undefined,
    order,
    q: c.req.query("q") || undefined,
    host: c.req.query("host") || undefined,
    port: intParam(c, "port", 0, 65535),
    where,
  };
}

export function apiRoutes(deps: ApiDeps): Hono {
  const { store, captures } = deps;
  const api = new Hono();

  async function source(c: Context): Promise<SessionSource> {
    const param = c.req.query("session") ?? "latest";
    const sensor = sensorParam(c);
    const live = captures.current;
    let id: number;
    if (param === "latest") {
      if (live?.running && (sensor === undefined || sensor === deps.sensor)) id = live.id;
      else {
        const [newest] = await store.sessions(1, sensor);
        if (!newest) {
          throw new ApiError(
            404,
            sensor === undefined
              ? "no sessions yet: upload a capture or start one"
              : `no sessions of sensor '${sensor}'`,
          );
        }
        id = newest.id;
      }
    } else if (/^\d+$/.test(param)) id = Number(param);
    else throw new ApiError(400, `'session' takes a session id or 'latest', not '${param}'`);
    const detail = await store.session(id);
    if (!detail) throw new ApiError(404, `no session ${id}`);
    if (sensor !== undefined && detail.sensor !== sensor) {
      throw new ApiError(404, `session ${id} is sensor '${detail.sensor}'s, not '${sensor}'s`);
    }
    const { report, timeline: _, ...info } = detail;
    if (live && live.id === id && live.running) {
      return { info, report: live.snapshot(deps.top) as unknown as Record<string, unknown>, live };
    }
    // Running elsewhere (another sensor, an analysis): its report comes at the end; its counts now.
    const counts = { packets: info.packets, bytes: info.bytes, flows: info.flows };
    return { info, report: report ?? counts, live: null };
  }

  const pick = (r: Record<string, unknown>, keys: string[]) =>
    Object.fromEntries(keys.map((k) => [k, r[k] ?? null]));

  api.get(
    "/captures",
    async (c) => c.json({ sessions: await store.sessions(intParam(c, "limit", 1, 10000), sensorParam(c)) }),
  );

  api.get("/sensors", async (c) => c.json({ sensors: await store.sensors(), local: deps.sensor }));

  api.get("/captures/:id{[0-9]+}", async (c) => {
    const s = await store.session(Number(c.req.param("id")));
    const sensor = sensorParam(c);
    if (!s || (sensor !== undefined && s.sensor !== sensor)) {
      throw new ApiError(
        404,
        `no session ${c.req.param("id")}${sensor === undefined ? "" : ` of sensor '${sensor}'`}`,
      );
    }
    return c.json(s);
  });

  api.delete("/captures/:id{[0-9]+}", async (c) => {
    const id = Number(c.req.param("id"));
    if (captures.current?.running && captures.current.id === id) {
      throw new ApiError(409, `session ${id} is the running capture: stop it first`);
    }
    if (!await store.deleteSession(id)) throw new ApiError(404, `no session ${id}`);
    return c.json({ deleted: id });
  });

  api.get("/stats", async (c) => {
    const s = await source(c);
    return c.json({
      session: s.info,
      live: s.live !== null,
      ...pick(s.report, [
        "packets",
        "bytes",
        "flows",
        "start",
        "end",
        "start_epoch",
        "end_epoch",
        "duration_s",
        "rates",
        "records_read",
        "filtered_out",
        "truncated_packets",
        "malformed",
        "link_types",
        "warnings",
        "capture",
        "interval",
      ]),
    });
  });

  api.get("/protocols", async (c) => {
    const s = await source(c);
    const protocols = (s.report.protocols ?? {}) as Record<string, Record<string, unknown>>;
    return c.json({
      session: s.info.id,
      protocols: Object.entries(protocols).map(([name, p]) => ({ name, ...p })),
    });
  });

  api.get("/timeline", async (c) => {
    const s = await source(c);
    const points = s.live ? s.live.timeline() : (await store.session(s.info.id))?.timeline ?? [];
    return c.json({ session: s.info.id, points });
  });

  api.get("/top-talkers", async (c) => {
    const s = await source(c);
    return c.json({ session: s.info.id, ...pick(s.report, ["top_talkers", "top_conversations"]) });
  });

  api.get("/countries", async (c) => {
    const s = await source(c);
    return c.json({ session: s.info.id, ...pick(s.report, ["top_countries", "top_as"]) });
  });

  api.get("/ports", async (c) => {
    const s = await source(c);
    return c.json({ session: s.info.id, ...pick(s.report, ["top_ports"]) });
  });

  api.get("/processes", async (c) => {
    const s = await source(c);
    return c.json({ session: s.info.id, processes: s.report.processes ?? [] });
  });

  api.get("/report", async (c) => {
    const s = await source(c);
    return c.json({ session: s.info, live: s.live !== null, report: s.report });
  });

  api.get("/flows", async (c) => {
    const s = await source(c);
    const q = listQuery(c, FLOW_FILTERS, FLOW_NUMERIC_FILTERS);
    return c.json({ session: s.info.id, ...await store.flows(s.info.id, q) });
  });

  api.get("/packets", async (c) => {
    const s = await source(c);
    const q = listQuery(c, ["protocol", "src", "dst", "src_port", "dst_port"], ["src_port", "dst_port"]);
    return c.json({ session: s.info.id, ...await store.packets(s.info.id, q) });
  });

  for (const kind of ["dns", "http", "tls"] satisfies RecordKind[]) {
    api.get(`/${kind}`, async (c) => {
      const s = await source(c);
      const q = listQuery(c, ["src", "dst", "flow_id"], ["flow_id"]);
      return c.json({ session: s.info.id, ...await store.records(s.info.id, kind, q) });
    });
  }

  api.get("/alerts", async (c) => {
    const s = await source(c);
    const q = listQuery(c, ["type", "severity", "src", "dst"]);
    return c.json({ session: s.info.id, ...await store.alerts(s.info.id, q) });
  });

  return api;
}
