// The one bounded map: every per-host, per-pair, per-domain or per-flow table is one of these, so
// memory stays bounded whatever the traffic. Beyond its capacity the least recently used entry
// goes (and is counted: the report shows evictions per table).

interface Entry<K, V> {
  key: K;
  value: V;
  older: Entry<K, V> | null;
  newer: Entry<K, V> | null;
}

/**
 * A map with a recency list beside it. (Deleting and re-adding Map keys to track recency leaves
 * holes that V8 skips on every `keys().next()`: with a million flows the evictions went quadratic.)
 * `get`, `upsert` and `set` make an entry the most recent; `peek` reads without doing so. Without
 * `get` or `set` on existing keys, the order is insertion order (the oldest entry goes first).
 */
export class BoundedTable<V, K extends string | number = string> {
  readonly #map = new Map<K, Entry<K, V>>();
  #oldest: Entry<K, V> | null = null;
  #newest: Entry<K, V> | null = null;
  evictions = 0;

  constructor(readonly name: string, readonly capacity: number) {}

  /** The value for `key`, which becomes the most recent entry. */
  get(key: K): V | undefined {
    const e = this.#map.get(key);
    if (e === undefined) return undefined;
    this.#touch(e);
    return e.value;
  }

  /** The value for `key`, its recency left as it is. */
  peek(key: K): V | undefined {
    return this.#map.get(key)?.value;
  }

  /** The entry for `key`, created by `make` when absent (evicting the least recently used when full). */
  upsert(key: K, make: () => V): V {
    const v = this.get(key);
    if (v !== undefined) return v;
    const value = make();
    this.#insert(key, value);
    return value;
  }

  /**
   * Sets `key` to `value` as the most recent entry; a new key evicts the least recently used when
   * the table is full.
   */
  set(key: K, value: V): void {
    const e = this.#map.get(key);
    if (e === undefined) return this.#insert(key, value);
    e.value = value;
    this.#touch(e);
  }

  /** Removes the least recently used entry (counted as an eviction) and returns it. */
  evictOldest(): [K, V] | undefined {
    const e = this.#oldest;
    if (e === null) return undefined;
    this.delete(e.key);
    this.evictions++;
    return [e.key, e.value];
  }

  delete(key: K): void {
    const e = this.#map.get(key);
    if (e === undefined) return;
    this.#map.delete(key);
    this.#unlink(e);
  }

  /** Values from the least recently used on. */
  *values(): IterableIterator<V> {
    for (let e = this.#oldest; e; e = e.newer) yield e.value;
  }

  /** Entries from the least recently used on. */
  *entries(): IterableIterator<[K, V]> {
    for (let e = this.#oldest; e; e = e.newer) yield [e.key, e.value];
  }

  get size(): number {
    return this.#map.size;
  }

  #insert(key: K, value: V): void {
    if (this.#map.size >= this.capacity) this.evictOldest();
    const e: Entry<K, V> = { key, value, older: null, newer: null };
    this.#map.set(key, e);
    this.#append(e);
  }

  #touch(e: Entry<K, V>): void {
    if (e === this.#newest) return;
    this.#unlink(e);
    this.#append(e);
  }

  #append(e: Entry<K, V>): void {
    e.older = this.#newest;
    e.newer = null;
    if (this.#newest) this.#newest.newer = e;
    else this.#oldest = e;
    this.#newest = e;
  }

  #unlink(e: Entry<K, V>): void {
    if (e.older) e.older.newer = e.newer;
    else this.#oldest = e.newer;
    if (e.newer) e.newer.older = e.older;
    else this.#newest = e.older;
    e.older = e.newer = null;
  }
}
