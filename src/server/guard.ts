// The listening socket is the guard's, not the HTTP server's: Deno.serve has no connection limit
// and no header or body timeouts, so a few clients sending a byte a second would hold it
// forever (slowloris). The guard accepts each connection (refusing those past the limit),
// relays it to the HTTP server on a private Unix socket, follows the requests in it
// (request_framing.ts) and cuts the connection when a request head takes too long, when a body
// brings too few bytes for the time spent waiting on it, or when a connection sits idle after
// its answer began.
import { MAX_HEAD, RequestFraming, RequestTooLarge } from "./request_framing.ts";

export interface GuardLimits {
  /** Connections at once; more are answered 503 and closed. */
  connections: number;
  /** Time a request head (or a new connection's first request) may take. */
  headerTimeoutMs: number;
  /** A body must bring at least `bodyMinBytes` per `bodyWindowMs` spent waiting for it. */
  bodyWindowMs: number;
  bodyMinBytes: number;
  /** Time a connection between requests may stay silent both ways once its answer began. */
  idleTimeoutMs: number;
}

export const GUARD_DEFAULTS: GuardLimits = {
  connections: 256,
  headerTimeoutMs: 10_000,
  bodyWindowMs: 10_000,
  bodyMinBytes: 10 * 1024,
  idleTimeoutMs: 120_000,
};

const BUFFER = 64 * 1024;

function reply(status: string, error: string, extra = ""): Uint8Array {
  const body = JSON.stringify({ error });
  return new TextEncoder().encode(
    `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: application/json\r\n${extra}` +
      `content-length: ${body.length}\r\n\r\n${body}`,
  );
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** Runs `fn` for at most `ms` (a client that stops reading must not hold the guard). */
async function within(ms: number, fn: () => Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([fn(), new Promise((r) => timer = setTimeout(r, ms))]);
  } catch { /* the client went away */ }
  clearTimeout(timer);
}

/** Sends a last answer and ends the sending side (the caller reads what the client still sends). */
async function lastAnswer(conn: Deno.Conn, answer: Uint8Array): Promise<void> {
  await writeAll(conn, answer);
  await conn.closeWrite();
}

/**
 * Deno names a request that came through a Unix socket http+unix://HOST/PATH; the app gets it
 * as http://relayed.invalid/PATH (the Host header, which access control checks, is unchanged).
 */
export function asHttp(req: Request): Request {
  const scheme = "http+unix://", host = req.headers.get("host") ?? "";
  if (!req.url.startsWith(scheme)) return req;
  // Without a Host header, Deno puts the socket's (encoded) path where the host goes.
  const from = host && req.url.startsWith(scheme + host)
    ? scheme.length + host.length
    : req.url.indexOf("/", scheme.length);
  const path = from < 0 ? "/" : req.url.slice(from) || "/";
  // Not its signal: reading it makes Deno warn about its legacy abort (nothing here uses it).
  return new Request(`http://relayed.invalid${path}`, {
    method: req.method,
    headers: req.headers,
    body: req.body,
  });
}

/** One client connection and its relay to the server. */
class Relay {
  readonly framing = new RequestFraming();
  lastActivity = Date.now();
  /** When the current head (or, before any request, the connection) began. */
  headStart = Date.now();
  /** Whether the server has sent anything since the client's last request head. */
  answered = false;
  /** Time spent waiting for body bytes in this window (not counting a read still waiting). */
  windowWaitMs = 0;
  windowBytes = 0;
  readingSince: number | null = null;
  #closed = false;
  /** Set once the guard answers and closes: what the client still sends is read and dropped. */
  #cutting = false;
  readonly #clientEnded = Promise.withResolvers<void>();

  constructor(readonly client: Deno.Conn, readonly server: Deno.Conn) {}

  /** Relays both ways until either side ends or the guard cuts it. */
  async run(): Promise<void> {
    await Promise.all([this.#fromClient(), this.#fromServer()]);
    this.close();
  }

  async #fromClient(): Promise<void> {
    const buf = new Uint8Array(BUFFER);
    try {
      for (;;) {
        this.readingSince = Date.now();
        const n = await this.client.read(buf);
        const now = Date.now();
        this.windowWaitMs += now - this.readingSince;
        this.readingSince = null;
        if (n === null) break;
        if (this.#cutting) continue;
        this.lastActivity = now;
        const { phase: before, requests } = this.framing;
        try {
          this.framing.feed(buf.subarray(0, n));
        } catch (e) {
          if (!(e instanceof RequestTooLarge)) throw e;
          return void this.cut(reply("431 Request Header Fields Too Large", `${e.message} (${MAX_HEAD})`));
        }
        // A head that began in these bytes is timed from now (a pipelined one too); the first
        // one from the connection's start, so an idle connection counts.
        const newHead = this.framing.phase === "head" &&
          (before !== "head" || this.framing.requests > requests);
        if (newHead && this.framing.requests > 0) this.headStart = now;
        if (this.framing.requests > requests) {
          this.answered = false;
          this.windowWaitMs = 0;
          this.windowBytes = 0;
        }
        if (this.framing.phase === "body" || before === "body") this.windowBytes += n;
        await writeAll(this.server, buf.subarray(0, n));
      }
      if (!this.#cutting) await this.server.closeWrite();
    } catch {
      if (!this.#cutting) this.close();
    }
    this.#clientEnded.resolve();
  }

  async #fromServer(): Promise<void> {
    const buf = new Uint8Array(BUFFER);
    try {
      for (let n; (n = await this.server.read(buf)) !== null;) {
        this.lastActivity = Date.now();
        this.answered = true;
        await writeAll(this.client, buf.subarray(0, n));
      }
    } catch { /* either side went away */ }
    this.close();
  }

  /** What the guard should do now: nothing, or cut the connection (with an answer for a late head). */
  check(now: number, l: GuardLimits): void {
    const { phase, requests } = this.framing;
    if (
      (phase === "head" || (phase === "between" && requests === 0)) &&
      now - this.headStart > l.headerTimeoutMs
    ) {
      this.cut(reply("408 Request Timeout", `the request head took over ${l.headerTimeoutMs / 1000} s`));
    } else if (phase === "body") {
      const waited = this.windowWaitMs + (this.readingSince === null ? 0 : now - this.readingSince);
      if (waited < l.bodyWindowMs) return;
      if (this.windowBytes < l.bodyMinBytes) this.close();
      this.windowWaitMs = this.readingSince === null ? 0 : -(now - this.readingSince);
      this.windowBytes = 0;
    } else if (phase === "between" && this.answered && now - this.lastActivity > l.idleTimeoutMs) {
      this.close();
    }
  }

  /** Answers (best effort: the client may not be reading) and closes. */
  async cut(answer: Uint8Array): Promise<void> {
    if (this.#closed || this.#cutting) return;
    this.#cutting = true;
    try {
      this.server.close();
    } catch { /* already closed */ }
    await within(1000, async () => {
      await lastAnswer(this.client, answer);
      await this.#clientEnded.promise;
    });
    this.#cutting = false;
    this.close();
  }

  close(): void {
    if (this.#closed || this.#cutting) return;
    this.#closed = true;
    for (const c of [this.client, this.server]) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
  }
}

export class ConnectionGuard {
  readonly #relays = new Set<Relay>();
  readonly #sweep: ReturnType<typeof setInterval>;
  readonly #accepting: Promise<void>;

  /** Listens at once (throws Deno's error when the address cannot be had). */
  constructor(
    private readonly listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>,
    private readonly serverPath: string,
    private readonly limits: GuardLimits = GUARD_DEFAULTS,
  ) {
    const every = Math.max(50, Math.min(limits.headerTimeoutMs, limits.bodyWindowMs) / 4);
    this.#sweep = setInterval(() => {
      const now = Date.now();
      for (const r of this.#relays) r.check(now, limits);
    }, every);
    this.#accepting = this.#accept();
  }

  get addr(): Deno.NetAddr {
    return this.listener.addr;
  }

  get connections(): number {
    return this.#relays.size;
  }

  async #accept(): Promise<void> {
    for (;;) {
      let client: Deno.TcpConn;
      try {
        client = await this.listener.accept();
      } catch (e) {
        if (e instanceof Deno.errors.BadResource) return;
        // Out of file descriptors and the like: wait a little rather than spin.
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (this.#relays.size >= this.limits.connections) {
        this.#refuse(client);
        continue;
      }
      this.#relay(client);
    }
  }

  async #relay(client: Deno.TcpConn): Promise<void> {
    let server: Deno.Conn;
    try {
      server = await Deno.connect({ transport: "unix", path: this.serverPath });
    } catch {
      client.close();
      return;
    }
    const relay = new Relay(client, server);
    this.#relays.add(relay);
    await relay.run();
    this.#relays.delete(relay);
  }

  async #refuse(client: Deno.TcpConn): Promise<void> {
    const answer = reply(
      "503 Service Unavailable",
      `the server has ${this.limits.connections} connections open: try again shortly`,
      "retry-after: 5\r\n",
    );
    await within(1000, async () => {
      await lastAnswer(client, answer);
      const sink = new Uint8Array(BUFFER);
      while (await client.read(sink) !== null);
    });
    try {
      client.close();
    } catch { /* gone */ }
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep);
    this.listener.close();
    await this.#accepting;
    for (const r of this.#relays) r.close();
  }
}
