// Writes to stdout/stderr; a reader that went away (`| head`) ends the output quietly.
const enc = new TextEncoder();

async function write(stream: typeof Deno.stdout, text: string): Promise<void> {
  const bytes = enc.encode(text);
  try {
    for (let off = 0; off < bytes.length;) off += await stream.write(bytes.subarray(off));
  } catch (e) {
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
  }
}

export function writeOut(text: string): Promise<void> {
  return write(Deno.stdout, text);
}

export function writeErr(text: string): Promise<void> {
  return write(Deno.stderr, text);
}
