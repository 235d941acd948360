// Capture uploads: a place in the analysis pool is taken first (503 when the server is full),
// the body streams to a private temporary file under a size limit, its first bytes must be a
// pcap or pcapng header, and it is then analysed into a session in a worker (progress goes to
// the pages as `upload` events) by the pipeline `read` uses.
import type { Context } from "hono";
import { basename, join } from "node:path";
import type { SessionStore } from "../store/types.ts";
import type { AnalysisPool } from "./analysis_pool.ts";
import type { EventHub } from "./events.ts";

export const CAPTURE_EXTENSIONS = [".pcap", ".pcapng", ".cap"];

/** The client stopped sending the body (or was cut off as too slow): logged as one line. */
export class UploadAborted extends Error {}

/** An upload refused, with the HTTP status that says why. */
export class UploadError extends Error {
  constructor(readonly status: 400 | 413 | 415 | 422, message: string) {
    super(message);
  }
}

const MIB = 1 << 20;
const mib = (n: number) => `${(n / MIB).toFixed(n < MIB ? 2 : 0)} MiB`;

/** What the first bytes say: "pcap", "pcapng", or why the file is not a capture. */
export function captureFormat(head: Uint8Array, size: number): "pcap" | "pcapng" {
  const hex = [...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  if (size < 4) {
    throw new UploadError(422, `the file is truncated: ${size} bytes, too short for a capture header`);
  }
  const magic = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true);
  if (magic === 0x0a0d0d0a) {
    if (size < 28) {
      throw new UploadError(422, `the pcapng file is truncated: ${size} bytes, its section header needs 28`);
    }
    return "pcapng";
  }
  if ([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1].includes(magic)) {
    if (size < 24) {
      throw new UploadError(422, `the pcap file is truncated: ${size} bytes, its file header needs 24`);
    }
    return "pcap";
  }
  throw new UploadError(
    415,
    `not a pcap or pcapng capture (it starts with ${hex}); save it as pcapng (editcap -F pcapng IN OUT)`,
  );
}

/** The name shown for an upload: the base name the client gave, printable, with a capture extension. */
export function uploadName(given: string | undefined): string {
  const name = basename((given ?? "").replace(/\\/g, "/")).replace(/[^\w.\- ()+]/g, "_").slice(0, 200);
  if (!name) throw new UploadError(400, "give the file name: POST /api/upload?name=FILE.pcapng");
  if (!CAPTURE_EXTENSIONS.some((x) => name.toLowerCase().endsWith(x))) {
    throw new UploadError(415, `'${name}' is not a capture file name (${CAPTURE_EXTENSIONS.join(", ")})`);
  }
  return name;
}

export interface UploadDeps {
  store: SessionStore;
  hub: EventHub;
  sensor: string;
  maxBytes: number;
  /** A private directory for the files while they are analysed. */
  dir: string;
  pool: AnalysisPool;
}

/** Copies the request body to `path`, refusing it past `maxBytes`; returns its size and first bytes. */
async function receive(
  body: ReadableStream<Uint8Array>,
  path: string,
  maxBytes: number,
  name: string,
): Promise<{ size: number; head: Uint8Array }> {
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  const head = new Uint8Array(32);
  let size = 0;
  const reader = body.getReader();
  const next = () =>
    reader.read().catch((e) => {
      throw new UploadAborted(`upload '${name}' aborted after ${size} bytes: ${(e as Error).message}`);
    });
  try {
    for (let r = await next(); !r.done; r = await next()) {
      const chunk = r.value;
      if (size + chunk.length > maxBytes) {
        throw new UploadError(
          413,
          `the upload is over the limit of ${
            mib(maxBytes)
          } (start 'wiresight serve' with --max-upload MIB to raise it)`,
        );
      }
      if (size < head.length) head.set(chunk.subarray(0, head.length - size), size);
      size += chunk.length;
      for (let off = 0; off < chunk.length;) off += await file.write(chunk.subarray(off));
    }
  } finally {
    file.close();
    reader.releaseLock();
  }
  return { size, head: head.subarray(0, Math.min(size, head.length)) };
}

let uploads = 0;

/** POST /api/upload?name=FILE[&wait=1]: the body is the capture. */
export async function handleUpload(c: Context, deps: UploadDeps): Promise<Response> {
  const name = uploadName(c.req.query("name") ?? c.req.header("x-filename"));
  const declared = Number(c.req.header("content-length") ?? NaN);
  if (declared > deps.maxBytes) {
    throw new UploadError(
      413,
      `the capture is ${mib(declared)}, over the upload limit of ${mib(deps.maxBytes)} ` +
        `(start 'wiresight serve' with --max-upload MIB to raise it)`,
    );
  }
  const body = c.req.raw.body;
  if (!body) throw new UploadError(400, "the request has no body: send the capture file as the body");
  const ticket = deps.pool.reserve();
  // The server picks the path; the client's name is only shown.
  const path = join(deps.dir, `upload-${Deno.pid}-${++uploads}-${crypto.randomUUID()}`);
  let keep = false;
  try {
    const { size, head } = await receive(body, path, deps.maxBytes, name);
    const format = captureFormat(head, size);
    const id = await deps.store.createSession({ kind: "upload", name, sensor: deps.sensor });
    deps.hub.publish("sessions", { changed: id });
    const progress = (phase: string, bytes: number, extra: Record<string, unknown> = {}) =>
      deps.hub.publish("upload", { session: id, name, phase, bytes, size, ...extra }, `upload ${id}`);
    progress("analysing", 0);
    keep = true;
    const analysis = deps.pool.run(ticket, {
      sessionId: id,
      files: [path],
      displayName: name,
      progress: (read) => progress("analysing", read),
    }).then(async (report) => {
      const s = await deps.store.session(id);
      progress(s?.status === "failed" ? "failed" : "done", size, {
        error: s?.error ?? null,
        warnings: report.warnings,
      });
      return s;
    }).catch((e) => {
      progress("failed", size, { error: (e as Error).message });
      return deps.store.session(id);
    }).finally(async () => {
      deps.hub.publish("sessions", { changed: id });
      await Deno.remove(path).catch(() => {});
    });
    if (c.req.query("wait")) {
      const s = await analysis;
      return c.json({ session: id, name, size, format, status: s?.status, error: s?.error ?? null }, 200);
    }
    return c.json({ session: id, name, size, format, status: "running" }, 202);
  } finally {
    if (!keep) {
      ticket.release();
      await Deno.remove(path).catch(() => {});
    }
  }
}
