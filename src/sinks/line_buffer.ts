// Packet lines are written as bytes into one buffer per batch and go out in one write: building a
// string per line (joins, pads, number-to-string) and encoding them all again cost more than the
// decoding itself at live rates.

const SPACE = 0x20;
const ZERO = 0x30;
const enc = new TextEncoder();
const dec = new TextDecoder();

export class LineBuffer {
  #buf: Uint8Array;
  #used = 0;

  constructor(initial = 1 << 16) {
    this.#buf = new Uint8Array(initial);
  }

  get length(): number {
    return this.#used;
  }

  /** Room for `n` more bytes (the buffer doubles: a batch's lines fit after a few batches). */
  #room(n: number): Uint8Array {
    if (this.#used + n > this.#buf.length) {
      const grown = new Uint8Array(Math.max(this.#buf.length * 2, this.#used + n));
      grown.set(this.#buf.subarray(0, this.#used));
      this.#buf = grown;
    }
    return this.#buf;
  }

  byte(b: number): void {
    this.#room(1)[this.#used++] = b;
  }

  bytes(b: Uint8Array): void {
    this.#room(b.length).set(b, this.#used);
    this.#used += b.length;
  }

  /** `s` as UTF-8 (ASCII byte by byte, which most of a line is). */
  text(s: string): void {
    const buf = this.#room(s.length * 3);
    let o = this.#used;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        o += enc.encodeInto(s.slice(i), buf.subarray(o)).written;
        break;
      }
      buf[o++] = c;
    }
    this.#used = o;
  }

  /** `s`, then spaces up to `width` characters (String.padEnd's count: UTF-16 units). */
  padEnd(s: string, width: number): void {
    this.text(s);
    this.spaces(width - s.length);
  }

  spaces(n: number): void {
    if (n <= 0) return;
    const buf = this.#room(n);
    buf.fill(SPACE, this.#used, this.#used + n);
    this.#used += n;
  }

  /** A non-negative integer in decimal, right-aligned in `width` (spaces, or zeros with `zeros`). */
  digits(n: number, width = 0, zeros = false): void {
    let len = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) len++;
    const pad = width > len ? width - len : 0;
    const buf = this.#room(pad + len);
    buf.fill(zeros ? ZERO : SPACE, this.#used, this.#used + pad);
    let o = this.#used + pad + len;
    this.#used = o;
    for (let t = n; o > this.#used - len; t = Math.floor(t / 10)) buf[--o] = ZERO + (t % 10);
  }

  /**
   * For a writer filling bytes itself: the buffer with room for `n` more from `length` on;
   * `close(end)` then keeps what it wrote up to `end`.
   */
  open(n: number): Uint8Array {
    return this.#room(n);
  }

  close(end: number): void {
    this.#used = end;
  }

  /** Drops trailing spaces back to `from` at most (a line's empty last columns). */
  trimSpaces(from: number): void {
    while (this.#used > from && this.#buf[this.#used - 1] === SPACE) this.#used--;
  }

  /**
   * The bytes written since the last take, and the buffer starts again: the view is only valid
   * until the next write, so it goes out (or is copied) first.
   */
  take(): Uint8Array {
    const out = this.#buf.subarray(0, this.#used);
    this.#used = 0;
    return out;
  }

  /** What was written since the last take, as text (the buffer starts again). */
  takeText(): string {
    return dec.decode(this.take());
  }
}
