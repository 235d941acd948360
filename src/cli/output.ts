// Writes to stdout; a reader that went away (`| head`) ends the output quietly.
const enc = new TextEncoder();

export async function writeOut(text: string): Promise<void> {
  const bytes = enc.encode(text);
  try {
    for (let off = 0; off < bytes.length;) off += await Deno.stdout.write(bytes.subarray(off));
  } catch (e) {
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
  }
}
