// Cells that a spreadsheet would run as a formula. Capture text is the attacker's: a User-Agent
// `=cmd|' /C calc'!A0` must reach Excel or LibreOffice as text. OWASP's "CSV Injection" advice:
// a cell starting with = + - @, tab or carriage return gets a single quote in front and is
// quoted; a plain number (-1, +0.5, -1e3) is left as it is.

const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Whether a spreadsheet opening TEXT as a cell could take it for a formula. */
export function startsFormula(text: string): boolean {
  return FORMULA_START.test(text) && !PLAIN_NUMBER.test(text);
}

/** csv-stringify's cast for strings: formula text neutralised, everything else as it is. */
export function castCsvString(text: string): string | { value: string; quoted: true } {
  return startsFormula(text) ? { value: "'" + text, quoted: true } : text;
}
