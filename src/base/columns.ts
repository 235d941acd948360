// Rows of exports and stored records: flat, the same columns in JSON, NDJSON, CSV and SQL. Each
// export describes its columns once (name, type, getter); its rows, its CSV header and its
// stored table's columns all come from that description.

export type Cell = string | number | boolean | number[] | null;
export type Row = Record<string, Cell>;

/**
 * What a column holds (besides null): its JSON type, and its SQL type in the store. "integers" is
 * a list: an array in JSON, its numbers joined by spaces in CSV, JSON text in the store.
 */
export type ColumnType = "text" | "integer" | "real" | "boolean" | "integers";

interface CellOf {
  text: string;
  integer: number;
  real: number;
  boolean: boolean;
  integers: number[];
}

/**
 * One column of an export: its name, its type and how it is read from the export's input (`get`
 * is called on its own, without `this`).
 */
export type Column<T, K extends ColumnType = ColumnType> = K extends ColumnType ? {
    readonly name: string;
    readonly type: K;
    get(x: T): CellOf[K] | null;
    /**
     * The cell's richer form in JSON and NDJSON exports (arrays of objects); CSV, the store and
     * the web keep `get`'s flat cell.
     */
    json?(x: T): unknown;
  }
  : never;

/** An export's columns, and its rows made from them. */
export interface RowSchema<T> {
  readonly columns: readonly Column<T>[];
  /** The column names in order (the CSV header, the keys of each row). */
  readonly names: readonly string[];
  /** A row: an object whose keys are the column names, in order. */
  readonly row: (x: T) => Row;
  /** A row's values, in column order. */
  readonly values: (x: T) => Cell[];
  /** The row of JSON and NDJSON exports: `row` with the columns' `json` forms where they have one. */
  readonly jsonRow: (x: T) => Record<string, unknown>;
}

/**
 * Builds the row makers of COLUMNS. They run per packet, so they are compiled once into one
 * object (or array) literal calling each getter: V8 gives such a literal one fixed shape, which a
 * loop of keyed stores would not.
 */
export function describe<T>(columns: readonly Column<T>[]): RowSchema<T> {
  const names = columns.map((c) => c.name);
  const seen = new Set<string>();
  for (const name of names) {
    // An integer-like key would be moved first in every row; a repeated one would collapse.
    if (!/^[a-z_][a-z0-9_]*$/.test(name) || name === "__proto__") {
      throw new RangeError(`bad column name '${name}'`);
    }
    if (seen.has(name)) throw new RangeError(`column '${name}' named twice`);
    seen.add(name);
  }
  const getters = columns.map((c) => c.get);
  const calls = names.map((_, i) => `g[${i}](x)`);
  const compile = (body: string, g: readonly ((x: T) => unknown)[] = getters) =>
    new Function("g", `return (x) => (${body});`)(g);
  const row = compile(`{ ${names.map((n, i) => `${n}: ${calls[i]}`).join(", ")} }`);
  return {
    columns,
    names,
    row,
    values: compile(`[${calls.join(", ")}]`),
    jsonRow: columns.some((c) => c.json)
      ? compile(
        `{ ${names.map((n, i) => `${n}: ${calls[i]}`).join(", ")} }`,
        columns.map((c) => c.json ?? c.get),
      )
      : row,
  };
}

/** COLUMNS read from what F finds in the input (e.g. an event's parsed message). */
export function via<T, U>(f: (x: T) => U, columns: readonly Column<U>[]): Column<T>[] {
  return columns.map((c) => {
    const json = c.json;
    return { ...c, get: (x: T) => c.get(f(x)), ...(json && { json: (x: T) => json(f(x)) }) } as Column<T>;
  });
}

/** Epoch seconds with nanoseconds, as a decimal string (a number would lose the nanoseconds). */
export function epochText(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, "0")}`;
}
