// count() groups integers by hand (Intl is slow and a report calls it dozens of times); its text
// must stay what Intl's en-US grouping gives, the oracle here, for every kind of number.
import { strictEqual } from "node:assert/strict";
import { count } from "../src/base/format.ts";
import { Seeded } from "./helpers/random.ts";

Deno.test("count() writes every number as Intl's en-US grouping does", () => {
  const r = new Seeded(14);
  const values = [0, -0, 0.4, -0.4, 0.5, -0.5, 999.5, -999.6, 1000, 2 ** 53 - 1, 2 ** 53, 1e21, -1e22, NaN];
  values.push(Infinity, -Infinity);
  for (let i = 0; i < 2000; i++) values.push((r.next() - 0.5) * 10 ** r.int(18));
  for (const v of values) strictEqual(count(v), Math.round(v).toLocaleString("en-US"), `count(${v})`);
});
