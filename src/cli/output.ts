// Writes to stdout/stderr; a reader that went away (`| head`) ends the output quietly.
const enc = new TextEncoder();

/** False when the reader went away. */
async function write(stream: typeof Deno.stdout, text: string): Promise<boolean> {
  const bytes = enc.encode(text);
  try {
    for (let off = 0; off < bytes.length;) off += await stream.write(bytes.subarray(off));
    return true;
  } catch (e) {
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
    return false;
  }
}

export function writeOut(text: string): Promise<boolean> {
  return write(Deno.stdout, text);
}

export function writeErr(text: string): Promise<boolean> {
  return write(Deno.stderr, text);
}
