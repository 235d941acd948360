// Decoders kept for reuse by a process that decodes many inputs one after another (the fuzz
// harness runs a million): a reset costs microseconds where creating a decoder zeroes ~10 MiB.
import { Decoder, type DecoderConfig } from "./decoder.ts";

export class DecoderPool {
  #idle: Decoder | undefined;

  /** A decoder with the settings of CFG: the idle one reset if its sizes fit, else a new one. */
  async acquire(cfg: DecoderConfig): Promise<Decoder> {
    const idle = this.#idle;
    this.#idle = undefined;
    if (idle?.sizes === Decoder.sizesOf(cfg)) {
      idle.reset(cfg);
      return idle;
    }
    idle?.free();
    return await Decoder.create(cfg);
  }

  /**
   * Takes a decoder back. One whose decoding did not end cleanly (`clean` false: an exception
   * may have stopped it inside any call, its memory in any state) is freed, never reused.
   */
  release(d: Decoder, clean: boolean): void {
    if (clean && !this.#idle) this.#idle = d;
    else d.free();
  }

  /** WebAssembly memory of the idle decoder (0 without one). */
  memoryBytes(): number {
    return this.#idle?.memoryBytes() ?? 0;
  }

  free(): void {
    this.#idle?.free();
    this.#idle = undefined;
  }
}
