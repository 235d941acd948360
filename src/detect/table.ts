// Bounded state for detectors: every per-host, per-pair or per-domain table is one of these, so
// memory stays bounded whatever the traffic. Beyond its capacity the least recently used entry
// goes (and is counted: the report shows evictions per table).

export class BoundedTable<V> {
  readonly #map = new Map<string, V>();
  evictions = 0;

  constructor(readonly name: string, readonly capacity: number) {}

  get(key: string): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) {
      // Most recently used last: Map keeps insertion order.
      this.#map.delete(key);
      this.#map.set(key, v);
    }
    return v;
  }

  /** The entry for `key`, created by `make` when absent (evicting the oldest when full). */
  upsert(key: string, make: () => V): V {
    const v = this.get(key);
    if (v !== undefined) return v;
    if (this.#map.size >= this.capacity) {
      this.#map.delete(this.#map.keys().next().value!);
      this.evictions++;
    }
    const fresh = make();
    this.#map.set(key, fresh);
    return fresh;
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  values(): IterableIterator<V> {
    return this.#map.values();
  }

  entries(): IterableIterator<[string, V]> {
    return this.#map.entries();
  }

  get size(): number {
    return this.#map.size;
  }
}

/**
 * Distinct values seen for one subject within a window of capture time: the window starts at
 * the first value and restarts once it is over. The set stops growing at `cap` (the count the
 * detectors compare with their thresholds is then a lower bound, which is all they need).
 */
export class WindowedSet {
  start: number;
  readonly values = new Set<string | number>();

  constructor(ts: number, private readonly cap: number) {
    this.start = ts;
  }

  /** Adds `v` at time `ts`; returns the distinct count in the current window. */
  add(v: string | number, ts: number, windowS: number): number {
    if (ts - this.start > windowS) {
      this.start = ts;
      this.values.clear();
    }
    if (this.values.size < this.cap) this.values.add(v);
    return this.values.size;
  }
}

/** Events counted within a window of capture time (restarting like WindowedSet). */
export class WindowedCount {
  start: number;
  count = 0;

  constructor(ts: number) {
    this.start = ts;
  }

  add(ts: number, windowS: number): number {
    if (ts - this.start > windowS) {
      this.start = ts;
      this.count = 0;
    }
    return ++this.count;
  }
}
