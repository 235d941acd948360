// Rows of exports and stored records: flat, the same columns in JSON, NDJSON, CSV and SQL.

export type Row = Record<string, string | number | boolean | null>;

/** Epoch seconds with nanoseconds, as a decimal string (a number would lose the nanoseconds). */
export function epochText(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, "0")}`;
}
