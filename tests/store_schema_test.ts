// The store's schema against the exports: every flow export column has a migration that made it,
// with the export's type; released migrations never change (a new column is a new migration);
// addColumns writes the ALTER TABLEs. Upgrading a real database is in the store contract
// (tests/helpers/store_contract.ts, run on SQLite and PostgreSQL).
import assert from "node:assert/strict";
import { type Column, describe, type RowSchema } from "../src/base/columns.ts";
import { FLOW_ROWS, type FlowView } from "../src/sinks/rows.ts";
import {
  addColumns,
  type Migration,
  MIGRATIONS,
  POSTGRES,
  SQLITE,
  type TableColumns,
  tableColumns,
} from "../src/store/schema.ts";
import { storedFlowColumns } from "../src/store/sql_store.ts";

/** What keeps SCHEMA's rows from being stored whole in TABLE: columns missing, or of another type. */
function problems<T>(schema: RowSchema<T>, table: TableColumns): string[] {
  return schema.columns.flatMap((c) =>
    !(c.name in table)
      ? [`no migration creates the column '${c.name}' (${c.type})`]
      : table[c.name] !== c.type
      ? [`'${c.name}' is ${c.type} in the export but ${table[c.name]} in the store`]
      : []
  );
}

Deno.test("every flow export column is stored: a migration made it, with the export's type", () => {
  assert.deepEqual(
    problems(FLOW_ROWS, tableColumns("flows")),
    [],
    "add a migration: addColumns(<next version>, '...', { flows: { <column>: <type> } })",
  );
  assert.deepEqual(storedFlowColumns(), FLOW_ROWS.names);
});

Deno.test("a flow column added to the export without a migration is caught; addColumns brings it in", () => {
  const extra: Column<FlowView> = { name: "test_count", type: "integer", get: () => null };
  const grown = describe([...FLOW_ROWS.columns, extra]);
  assert.deepEqual(problems(grown, tableColumns("flows")), [
    "no migration creates the column 'test_count' (integer)",
  ]);
  const next = Math.max(...MIGRATIONS.map((m) => m.version)) + 1;
  const added = addColumns(next, "test: a count", { flows: { test_count: "integer" } });
  assert.deepEqual(problems(grown, tableColumns("flows", [...MIGRATIONS, added])), []);
  const wrong = addColumns(next, "test: wrong type", { flows: { test_count: "text" } });
  assert.deepEqual(problems(grown, tableColumns("flows", [...MIGRATIONS, wrong])), [
    "'test_count' is integer in the export but text in the store",
  ]);
  assert.deepEqual(added.statements(SQLITE), ['ALTER TABLE flows ADD COLUMN "test_count" INTEGER']);
  assert.deepEqual(added.statements(POSTGRES), ['ALTER TABLE flows ADD COLUMN "test_count" BIGINT']);
});

/**
 * SHA-256 of each released migration's statements, per dialect. Databases have run them: they
 * must not change (a new column comes in a new migration). Add a migration's line once released.
 */
const RELEASED: Record<number, Record<string, string>> = {
  1: {
    sqlite: "c7ca92f3ee06e8ff12ed6d70dd86ca09f716c14fb0815e28133c2c6f7c1758f8",
    postgres: "80ed65b149900c84e0aefc819969d7e9d921b1c6b21b677b988631eb85ff406b",
  },
  2: {
    sqlite: "4c2887e0ffb391e3220177115426845b73263efb2c12e98f10e477b21fbe4b26",
    postgres: "8cad16475c13801ea213ca2eccb4497b247543591183cd47bd661a5f30313fca",
  },
};

async function sha256(text: string): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(h, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("released migrations are what databases ran: their statements never change", async () => {
  for (const [version, hashes] of Object.entries(RELEASED)) {
    const m: Migration | undefined = MIGRATIONS.find((m) => m.version === Number(version));
    assert.ok(m, `migration ${version} is gone`);
    for (const d of [SQLITE, POSTGRES]) {
      assert.equal(
        await sha256(m.statements(d).join(";\n")),
        hashes[d.name],
        `migration ${version} (${d.name}) changed: add a new migration instead`,
      );
    }
  }
  const versions = MIGRATIONS.map((m) => m.version);
  assert.deepEqual(versions, [...new Set(versions)].sort((a, b) => a - b), "versions ascend, once each");
});
