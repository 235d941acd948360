// BoundedTable in time: as many evictions as entries cost ten times more in a table ten times
// larger, not a hundred (a Map used as its own recency list did: V8 skips the holes deletions leave
// on every `keys().next()`, so each eviction walked more of them). A complexity check with a
// generous margin, not a benchmark; here because it times (tests/bounded_table_test.ts counts).
import { ok as assert } from "node:assert/strict";
import { BoundedTable } from "../../src/base/bounded_table.ts";

/** Seconds for `capacity` new keys (each evicting) and refreshes into a full table of `capacity`. */
function churn(capacity: number): number {
  const t = new BoundedTable<number>("churn", capacity);
  for (let i = 0; i < capacity; i++) t.set(`k${i}`, i);
  const start = performance.now();
  for (let i = capacity; i < 2 * capacity; i++) {
    t.set(`k${i}`, i);
    // Refresh a recent key: delete-and-reinsert in a plain Map, a hole.
    t.get(`k${i - (i % 7) - 1}`);
  }
  const seconds = (performance.now() - start) / 1000;
  assert(t.size === capacity && t.evictions === capacity, `${t.size} entries, ${t.evictions} evictions`);
  return seconds;
}

Deno.test("bounded table: evicting through a full table of 1e6 entries stays linear", () => {
  // The best of a few runs: a busy machine only ever makes one slower.
  const best = (capacity: number, runs: number) =>
    Math.min(...Array.from({ length: runs }, () => churn(capacity)));
  const small = best(100_000, 3);
  const big = best(1_000_000, 2);
  const ratio = big / small;
  console.log(`1e5: ${small.toFixed(2)} s, 1e6: ${big.toFixed(2)} s, ratio ${ratio.toFixed(1)} (linear: 10)`);
  // Linear is about 10 (more with cache misses); the quadratic Map was about 100.
  assert(ratio < 35, `10x the entries took ${ratio.toFixed(1)}x the time`);
});
