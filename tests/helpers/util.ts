// Small helpers shared by the tests.

/** Runs `fn` over `items` with at most `limit` at a time (subprocesses on a small machine). */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The bytes of `parts`, one after another. */
export function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  return concatBytes(parts);
}

/** The bytes of the array `parts`, one after another (`concat` for lists too long to spread). */
export function concatBytes(parts: (Uint8Array | number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
