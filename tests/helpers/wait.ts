// Waiting for something to be true rather than for a time: readiness is probed (a server answers,
// a capture says it captures, a file holds its rows), in a loop bounded by a deadline generous
// enough for a loaded machine. The deadline is only the bound for a test that would hang.

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface WaitOptions {
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /** Pause between probes (default 50 ms). */
  everyMs?: number;
}

/**
 * Probes until `probe` returns something other than false, null or undefined, and returns it;
 * throws "timed out waiting for WHAT" (with `detail()` when given) at the deadline. A probe that
 * throws counts as not yet.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | false | null | undefined | Promise<T | false | null | undefined>,
  options: WaitOptions & { detail?: () => string | Promise<string> } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== false && v !== null && v !== undefined) return v;
      last = undefined;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const detail = options.detail ? await options.detail() : last ? String(last) : "";
      throw new Error(`timed out waiting for ${what}${detail ? `: ${detail}` : ""}`);
    }
    await sleep(options.everyMs ?? 50);
  }
}

/** Resolves with `text` once it appears in what `read()` returns (a stream collected elsewhere). */
export function waitForText(
  what: string,
  read: () => string,
  text: string | RegExp,
  options: WaitOptions = {},
) {
  const found = () => typeof text === "string" ? read().includes(text) : text.test(read());
  return waitFor(what, found, { ...options, detail: () => read().slice(-2000) });
}

/**
 * Packets in a pcapng file being written (whole EPB, SPB and obsolete PB blocks; a block cut by a
 * write in progress is not counted). For waiting until a capture has written what it saw.
 */
export async function pcapngPackets(path: string): Promise<number> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return 0;
    throw e;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let little = true;
  let packets = 0;
  for (let at = 0; at + 12 <= bytes.length;) {
    if (view.getUint32(at, true) === 0x0a0d0d0a) little = view.getUint32(at + 8, true) === 0x1a2b3c4d;
    const type = view.getUint32(at, little);
    const length = view.getUint32(at + 4, little);
    if (length < 12 || at + length > bytes.length) break;
    if (type === 6 || type === 3 || type === 2) packets++;
    at += length;
  }
  return packets;
}
