// The byte buffer packet lines are written into (src/sinks/line_buffer.ts): what it writes reads back
// as the string methods the lines were built with before (padStart, padEnd, trimEnd, UTF-8).
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { LineBuffer } from "../src/sinks/line_buffer.ts";

Deno.test("line buffer: numbers as String(n).padStart, with spaces or zeros", () => {
  const b = new LineBuffer(4);
  const cases: [number, number, boolean][] = [];
  for (const n of [0, 7, 10, 99, 65535, 999_999, 4_294_967_295, 123_456_789_012]) {
    for (const width of [0, 1, 6, 12]) for (const zeros of [false, true]) cases.push([n, width, zeros]);
  }
  for (const [n, width, zeros] of cases) {
    b.digits(n, width, zeros);
    b.byte(0x0a);
  }
  assertEquals(
    b.takeText(),
    cases.map(([n, width, zeros]) => String(n).padStart(width, zeros ? "0" : " ") + "\n").join(""),
  );
});

Deno.test("line buffer: text as UTF-8, padded as String.padEnd counts, trailing spaces trimmed", () => {
  const b = new LineBuffer(8);
  const words = ["TCP", "", "curl(42)", "wéird name(7)", "名前(1)", "emoji 🎉(3)", "x".repeat(5000)];
  for (const w of words) {
    b.padEnd(w, 20);
    b.byte(0x7c);
  }
  b.text("end   ");
  b.trimSpaces(0);
  assertEquals(b.takeText(), words.map((w) => w.padEnd(20) + "|").join("") + "end");
  // After a take the buffer starts again; what was taken no longer shows.
  b.text("again");
  assertEquals(b.takeText(), "again");
});
