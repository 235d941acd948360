// Randomness in tests. What a test does (traffic shapes, payloads, names it sends) comes from a
// seeded generator, so a failure replays with the same inputs; only names that must not collide
// with a concurrent test (namespaces, interfaces) come from the system's generator.

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence on every run. */
export class Seeded {
  #state: number;

  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A float in [min, max). */
  between(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  /** `n` characters picked from `alphabet`. */
  string(n: number, alphabet: string): string {
    let s = "";
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
}

/**
 * Letters and digits for a name no concurrent test picks (test modules run in parallel in one
 * process, so the pid alone does not tell them apart). Not test data: never seeded.
 */
export function uniqueId(length = 8): string {
  const abc = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(crypto.getRandomValues(new Uint8Array(length)), (b) => abc[b % abc.length]).join("");
}
