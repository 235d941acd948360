// A progress bar on stderr while files are read; drawn only when stderr is a terminal.
import { rateText } from "../base/format.ts";

export class ProgressBar {
  #last = 0;
  #drawn = false;
  readonly #enc = new TextEncoder();
  readonly #start = performance.now();

  constructor(private readonly totalBytes: number, private readonly enabled: boolean) {}

  update(doneBytes: number, label: string): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.#last < 100 && doneBytes < this.totalBytes) return;
    this.#last = now;
    const frac = this.totalBytes > 0 ? Math.min(1, doneBytes / this.totalBytes) : 1;
    const width = 30;
    const full = Math.round(frac * width);
    const secs = (now - this.#start) / 1000;
    const rate = secs > 0 ? doneBytes / secs / 1e6 : 0;
    const line =
      `\r[${"#".repeat(full)}${".".repeat(width - full)}] ${(frac * 100).toFixed(0).padStart(3)}% ` +
      `${(doneBytes / 1e6).toFixed(1)}/${(this.totalBytes / 1e6).toFixed(1)} MB ${
        rateText(rate)
      } MB/s ${label}`;
    Deno.stderr.writeSync(this.#enc.encode(line.slice(0, 120) + "\x1b[K"));
    this.#drawn = true;
  }

  /** Erases the bar, so the next line (an alert, a warning) starts on a clean line; it is redrawn after. */
  clear(): void {
    if (!this.#drawn) return;
    Deno.stderr.writeSync(this.#enc.encode("\r\x1b[K"));
    this.#drawn = false;
    // Redraw at the next update, however soon it comes.
    this.#last = 0;
  }

  done(): void {
    this.clear();
  }
}
