// The one bounded map: every per-host, per-pair, per-domain or per-flow table is one of these, so
// memory stays bounded whatever the traffic. Beyond its capacity the least recently used entry
// goes (and is counted: the report shows evictions per table).

interface Entry<V> {
  key: string;
  value: V;
  older: Entry<V> | null;
  newer: Entry<V> | null;
}

/**
 * A map with a recency list beside it. (Deleting and re-adding Map keys to track recency leaves
 * holes that V8 skips on every `keys().next()`: with a million flows the evictions went quadratic.)
 */
export class BoundedTable<V> {
  readonly #map = new Map<string, Entry<V>>();
  #oldest: Entry<V> | null = null;
  #newest: Entry<V> | null = null;
  evictions = 0;

  constructor(readonly name: string, readonly capacity: number) {}

  get(key: string): V | undefined {
    const e = this.#map.get(key);
    if (e === undefined) return undefined;
    if (e !== this.#newest) {
      this.#unlink(e);
      this.#append(e);
    }
    return e.value;
  }

  /** The value for `key` without making it the most recently used. */
  peek(key: string): V | undefined {
    return this.#map.get(key)?.value;
  }

  /** The entry for `key`, created by `make` when absent (evicting the least recently used when full). */
  upsert(key: string, make: () => V): V {
    const v = this.get(key);
    if (v !== undefined) return v;
    if (this.#map.size >= this.capacity && this.#oldest) {
      this.delete(this.#oldest.key);
      this.evictions++;
    }
    const e: Entry<V> = { key, value: make(), older: null, newer: null };
    this.#map.set(key, e);
    this.#append(e);
    return e.value;
  }

  /** Sets `key` to `value`, as the most recently used (evicting the least recently used when full). */
  set(key: string, value: V): void {
    const e = this.#map.get(key);
    if (e === undefined) this.upsert(key, () => value);
    else {
      e.value = value;
      this.get(key);
    }
  }

  delete(key: string): void {
    const e = this.#map.get(key);
    if (e === undefined) return;
    this.#map.delete(key);
    this.#unlink(e);
  }

  /** Values from the least recently used on. */
  *values(): IterableIterator<V> {
    for (let e = this.#oldest; e; e = e.newer) yield e.value;
  }

  *entries(): IterableIterator<[string, V]> {
    for (let e = this.#oldest; e; e = e.newer) yield [e.key, e.value];
  }

  get size(): number {
    return this.#map.size;
  }

  #append(e: Entry<V>): void {
    e.older = this.#newest;
    e.newer = null;
    if (this.#newest) this.#newest.newer = e;
    else this.#oldest = e;
    this.#newest = e;
  }

  #unlink(e: Entry<V>): void {
    if (e.older) e.older.newer = e.newer;
    else this.#oldest = e.newer;
    if (e.newer) e.newer.older = e.older;
    else this.#newest = e.older;
    e.older = e.newer = null;
  }
}
