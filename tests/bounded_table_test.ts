// BoundedTable, the one bounded map (src/base/bounded_table.ts): which entry goes when it is full,
// and that evicting costs the same few Map operations whatever the table's size (a Map used as its
// own recency list went quadratic: V8 skips the holes deletions leave on every `keys().next()`).
// The same check in time is tests/live/bounded_table_scaling_test.ts.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { BoundedTable } from "../src/base/bounded_table.ts";

const keys = <V, K extends string | number>(t: BoundedTable<V, K>) => [...t.entries()].map(([k]) => k);

Deno.test("bounded table: get, upsert and set refresh an entry, peek does not; the least recent goes", () => {
  const t = new BoundedTable<number>("t", 3);
  for (const k of ["a", "b", "c"]) t.set(k, k.charCodeAt(0));
  assertEquals(keys(t), ["a", "b", "c"]);
  assertEquals(t.peek("a"), 97);
  assertEquals(keys(t), ["a", "b", "c"], "peek leaves the order");
  t.set("d", 100);
  assertEquals([keys(t), t.evictions, t.peek("a")], [["b", "c", "d"], 1, undefined], "a was the oldest");
  assertEquals(t.get("b"), 98);
  assertEquals(keys(t), ["c", "d", "b"], "get makes b the most recent");
  t.set("c", 0);
  assertEquals([...t.entries()], [["d", 100], ["b", 98], ["c", 0]], "set on a key updates and refreshes it");
  assertEquals(t.evictions, 1, "no eviction for a key already there");
  assertEquals(t.upsert("d", () => -1), 100, "upsert returns what is there");
  assertEquals(keys(t), ["b", "c", "d"]);
  assertEquals(t.upsert("e", () => 101), 101);
  assertEquals([keys(t), t.evictions], [["c", "d", "e"], 2]);
  assertEquals(t.evictOldest(), ["c", 0]);
  assertEquals([keys(t), t.size, t.evictions], [["d", "e"], 2, 3]);
  t.delete("e");
  t.delete("missing");
  assertEquals([[...t.values()], t.size, t.evictions], [[100], 1, 3], "delete is not an eviction");
  t.delete("d");
  assertEquals([t.evictOldest(), t.size, [...t.entries()]], [undefined, 0, []]);
  t.set("f", 1);
  assertEquals([...t.entries()], [["f", 1]], "usable again once empty");
});

Deno.test("bounded table: without refreshes it is a FIFO of insertions; number keys", () => {
  const t = new BoundedTable<string, number>("fifo", 4);
  for (let i = 0; i < 10; i++) {
    if (t.peek(i % 3) === undefined) t.set(i % 3, `first ${i}`);
    t.set(100 + i, `v${i}`);
  }
  // The same as a Map that drops its first key when a new one does not fit.
  const m = new Map<number, string>();
  for (let i = 0; i < 10; i++) {
    for (const [k, v] of [[i % 3, `first ${i}`], [100 + i, `v${i}`]] as const) {
      if (k < 100 && m.has(k)) continue;
      if (m.size >= 4) m.delete(m.keys().next().value!);
      m.set(k, v);
    }
  }
  assertEquals([...t.entries()], [...m.entries()]);
  assertEquals(t.evictions, 16);
});

Deno.test("bounded table: an eviction from a full table of 1e6 costs what it costs in one of 1e4", () => {
  // Counts the Map operations the table makes, and any walk over the Map (what V8 makes slow).
  const calls = { get: 0, set: 0, delete: 0, walk: 0 };
  const proto = Map.prototype as unknown as Record<string | symbol, (...a: unknown[]) => unknown>;
  // Not a Map: restoring must not count.
  const saved: [string | symbol, (...a: unknown[]) => unknown][] = [];
  const spy = (name: string | symbol, count: () => void) => {
    const original = proto[name];
    saved.push([name, original]);
    proto[name] = function (this: unknown, ...a: unknown[]) {
      count();
      return original.apply(this, a);
    };
  };
  const measure = (capacity: number) => {
    const t = new BoundedTable<number>("big", capacity);
    for (let i = 0; i < capacity; i++) t.set(`k${i}`, i);
    const ops = 10_000;
    for (const k of Object.keys(calls) as (keyof typeof calls)[]) calls[k] = 0;
    spy("get", () => calls.get++);
    spy("set", () => calls.set++);
    spy("delete", () => calls.delete++);
    for (const name of ["keys", "values", "entries", "forEach", Symbol.iterator]) {
      spy(name, () => calls.walk++);
    }
    try {
      // New keys (each evicts the oldest), refreshes of recent ones, deletions: the holes a Map
      // used as a recency list would leave.
      for (let i = capacity; i < capacity + ops; i++) {
        t.set(`k${i}`, i);
        t.get(`k${i - 3}`);
        t.upsert(`k${i - 5}`, () => 0);
        if (i % 4 === 0) t.delete(`k${i - 1}`);
      }
    } finally {
      for (const [name, original] of saved) proto[name] = original;
      saved.length = 0;
    }
    assertEquals(t.size, capacity, "full again at the end");
    return { ...calls, evictions: t.evictions };
  };
  const small = measure(10_000);
  const big = measure(1_000_000);
  assertEquals(big, small, "the same Map operations for the same work, whatever the size");
  assert(big.get >= 10_000 && big.set >= 10_000 && big.delete >= 10_000, `counted: ${JSON.stringify(big)}`);
  assertEquals(big.walk, 0, "evicting never walks the Map");
  assert(big.evictions > 5_000, `evictions: ${big.evictions}`);
});
