// Parallel decoding's results made one: the counters and report tables of N decoders that each
// decoded a share of the flows (wasm/ABI.md, "Parallel decoding") add up to one decoder's.
import * as abi from "../decoder/abi.ts";
import type { TopEntry } from "../decoder/records.ts";
import { parseCidr } from "../base/address.ts";

/** Counters every decoder counts whole (every decoder sees every record and interface). */
const SHARED = new Set([abi.ST_RECORDS, abi.ST_INTERFACES]);
const TIMES = [abi.ST_FIRST_SEC, abi.ST_FIRST_NSEC, abi.ST_LAST_SEC, abi.ST_LAST_NSEC];
/** [key, packets, bytes] tables, added key by key: base, slots, when each slot was taken. */
const KEYED: [base: number, slots: number, first: number][] = [
  [abi.ST_LINKTYPE_BASE, 16, abi.ST_LINKTYPE_FIRST_BASE],
  [abi.ST_ETHERTYPE_BASE, 32, abi.ST_ETHERTYPE_FIRST_BASE],
];

/** One decoder's counters from each decoder's (ST_FLOWS_PEAK: the sum of the peaks, an upper bound). */
export function mergeStats(all: Float64Array[]): Float64Array {
  const out = new Float64Array(all[0]);
  for (const s of all.slice(1)) {
    for (let i = 0; i < out.length; i++) if (!SHARED.has(i)) out[i] += s[i];
  }
  mergeTimes(out, all);
  for (const [base, slots, first] of KEYED) mergeKeyed(out, all, base, slots, first);
  return out;
}

function mergeTimes(out: Float64Array, all: Float64Array[]): void {
  const timed = all.filter((s) => s[abi.ST_FIRST_SEC] >= 0);
  const ns = (s: Float64Array, at: number) => s[at] * 1e9 + s[at + 1];
  const first = timed.reduce<Float64Array | null>(
    (best, s) => best && ns(best, abi.ST_FIRST_SEC) <= ns(s, abi.ST_FIRST_SEC) ? best : s,
    null,
  );
  const last = timed.reduce<Float64Array | null>(
    (best, s) => best && ns(best, abi.ST_LAST_SEC) >= ns(s, abi.ST_LAST_SEC) ? best : s,
    null,
  );
  for (const i of TIMES) out[i] = -1;
  if (first && last) {
    out.set(first.subarray(abi.ST_FIRST_SEC, abi.ST_FIRST_NSEC + 1), abi.ST_FIRST_SEC);
    out.set(last.subarray(abi.ST_LAST_SEC, abi.ST_LAST_NSEC + 1), abi.ST_LAST_SEC);
  }
}

/** Keys in the order one decoder takes them (the record that first counted each), counts added. */
function mergeKeyed(
  out: Float64Array,
  all: Float64Array[],
  base: number,
  slots: number,
  first: number,
): void {
  const totals = new Map<number, { first: number; packets: number; bytes: number }>();
  for (const s of all) {
    for (let slot = 0; slot < slots; slot++) {
      const i = base + 3 * slot;
      if (s[i] < 0) continue;
      const t = totals.get(s[i]) ?? { first: Infinity, packets: 0, bytes: 0 };
      t.first = Math.min(t.first, s[first + slot]);
      t.packets += s[i + 1];
      t.bytes += s[i + 2];
      totals.set(s[i], t);
    }
  }
  const keys = [...totals.entries()].sort((a, b) => a[1].first - b[1].first).slice(0, slots);
  for (let slot = 0; slot < slots; slot++) {
    const i = base + 3 * slot, entry = keys[slot];
    out[i] = entry?.[0] ?? -1;
    out[i + 1] = entry?.[1].packets ?? 0;
    out[i + 2] = entry?.[1].bytes ?? 0;
    out[first + slot] = entry?.[1].first ?? 0;
  }
}

/**
 * The top `n` of one report table from each decoder's whole table: entries of the same key
 * added, then sorted as the decoder sorts (bytes, then the whole key: wasm/src/agg.rs).
 */
export function mergeTop(tables: TopEntry[][], n: number): TopEntry[] {
  const byKey = new Map<string, TopEntry>();
  for (const t of tables) {
    for (const e of t) {
      const key = `${e.ipVersion} ${e.a} ${e.b} ${e.ipProto} ${e.port} ${e.app}`;
      const m = byKey.get(key);
      if (!m) {
        byKey.set(key, { ...e });
        continue;
      }
      m.packetsA += e.packetsA;
      m.bytesA += e.bytesA;
      m.packetsB += e.packetsB;
      m.bytesB += e.bytesB;
      m.flows += e.flows;
      if (e.firstSec * 1e9 + e.firstNsec < m.firstSec * 1e9 + m.firstNsec) {
        [m.firstSec, m.firstNsec] = [e.firstSec, e.firstNsec];
      }
      if (e.lastSec * 1e9 + e.lastNsec > m.lastSec * 1e9 + m.lastNsec) {
        [m.lastSec, m.lastNsec] = [e.lastSec, e.lastNsec];
      }
    }
  }
  const keyed = [...byKey.values()].map((e) => ({ e, key: sortKey(e) }));
  keyed.sort((x, y) => (y.e.bytesA + y.e.bytesB) - (x.e.bytesA + x.e.bytesB) || compareBytes(x.key, y.key));
  return keyed.slice(0, n).map((k) => k.e);
}

/** The decoder's key as bytes in its order: address a, address b (services: the app), meta. */
function sortKey(e: TopEntry): Uint8Array {
  const key = new Uint8Array(36);
  const dv = new DataView(key.buffer);
  if (e.table === abi.TOP_SERVICES) {
    key[31] = e.app;
    dv.setUint32(32, (e.port === null ? 2 ** 31 : e.port) + e.ipProto * 65536);
  } else {
    key.set(addressBytes(e.a), 0);
    if (e.table === abi.TOP_PAIRS) key.set(addressBytes(e.b), 16);
    dv.setUint32(32, (e.ipVersion === 6 ? abi.L3_IPV6 : abi.L3_IPV4) * 2 ** 24);
  }
  return key;
}

function addressBytes(text: string): Uint8Array {
  return parseCidr(text)?.bytes ?? new Uint8Array(16);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
