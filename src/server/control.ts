// Starting and stopping the server's live capture (one at a time) from the page or the API.
import { CaptureError } from "../../ffi/libpcap.ts";
import { type CaptureInterface, captureInterfaces } from "../source/live.ts";
import { type LiveDeps, LiveSession, type LiveStart } from "./live.ts";

export interface CaptureStatus {
  /** Whether this server may capture at all (off with --no-capture). */
  enabled: boolean;
  /** Whether it runs with the privileges capture needs (root; else starting will say what is missing). */
  privileged: boolean;
  running: boolean;
  session: number | null;
  interface: string | null;
  /** Why starting the last capture failed, if it did. */
  error: string | null;
}

export class CaptureControl {
  #current: LiveSession | null = null;
  #error: string | null = null;

  constructor(private readonly deps: LiveDeps, readonly enabled: boolean) {}

  get current(): LiveSession | null {
    return this.#current;
  }

  status(): CaptureStatus {
    const c = this.#current;
    return {
      enabled: this.enabled,
      privileged: Deno.uid?.() === 0,
      running: c?.running ?? false,
      session: c?.id ?? null,
      interface: c?.device ?? null,
      error: this.#error,
    };
  }

  interfaces(): CaptureInterface[] {
    try {
      return captureInterfaces();
    } catch {
      return [];
    }
  }

  /** Starts a capture; throws CaptureError (with what to do) when it cannot. */
  async start(opts: LiveStart): Promise<LiveSession> {
    if (!this.enabled) {
      throw new CaptureError("capture from the web view is off (wiresight serve --no-capture)", true);
    }
    if (this.#current?.running) {
      throw new CaptureError(`a capture is already running on ${this.#current.device}: stop it first`, true);
    }
    try {
      this.#current = await LiveSession.start(opts, this.deps);
      this.#error = null;
    } catch (e) {
      this.#error = (e as Error).message;
      throw e;
    }
    this.deps.hub.publish("capture", this.status());
    this.deps.hub.publish("sessions", { changed: this.#current.id });
    this.#current.done.finally(() => this.deps.hub.publish("capture", this.status())).catch(() => {});
    return this.#current;
  }

  /** Stops the running capture and waits until its session is stored. */
  async stop(): Promise<LiveSession | null> {
    const c = this.#current;
    if (!c?.running) return null;
    c.stop();
    await c.done.catch(() => {});
    return c;
  }
}
