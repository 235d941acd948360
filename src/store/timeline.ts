// Traffic over time in a bounded number of buckets: they start one second wide and double in
// width whenever there would be more than `maxPoints`, so a minute and a week of traffic both
// give a chart of at most that many points.
import type { TimelinePoint } from "./types.ts";

export class Timeline {
  #width = 1;
  #buckets = new Map<number, { packets: number; bytes: number }>();

  constructor(private readonly maxPoints = 600) {}

  add(epochSeconds: number, bytes: number, packets = 1): void {
    if (!Number.isFinite(epochSeconds)) return;
    const t = Math.floor(epochSeconds / this.#width) * this.#width;
    let b = this.#buckets.get(t);
    if (!b) {
      b = { packets: 0, bytes: 0 };
      this.#buckets.set(t, b);
    }
    b.packets += packets;
    b.bytes += bytes;
    while (this.#buckets.size > this.maxPoints) this.#coarsen();
  }

  #coarsen(): void {
    this.#width *= 2;
    const old = this.#buckets;
    this.#buckets = new Map();
    for (const [t, b] of old) {
      const nt = Math.floor(t / this.#width) * this.#width;
      const n = this.#buckets.get(nt);
      if (n) {
        n.packets += b.packets;
        n.bytes += b.bytes;
      } else this.#buckets.set(nt, { ...b });
    }
  }

  get width(): number {
    return this.#width;
  }

  points(): TimelinePoint[] {
    return [...this.#buckets].sort((a, b) => a[0] - b[0]).map(([t, b]) => ({
      t,
      width_s: this.#width,
      packets: b.packets,
      bytes: b.bytes,
    }));
  }
}
