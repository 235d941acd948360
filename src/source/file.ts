// Reads a capture file chunk by chunk straight into the decoder's input buffer (no copy through
// a JS buffer), carrying an incomplete record over to the next read.
import * as abi from "../decoder/abi.ts";
import type { Decoder } from "../decoder/decoder.ts";
import { DECODER_ERRORS } from "../decoder/names.ts";
import type { EventHandlers } from "../decoder/records.ts";

/** A capture already in memory, read as its file would be (the fuzz harness's inputs). */
export interface CaptureBytes {
  /** What outcomes and messages call it. */
  name: string;
  bytes: Uint8Array;
}

/** A capture file's path, or a capture in memory. */
export type CaptureSource = string | CaptureBytes;

export const sourceName = (s: CaptureSource): string => typeof s === "string" ? s : s.name;

/** What decoding reads: the part of Deno.FsFile it uses. */
interface CaptureReader {
  read(into: Uint8Array): Promise<number | null>;
  close(): void;
}

function memoryReader(bytes: Uint8Array): CaptureReader {
  let at = 0;
  return {
    read(into) {
      if (at >= bytes.length) return Promise.resolve(null);
      const n = Math.min(into.length, bytes.length - at);
      into.set(bytes.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
    close() {},
  };
}

/** A capture file could not be opened or read at all. */
export class CaptureOpenError extends Error {}

export interface FileOutcome {
  path: string;
  size: number;
  bytesRead: number;
  format?: "pcap" | "pcapng";
  /** Set when decoding stopped early; `fatal` is false for a file merely cut short at the end. */
  problem?: { code: number; offset: number; message: string; fatal: boolean };
}

export interface FileHooks {
  /** The decoder met a link type that needs a BPF program; install one before returning. */
  needBpf?(linktype: number): void;
  progress?(bytesRead: number, size: number): void;
}

export async function openCapture(path: string): Promise<{ file: Deno.FsFile; size: number }> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new CaptureOpenError(
        `${path}: no such file (check the path; wiresight reads .pcap and .pcapng files)`,
      );
    }
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new CaptureOpenError(
        `${path}: permission denied (run as a user who can read it, or 'sudo chmod o+r ${path}')`,
      );
    }
    throw new CaptureOpenError(`${path}: cannot open: ${(e as Error).message}`);
  }
  const info = await file.stat();
  if (info.isDirectory) {
    file.close();
    throw new CaptureOpenError(`${path} is a directory: give the capture files inside it`);
  }
  return { file, size: info.size };
}

/**
 * Decodes one file, yielding after each chunk so a consumer can take the events handed to
 * `handlers` so far (and stop early: the file is closed in any case).
 *
 * The input is four parts [carry A | A | carry B | B] (wasm/ABI.md, "Input layout"): while the
 * decoder works on one part, the next read fills the other. The incomplete record left at the end
 * of a window moves into the carry part before the part read next, out of reach of any read.
 */
export async function* decodeFileSteps(
  source: CaptureSource,
  decoder: Decoder,
  handlers: EventHandlers,
  hooks: FileHooks = {},
): AsyncGenerator<void, FileOutcome> {
  const path = sourceName(source);
  const { file, size }: { file: CaptureReader; size: number } = typeof source === "string"
    ? await openCapture(source)
    : { file: memoryReader(source.bytes), size: source.bytes.length };
  const outcome: FileOutcome = { path, size, bytesRead: 0 };
  const part = Math.floor(decoder.input().length / 4);
  /** Where part A (0) or B (1) starts; its carry part is the `part` bytes before it. */
  const regionStart = (i: number) => part * (1 + 2 * i);
  const region = (i: number) => decoder.input().subarray(regionStart(i), regionStart(i) + part);
  let pending: Promise<number | null> | null = null;
  try {
    decoder.beginFile();
    let cur = 0;
    let carry = 0;
    pending = file.read(region(cur));
    for (;;) {
      const n = await pending;
      pending = null;
      const eof = n === null;
      if (n !== null) outcome.bytesRead += n;
      hooks.progress?.(outcome.bytesRead, size);
      const start = regionStart(cur) - carry;
      const len = carry + (n ?? 0);
      const next = 1 - cur;
      if (!eof) pending = file.read(region(next));
      let consumed = 0;
      let status: number;
      for (;;) {
        const r = feedWindow(decoder, start + consumed, len - consumed, eof, handlers);
        consumed += r.consumed;
        status = r.status;
        if (status !== abi.STATUS_NEED_BPF) break;
        // Installing a program may grow WASM memory: let the read in flight land first.
        if (pending) {
          const landed = await pending;
          pending = Promise.resolve(landed);
        }
        if (!hooks.needBpf) throw new Error("decoder asked for a BPF program but no filter is set");
        hooks.needBpf(decoder.neededLinktype());
      }
      if (status === abi.STATUS_DONE) break;
      if (status === abi.STATUS_ERROR) {
        outcome.problem = describeProblem(path, decoder.error());
        break;
      }
      if (eof) throw new Error(`decoder stopped at the end of ${path} without finishing`);
      carry = len - consumed;
      if (carry > part) throw new Error(`decoder left ${carry} bytes undecoded in ${path}`);
      const input = decoder.input();
      input.copyWithin(regionStart(next) - carry, start + consumed, start + len);
      cur = next;
      yield;
    }
  } finally {
    // A read still in flight writes into WASM memory: let it finish before the file closes.
    if (pending) await pending.catch(() => null);
    file.close();
  }
  return outcome;
}

/**
 * Feeds input[start, start + len) to the decoder, draining its events to `handlers`, until it
 * wants more input, needs a BPF program, or stops; returns the bytes consumed and why it stopped.
 */
export function feedWindow(
  decoder: Decoder,
  start: number,
  len: number,
  eof: boolean,
  handlers: EventHandlers,
): { consumed: number; status: number } {
  let consumed = 0;
  for (;;) {
    consumed += decoder.feed(start + consumed, len - consumed, eof);
    const status = decoder.status();
    decoder.drain(handlers);
    if (status !== abi.STATUS_OUT_FULL) return { consumed, status };
  }
}

export function describeProblem(path: string, err: { code: number; offset: number }): FileOutcome["problem"] {
  const what = DECODER_ERRORS[err.code] ?? `could not be decoded (error ${err.code})`;
  const advice: Record<number, string> = {
    [abi.ERR_NOT_A_CAPTURE]: "; wiresight reads pcap and pcapng (convert others with 'editcap -F pcapng')",
    [abi.ERR_TRUNCATED_RECORD]: "; the packets before it were analysed",
    [abi.ERR_CORRUPT_RECORD]: "; the packets before it were analysed (try 'pcapfix' to repair the file)",
    [abi.ERR_CORRUPT_BLOCK]: "; the packets before it were analysed (try 'pcapfix' to repair the file)",
  };
  return {
    code: err.code,
    offset: err.offset,
    message: `${path} ${what} (at byte ${err.offset})${advice[err.code] ?? ""}`,
    fatal: err.code !== abi.ERR_TRUNCATED_RECORD,
  };
}
