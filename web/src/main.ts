/// <reference lib="dom" />
// wiresight's web view: a one-page app over the server's JSON API. Views are chosen by the URL
// fragment (#/dashboard, #/flows ...); live updates arrive as server-sent events.
import { ApiFailure, getJson, postJson } from "./api.ts";
import { Dashboard } from "./dashboard.ts";
import { bytes, clear, count, el, table } from "./dom.ts";
import { ALERTS, DNS, FLOWS, HTTP, PACKETS, renderList, TLS } from "./lists.ts";
import type { SensorInfo, SessionInfo } from "../../src/store/types.ts";
import type { CaptureStatus } from "../../src/server/control.ts";

const VIEWS = [
  "dashboard",
  "flows",
  "packets",
  "dns",
  "tls-http",
  "alerts",
  "upload",
  "history",
  "sensors",
] as const;
type View = (typeof VIEWS)[number];
const LABELS: Record<View, string> = {
  dashboard: "Dashboard",
  flows: "Flows",
  packets: "Packets",
  dns: "DNS",
  "tls-http": "TLS / HTTP",
  alerts: "Alerts",
  upload: "Upload",
  history: "History",
  sensors: "Sensors",
};
/** How often a view of what other sensors write (running captures) is read again. */
const STORE_REFRESH_MS = 2000;

const root = document.getElementById("view")!;
const sessionSelect = document.getElementById("session") as HTMLSelectElement;
const sensorSelect = document.getElementById("sensor") as HTMLSelectElement;
let dashboard: Dashboard | null = null;
/** The next reading of a view that follows the store (another sensor's running capture). */
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let captureStatus: CaptureStatus | null = null;
/** Upload progress by session, as pushed by the server. */
const uploads = new Map<number, Record<string, unknown>>();

const selectedSession = () => sessionSelect.value || "latest";
/** Every data request's session and sensor (none: every sensor). */
const scope = (): Record<string, string> =>
  sensorSelect.value
    ? { session: selectedSession(), sensor: sensorSelect.value }
    : { session: selectedSession() };

function currentView(): View {
  const v = location.hash.replace(/^#\/?/, "") as View;
  return VIEWS.includes(v) ? v : "dashboard";
}

function showError(target: HTMLElement, e: unknown): void {
  clear(target, el("p", { class: "error" }, e instanceof ApiFailure ? e.message : String(e)));
}

/** Renders started: a render that awaited past a newer one's start leaves the page to it. */
let renders = 0;

async function render(): Promise<void> {
  const mine = ++renders;
  const current = () => mine === renders;
  const view = currentView();
  for (const a of document.querySelectorAll("nav a")) {
    a.classList.toggle("active", a.getAttribute("href") === `#/${view}`);
  }
  dashboard?.destroy();
  dashboard = null;
  clearTimeout(refreshTimer);
  try {
    if (view === "dashboard") {
      if (sessionSelect.options.length === 1 && !captureStatus?.running) {
        clear(
          root,
          el("h1", {}, "No sessions yet"),
          el("p", { class: "note", id: "empty" }, "Upload a capture, or start one above."),
        );
        return;
      }
      const shown = dashboard = new Dashboard(root);
      const stats = await shown.load(scope());
      // Another sensor's capture (or an analysis) runs: its counts grow in the store.
      if (current() && stats.session.status === "running" && !stats.live) {
        refreshTimer = setTimeout(() => dashboard === shown && render(), STORE_REFRESH_MS);
      }
    } else if (view === "flows") renderList(root, FLOWS, scope);
    else if (view === "packets") renderList(root, PACKETS, scope);
    else if (view === "dns") renderList(root, DNS, scope);
    else if (view === "alerts") renderList(root, ALERTS, scope);
    else if (view === "tls-http") {
      const tls = el("div", { id: "tls-part" }), http = el("div", { id: "http-part" });
      clear(root, tls, http);
      renderList(tls, TLS, scope);
      renderList(http, HTTP, scope);
    } else if (view === "upload") renderUpload();
    else if (view === "sensors") await renderSensors(current);
    else await renderHistory(current);
  } catch (e) {
    if (current()) showError(root, e);
  }
}

async function refreshSessions(): Promise<void> {
  const { sessions } = await getJson<{ sessions: SessionInfo[] }>("/api/captures", {
    limit: 200,
    sensor: sensorSelect.value,
  });
  const keep = sessionSelect.value;
  clear(
    sessionSelect,
    el("option", { value: "latest" }, "latest"),
    ...sessions.map((s) =>
      el(
        "option",
        { value: String(s.id) },
        `#${s.id} ${s.name}${sensorSelect.value ? "" : ` @${s.sensor}`}${
          s.status === "done" ? "" : ` (${s.status})`
        }`,
      )
    ),
  );
  sessionSelect.value = [...sessionSelect.options].some((o) => o.value === keep) ? keep : "latest";
}

async function refreshSensors(): Promise<SensorInfo[]> {
  const { sensors } = await getJson<{ sensors: SensorInfo[] }>("/api/sensors");
  const keep = sensorSelect.value;
  clear(
    sensorSelect,
    el("option", { value: "" }, "all"),
    ...sensors.map((s) => el("option", { value: s.name }, s.name)),
  );
  if (keep && !sensors.some((s) => s.name === keep)) sensorSelect.append(el("option", { value: keep }, keep));
  sensorSelect.value = keep;
  return sensors;
}

async function selectSensor(name: string): Promise<void> {
  sensorSelect.value = name;
  sessionSelect.value = "latest";
  await refreshSessions();
}

const utc = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);

/** The sensors writing this history, and every running capture with its counts, read again every few seconds. */
async function renderSensors(current: () => boolean): Promise<void> {
  const sensors = await refreshSensors();
  if (!current()) return;
  const running = sensors.flatMap((s) => s.running);
  const sensorTable = table(
    [
      { key: "name", label: "Sensor" },
      { key: "sessions", label: "Sessions", numeric: true },
      { key: "running_count", label: "Running", numeric: true },
      { key: "last_seen", label: "Last seen (UTC)" },
    ],
    sensors.map((s) => ({ ...s, running_count: s.running.length, last_seen: utc(s.last_seen_ms) })),
    { id: "sensors-table" },
  );
  sensorTable.querySelector("thead tr")!.append(el("th", {}, ""));
  sensorTable.querySelectorAll<HTMLTableRowElement>("tbody tr").forEach((tr, i) => {
    const show = el("button", { type: "button" }, "show");
    show.addEventListener("click", async () => {
      await selectSensor(sensors[i].name);
      location.hash = "#/dashboard";
    });
    tr.dataset.sensor = sensors[i].name;
    tr.append(el("td", {}, show));
  });
  const runningTable = table(
    [
      { key: "sensor", label: "Sensor" },
      { key: "id", label: "#", numeric: true },
      { key: "name", label: "Capture" },
      { key: "packets", label: "Packets", numeric: true, format: (v) => count(Number(v)) },
      { key: "bytes", label: "Bytes", numeric: true, format: (v) => bytes(Number(v)) },
      { key: "flows", label: "Flows", numeric: true, format: (v) => count(Number(v)) },
      { key: "updated", label: "Updated (UTC)" },
    ],
    running.map((s) => ({ ...s, updated: utc(s.updated_ms) })),
    { id: "running-table" },
  );
  runningTable.querySelectorAll<HTMLTableRowElement>("tbody tr").forEach((tr, i) => {
    const s = running[i];
    tr.dataset.sensor = s.sensor;
    tr.dataset.session = String(s.id);
    tr.dataset.packets = String(s.packets);
  });
  clear(
    root,
    el("h1", {}, "Sensors"),
    el("p", { class: "note" }, `${sensors.length} sensors write this history`),
    el("div", { class: "table-wrap" }, sensorTable),
    el("h2", {}, "Running captures"),
    el(
      "p",
      { class: "note" },
      "Counts as each sensor last stored them (every 2 s); a capture that stops writing for 30 s is " +
        "shown stale in the history.",
    ),
    el("div", { class: "table-wrap" }, runningTable),
  );
  refreshTimer = setTimeout(() => currentView() === "sensors" && render(), STORE_REFRESH_MS);
}

function selectSession(id: number | "latest"): void {
  const value = String(id);
  if (![...sessionSelect.options].some((o) => o.value === value)) {
    sessionSelect.append(el("option", { value }, `#${value}`));
  }
  sessionSelect.value = value;
}

function renderUpload(): void {
  const file = el("input", { type: "file", id: "upload-file", accept: ".pcap,.pcapng,.cap" });
  const button = el("button", { type: "submit", id: "upload-button" }, "Upload and analyse");
  const bar = el("progress", { id: "upload-progress", max: 1, value: 0 });
  const status = el("p", { id: "upload-status" });
  const form = el("form", { id: "upload-form" }, file, button);
  clear(
    root,
    el("h1", {}, "Upload a capture"),
    el(
      "p",
      { class: "note" },
      "pcap, pcapng or cap; analysed by the same pipeline as 'wiresight read' and kept in the history.",
    ),
    form,
    bar,
    status,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = file.files?.[0];
    if (!f) {
      status.textContent = "choose a capture file first";
      return;
    }
    status.className = "";
    status.textContent = `uploading ${f.name}…`;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/upload?name=${encodeURIComponent(f.name)}`);
    xhr.setRequestHeader("content-type", "application/octet-stream");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) {
        bar.value = e.loaded / e.total / 2;
        status.textContent = `uploading ${f.name}: ${Math.round((100 * e.loaded) / e.total)}%`;
      }
    };
    xhr.onerror = () => {
      status.className = "error";
      status.textContent = "the upload failed: the server closed the connection";
    };
    xhr.onload = () => {
      let data: Record<string, unknown> = {};
      try {
        data = JSON.parse(xhr.responseText);
      } catch { /* not JSON */ }
      if (xhr.status >= 400) {
        status.className = "error";
        status.textContent = String(data.error ?? `upload refused (${xhr.status})`);
        bar.value = 0;
        return;
      }
      followAnalysis(Number(data.session), f.name, bar, status);
    };
    xhr.send(f);
  });
}

/** Shows an upload's analysis until its session is done, then opens its dashboard. */
function followAnalysis(id: number, name: string, bar: HTMLProgressElement, status: HTMLElement): void {
  status.textContent = `analysing ${name}…`;
  status.dataset.session = String(id);
  const started = Date.now();
  const poll = async () => {
    const pushed = uploads.get(id);
    if (pushed && Number(pushed.size) > 0) bar.value = 0.5 + Number(pushed.bytes) / Number(pushed.size) / 2;
    const s = await getJson<SessionInfo>(`/api/captures/${id}`).catch(() => null);
    if (s && s.status !== "running") {
      bar.value = 1;
      await refreshSessions();
      if (s.status === "failed") {
        status.className = "error";
        status.textContent = `${name}: ${s.error ?? "analysis failed"}`;
        return;
      }
      selectSession(id);
      location.hash = "#/dashboard";
      return;
    }
    if (Date.now() - started < 30 * 60_000) setTimeout(poll, 400);
  };
  poll();
}

async function renderHistory(current: () => boolean): Promise<void> {
  const { sessions } = await getJson<{ sessions: SessionInfo[] }>("/api/captures", {
    limit: 1000,
    sensor: sensorSelect.value,
  });
  if (!current()) return;
  const rows = sessions.map((s) => ({ ...s, created: utc(s.created_ms) }));
  const t = table(
    [
      { key: "id", label: "#", numeric: true },
      { key: "created", label: "Created (UTC)" },
      { key: "kind", label: "Kind" },
      { key: "name", label: "Name" },
      { key: "sensor", label: "Sensor" },
      { key: "status", label: "Status" },
      { key: "packets", label: "Packets", numeric: true, format: (v) => count(Number(v)) },
      { key: "bytes", label: "Bytes", numeric: true, format: (v) => bytes(Number(v)) },
      { key: "flows", label: "Flows", numeric: true, format: (v) => count(Number(v)) },
    ],
    rows,
    { id: "history-table" },
  );
  // Open and delete buttons per row.
  t.querySelector("thead tr")!.append(el("th", {}, ""));
  t.querySelectorAll("tbody tr").forEach((tr, i) => {
    const s = sessions[i];
    const open = el("button", { type: "button" }, "open");
    open.addEventListener("click", () => {
      selectSession(s.id);
      location.hash = "#/dashboard";
      render();
    });
    const del = el("button", { type: "button", class: "danger" }, "delete");
    del.addEventListener("click", async () => {
      if (!confirm(`Delete session ${s.id} (${s.name})?`)) return;
      await fetch(`/api/captures/${s.id}`, { method: "DELETE" });
      await refreshSessions();
      render();
    });
    tr.append(el("td", {}, open, " ", del));
  });
  clear(
    root,
    el("h1", {}, "History"),
    el("p", { class: "note" }, `${sessions.length} sessions`),
    el("div", { class: "table-wrap" }, t),
  );
}

// Capture controls in the header.
const ifaceSelect = document.getElementById("capture-interface") as HTMLSelectElement;
const filterInput = document.getElementById("capture-filter") as HTMLInputElement;
const startButton = document.getElementById("capture-start") as HTMLButtonElement;
const stopButton = document.getElementById("capture-stop") as HTMLButtonElement;
const captureState = document.getElementById("capture-state")!;

function showCapture(s: CaptureStatus): void {
  captureStatus = s;
  startButton.disabled = !s.enabled || s.running;
  stopButton.disabled = !s.running;
  startButton.title = s.enabled
    ? (s.privileged ? "" : "capture needs root or CAP_NET_RAW/CAP_NET_ADMIN")
    : "capture is off (--no-capture)";
  captureState.textContent = s.running
    ? `capturing on ${s.interface} (session ${s.session})`
    : s.error
    ? s.error
    : "";
  captureState.className = s.running ? "running" : s.error ? "error" : "";
  captureState.dataset.running = String(s.running);
}

startButton.addEventListener("click", async () => {
  try {
    const s = await postJson<CaptureStatus>("/api/capture/start", {
      interface: ifaceSelect.value,
      filter: filterInput.value,
    });
    showCapture(s);
    await refreshSessions();
    selectSession("latest");
    location.hash = "#/dashboard";
    await render();
  } catch (e) {
    captureState.textContent = (e as Error).message;
    captureState.className = "error";
  }
});

stopButton.addEventListener("click", async () => {
  stopButton.disabled = true;
  try {
    showCapture(await postJson<CaptureStatus>("/api/capture/stop", {}));
    await refreshSessions();
    await render();
  } catch (e) {
    captureState.textContent = (e as Error).message;
    captureState.className = "error";
  }
});

async function loadInterfaces(): Promise<void> {
  const { interfaces } = await getJson<{ interfaces: { name: string; up: boolean; loopback: boolean }[] }>(
    "/api/interfaces",
  );
  clear(ifaceSelect, ...interfaces.filter((i) => i.up).map((i) => el("option", { value: i.name }, i.name)));
}

function listen(): void {
  const events = new EventSource("/api/events");
  events.addEventListener("stats", (ev) => {
    const snap = JSON.parse((ev as MessageEvent).data);
    const shown = selectedSession();
    if (
      dashboard &&
      (shown === String(snap.session) || (shown === "latest" && dashboard.session === snap.session))
    ) {
      dashboard.live(snap);
    }
  });
  events.addEventListener("capture", (ev) => {
    const s = JSON.parse((ev as MessageEvent).data) as CaptureStatus;
    const ended = captureStatus?.running && !s.running;
    showCapture(s);
    if (ended) {
      refreshSessions().then(() => {
        if (currentView() === "dashboard") render();
      });
    }
  });
  events.addEventListener("sessions", () => {
    refreshSessions();
    refreshSensors();
  });
  events.addEventListener("upload", (ev) => {
    const u = JSON.parse((ev as MessageEvent).data);
    uploads.set(Number(u.session), u);
  });
}

function buildNav(): void {
  const nav = document.getElementById("nav")!;
  clear(nav, ...VIEWS.map((v) => el("a", { href: `#/${v}`, id: `nav-${v}` }, LABELS[v])));
}

buildNav();
sessionSelect.addEventListener("change", () => render());
sensorSelect.addEventListener("change", () => selectSensor(sensorSelect.value).then(render));
globalThis.addEventListener("hashchange", () => render());
Promise.all([
  refreshSensors(),
  refreshSessions(),
  loadInterfaces(),
  getJson<CaptureStatus>("/api/capture/status").then(showCapture),
])
  .catch(() => {})
  .then(() => {
    listen();
    return render();
  })
  .then(() => document.body.setAttribute("data-ready", "true"));
