// Where IPFIX messages go: a collector over UDP (a datagram per message) or TCP (messages back to
// back on the stream, RFC 7011 section 10.4). A collector that cannot be reached is said once on
// stderr and the run goes on; TCP tries again, at most every RECONNECT_MS, and starts a new
// transport session (templates first) when it is back.
import dgram from "node:dgram";
import { lookup } from "node:dns/promises";
import net from "node:net";

export interface Collector {
  transport: "udp" | "tcp";
  host: string;
  port: number;
}

/** `HOST:PORT`, `[IPV6]:PORT`, with `udp://` (the default) or `tcp://` in front; null when not one. */
export function parseCollector(text: string): Collector | null {
  const m = /^(?:(udp|tcp):\/\/)?(?:\[([0-9a-fA-F:.]+)\]|([^:/\[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[4]);
  if (port < 1 || port > 65535) return null;
  return { transport: (m[1] as "udp" | "tcp" | undefined) ?? "udp", host: m[2] ?? m[3], port };
}

export const describeCollector = (c: Collector) =>
  `${c.transport}://${c.host.includes(":") ? `[${c.host}]` : c.host}:${c.port}`;

export interface Transport {
  /** Hands one message to the collector (dropped while it cannot be reached). */
  send(message: Uint8Array): void;
  /**
   * Whether a transport session starts now (a TCP connection is opened): the next message must then
   * begin with the templates, and its sequence numbers start again.
   */
  startSession(): boolean;
  /** Resolves once what was sent left (or could not), the socket closed. */
  close(): Promise<void>;
}

/** Says a problem once until the transport works again. */
class Problems {
  #said = false;
  constructor(readonly where: string, readonly warn: (message: string) => void) {}
  say(what: string): void {
    if (this.#said) return;
    this.#said = true;
    this.warn(`IPFIX collector ${this.where}: ${what}; flows are not exported until it answers`);
  }
  fixed(): void {
    if (this.#said) this.warn(`IPFIX collector ${this.where} reachable again`);
    this.#said = false;
  }
}

/**
 * Bytes a transport holds for a collector slower than the capture; beyond it messages are dropped
 * (said once) so memory stays bounded whatever the traffic.
 */
export const MAX_PENDING_BYTES = 16 << 20;

/** Says once that a slow collector made us drop messages. */
function overflowWarning(where: string, warn: (message: string) => void): () => void {
  let said = false;
  return () => {
    if (!said) {
      warn(
        `IPFIX collector ${where} is slower than the traffic: messages beyond ${
          MAX_PENDING_BYTES >> 20
        } MiB waiting are dropped`,
      );
    }
    said = true;
  };
}

const errorText = (e: unknown) => (e as { code?: string }).code ?? (e as Error).message;

export async function openTransport(c: Collector, warn: (message: string) => void): Promise<Transport> {
  const problems = new Problems(describeCollector(c), warn);
  let address: { address: string; family: number };
  try {
    address = await lookup(c.host);
  } catch (e) {
    problems.say(`cannot resolve '${c.host}' (${errorText(e)})`);
    return { send() {}, startSession: () => false, close: () => Promise.resolve() };
  }
  const overflow = overflowWarning(describeCollector(c), warn);
  if (c.transport === "tcp") return new TcpTransport(address.address, c.port, problems, overflow);
  const socket = dgram.createSocket(address.family === 6 ? "udp6" : "udp4");
  // Bound before the first send: sends queued while binding went out in reverse order.
  await new Promise<void>((resolve) => socket.bind(0, () => resolve()));
  return new UdpTransport(socket, address.address, c.port, problems, overflow);
}

class UdpTransport implements Transport {
  /** Messages waiting for the one in flight: one send at a time keeps their order (the templates first). */
  readonly #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #sending = false;
  #drained: (() => void) | null = null;

  constructor(
    readonly socket: dgram.Socket,
    readonly address: string,
    readonly port: number,
    readonly problems: Problems,
    readonly overflow: () => void,
  ) {
    socket.on("error", (e) => problems.say(errorText(e)));
  }

  /** One session for the whole run: the exporter refreshes its templates on a timer instead. */
  startSession(): boolean {
    return false;
  }

  send(message: Uint8Array): void {
    if (this.#queuedBytes + message.length > MAX_PENDING_BYTES) return this.overflow();
    this.#queuedBytes += message.length;
    this.#queue.push(message);
    if (!this.#sending) this.#next();
  }

  #next(): void {
    const message = this.#queue.shift();
    this.#sending = message !== undefined;
    if (!message) return this.#drained?.();
    this.#queuedBytes -= message.length;
    // UDP has no answer: a collector that is not listening cannot be told apart here.
    this.socket.send(message, this.port, this.address, (e) => {
      if (e) this.problems.say(errorText(e));
      else this.problems.fixed();
      this.#next();
    });
  }

  async close(): Promise<void> {
    if (this.#sending) await new Promise<void>((r) => this.#drained = r);
    await new Promise<void>((r) => this.socket.close(() => r()));
  }
}

/** Reconnection attempts at most this often. */
const RECONNECT_MS = 5000;
/** How long close() waits for the collector to take what is queued. */
const CLOSE_WAIT_MS = 5000;

class TcpTransport implements Transport {
  #socket: net.Socket | null = null;
  #lastAttempt = 0;

  constructor(
    readonly address: string,
    readonly port: number,
    readonly problems: Problems,
    readonly overflow: () => void,
  ) {}

  #connect(): net.Socket {
    this.#lastAttempt = Date.now();
    const socket = net.createConnection({ host: this.address, port: this.port });
    socket.setNoDelay(true);
    socket.on("connect", () => this.problems.fixed());
    socket.on("error", (e) => {
      this.problems.say(errorText(e));
      socket.destroy();
    });
    socket.on("close", () => {
      if (this.#socket === socket) this.#socket = null;
    });
    this.#socket = socket;
    return socket;
  }

  startSession(): boolean {
    if (this.#socket || (this.#lastAttempt && Date.now() - this.#lastAttempt < RECONNECT_MS)) return false;
    this.#connect();
    return true;
  }

  send(message: Uint8Array): void {
    // Queued by node until connected; lost with the connection if it fails (as UDP would lose it).
    const socket = this.#socket;
    if (!socket) return;
    if (socket.writableLength + message.length > MAX_PENDING_BYTES) return this.overflow();
    socket.write(message);
  }

  async close(): Promise<void> {
    const socket = this.#socket;
    if (!socket) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
        resolve();
      }, CLOSE_WAIT_MS);
      socket.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.end();
    });
  }
}
