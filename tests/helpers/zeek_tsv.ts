// Zeek's ASCII logs (TSV under a '#fields' header), as rows of field -> cell text.

export type ZeekRow = Record<string, string>;

export function zeekTsvRows(text: string): ZeekRow[] {
  let fields: string[] = [];
  const rows: ZeekRow[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#fields\t")) fields = line.split("\t").slice(1);
    else if (line && !line.startsWith("#")) {
      const cells = line.split("\t");
      rows.push(Object.fromEntries(fields.map((f, i) => [f, cells[i]])));
    }
  }
  return rows;
}
