// A keyed table of counters with a hard size bound. When it fills, the smallest half (by the
// ranking value) is folded into an "other" total, so heavy hitters stay exact while memory stays
// bounded whatever the traffic; `approximate` tells the report when that happened.

export class TopTable<V> {
  readonly #entries = new Map<string, V>();
  #folded = 0;

  constructor(
    private readonly capacity: number,
    private readonly make: () => V,
    private readonly rank: (v: V) => number,
  ) {}

  get(key: string): V {
    let v = this.#entries.get(key);
    if (v === undefined) {
      if (this.#entries.size >= this.capacity) this.#prune();
      v = this.make();
      this.#entries.set(key, v);
    }
    return v;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Keys folded away because the table was full. */
  get folded(): number {
    return this.#folded;
  }

  get approximate(): boolean {
    return this.#folded > 0;
  }

  top(n: number): [string, V][] {
    return [...this.#entries].sort((a, b) => this.rank(b[1]) - this.rank(a[1])).slice(0, n);
  }

  #prune(): void {
    const sorted = [...this.#entries].sort((a, b) => this.rank(a[1]) - this.rank(b[1]));
    const drop = Math.ceil(sorted.length / 2);
    for (let i = 0; i < drop; i++) this.#entries.delete(sorted[i][0]);
    this.#folded += drop;
  }
}
