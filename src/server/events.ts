// Server-sent events to the pages: each subscriber keeps only the newest event per key, so a
// slow page gets fewer, fresher updates instead of a growing queue.

export interface HubEvent {
  event: string;
  data: unknown;
}

export class Subscriber {
  readonly #pending = new Map<string, HubEvent>();
  #wake: (() => void) | null = null;
  closed = false;

  offer(key: string, e: HubEvent): void {
    this.#pending.delete(key);
    this.#pending.set(key, e);
    this.#wake?.();
  }

  /** The events waiting (oldest key first), after waiting up to `timeoutMs` for one. */
  async take(timeoutMs: number): Promise<HubEvent[]> {
    if (!this.#pending.size && !this.closed) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.#wake = null;
    }
    const out = [...this.#pending.values()];
    this.#pending.clear();
    return out;
  }

  close(): void {
    this.closed = true;
    this.#wake?.();
  }
}

export class EventHub {
  readonly #subscribers = new Set<Subscriber>();

  /** Sends `event` to every page; a newer event with the same key replaces one not yet sent. */
  publish(event: string, data: unknown, key = event): void {
    for (const s of this.#subscribers) s.offer(key, { event, data });
  }

  subscribe(): Subscriber {
    const s = new Subscriber();
    this.#subscribers.add(s);
    return s;
  }

  unsubscribe(s: Subscriber): void {
    s.close();
    this.#subscribers.delete(s);
  }

  get size(): number {
    return this.#subscribers.size;
  }

  closeAll(): void {
    for (const s of this.#subscribers) this.unsubscribe(s);
  }
}
