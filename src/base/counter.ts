// Counts per key with a hard size bound: when full, the least counted half is folded away, so
// the top stays exact while memory stays bounded whatever the traffic.

export const COUNTER_CAPACITY = 20000;

export class Counter {
  readonly #counts = new Map<string, number>();
  #folded = 0;

  constructor(private readonly capacity = COUNTER_CAPACITY) {}

  add(key: string, n = 1): void {
    const c = this.#counts.get(key);
    if (c === undefined && this.#counts.size >= this.capacity) this.#prune();
    this.#counts.set(key, (c ?? 0) + n);
  }

  get(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  get size(): number {
    return this.#counts.size;
  }

  /** Keys folded away because the counter was full. */
  get folded(): number {
    return this.#folded;
  }

  /** The `n` keys counted most, most first (ties in key order). */
  top(n: number): [string, number][] {
    return [...this.#counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n);
  }

  entries(): IterableIterator<[string, number]> {
    return this.#counts.entries();
  }

  #prune(): void {
    const sorted = [...this.#counts].sort((a, b) => a[1] - b[1]);
    const drop = Math.ceil(sorted.length / 2);
    for (let i = 0; i < drop; i++) this.#counts.delete(sorted[i][0]);
    this.#folded += drop;
  }
}
