// A text file read by lines at byte offsets, in 4 KiB blocks read when first touched and kept
// (at most the file itself): a binary search over a sorted 21 MB table touches a few dozen blocks
// per new address, where reading the whole file cost ~0.17 s of CPU before the first answer.

const BLOCK = 4096;
const NEWLINE = 10;

export class LinesFile {
  readonly #blocks = new Map<number, Uint8Array>();

  private constructor(private readonly file: Deno.FsFile, readonly size: number, readonly path: string) {}

  static open(path: string): LinesFile {
    const file = Deno.openSync(path);
    try {
      return new LinesFile(file, file.statSync().size, path);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** The offset where the line holding byte POS starts. */
  lineStart(pos: number): number {
    for (let b = Math.floor((pos - 1) / BLOCK); b >= 0 && pos > 0; b--) {
      const block = this.#block(b);
      const from = Math.min(pos - 1 - b * BLOCK, block.length - 1);
      const nl = block.lastIndexOf(NEWLINE, from);
      if (nl >= 0) return b * BLOCK + nl + 1;
    }
    return 0;
  }

  /** The line starting at START, without its line end (LF or CRLF), and where the next one starts. */
  line(start: number): { text: Uint8Array; next: number } {
    const parts: Uint8Array[] = [];
    for (let b = Math.floor(start / BLOCK); b * BLOCK < this.size; b++) {
      const block = this.#block(b);
      const from = Math.max(0, start - b * BLOCK);
      const nl = block.indexOf(NEWLINE, from);
      parts.push(block.subarray(from, nl < 0 ? block.length : nl));
      if (nl >= 0) return { text: trimCr(concat(parts)), next: b * BLOCK + nl + 1 };
    }
    return { text: trimCr(concat(parts)), next: this.size };
  }

  #block(b: number): Uint8Array {
    let block = this.#blocks.get(b);
    if (block) return block;
    const buf = new Uint8Array(Math.min(BLOCK, this.size - b * BLOCK));
    this.file.seekSync(b * BLOCK, Deno.SeekMode.Start);
    for (let off = 0; off < buf.length;) {
      const n = this.file.readSync(buf.subarray(off));
      if (n === null) throw new Error(`${this.path}: shorter than it was (${b * BLOCK + off} bytes)`);
      off += n;
    }
    this.#blocks.set(b, block = buf);
    return block;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function trimCr(text: Uint8Array): Uint8Array {
  return text.length && text[text.length - 1] === 13 ? text.subarray(0, -1) : text;
}
