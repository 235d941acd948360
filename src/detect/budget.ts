// One memory budget (`--memory MIB`) for what grows with the traffic: the decoder's flow table and
// the detectors' tables. The process needs a fixed part whatever the capture (runtime, decoder
// buffers, the report's bounded tables); the rest is shared out at costs measured on the worst
// case we know, a flood from random sources where every packet is a new flow and a new entry in
// each per-source table (bench/memory.ts).

/** The default budget: `read --detect` of any capture stays under 300 MiB at its peak. */
export const DEFAULT_MEMORY_MIB = 256;
/**
 * The smallest budget accepted. Below about 200 MiB (with --detect; 120 without) the tables are
 * at their minimum, and the process needs that fixed part whatever the budget says.
 */
export const MIN_MEMORY_MIB = 128;

const MIB = 1 << 20;
/** Resident memory of `read` with (nearly) no flow table: runtime, WASM buffers, report tables. */
const FIXED_BYTES = 104 * MIB;
/**
 * More with --detect, whatever the tables' size: the JS heap's young generation and free pages
 * (V8 runs with a 4 MiB semi-space, the --v8-flags of deno.json's tasks: with V8's default of
 * 16 MiB, the many entries that outlive one young collection made this 160 MiB).
 */
const DETECT_FIXED_BYTES = 72 * MIB;
/** Per flow in the decoder's table (wasm/src/flow.rs: the flow, its index slots, its free slot). */
const FLOW_BYTES = 172;
/**
 * Per entry of `limits.max_entries`, for all the detectors' tables together: the entries of the
 * per-source tables, and the dead ones the JS heap holds until its next full collection.
 */
const ENTRY_BYTES = 6 * 1024;
/**
 * The share of the tables' budget the flows get; the rest goes to the detectors (and is left
 * unused without them: `read` keeps about the footprint it had before the budget).
 */
const FLOW_SHARE = 0.4;
/** The default --max-flows of a budget larger than it needs. */
const MAX_FLOWS_CAP = 4 << 20;
const MAX_ENTRIES_CAP = 1 << 20;

export interface MemoryPlan {
  /** The budget, MiB. */
  memoryMib: number;
  /** Flows the decoder tracks at once (--max-flows). */
  maxFlows: number;
  /** Entries of each detector table (limits.max_entries); 0 without detection. */
  tableEntries: number;
}

/** How `memoryMib` is shared out, with and without the detectors. */
export function planMemory(memoryMib: number, detect: boolean): MemoryPlan {
  const tables = Math.max(0, memoryMib * MIB - FIXED_BYTES - (detect ? DETECT_FIXED_BYTES : 0));
  const flowBytes = tables * FLOW_SHARE;
  return {
    memoryMib,
    maxFlows: Math.min(MAX_FLOWS_CAP, Math.max(1024, Math.floor(flowBytes / FLOW_BYTES))),
    tableEntries: detect
      ? Math.min(MAX_ENTRIES_CAP, Math.max(256, Math.floor((tables - flowBytes) / ENTRY_BYTES)))
      : 0,
  };
}
