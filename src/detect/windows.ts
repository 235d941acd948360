// Distinct values and event counts per window of capture time, for the rate and scan detectors.

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

  /** The first `n` values (the evidence's sample), without copying the whole set. */
  sample(n: number): (string | number)[] {
    const out: (string | number)[] = [];
    for (const v of this.values) {
      if (out.length === n) break;
      out.push(v);
    }
    return out;
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
