// What the capture loop needs beyond libpcap: poll() to wait for packets with a timeout, and
// views of libpcap's own memory, so a packet is copied out with a typed-array copy instead of
// a foreign call per packet; mmap() to read a BPF ring buffer in place.
import { LIBC_NAME } from "./platform.ts";

const SYMBOLS = {
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  getpagesize: { parameters: [], result: "i32" },
} as const;

let loaded: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | undefined;

function libc(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
  loaded ??= Deno.dlopen(LIBC_NAME, SYMBOLS).symbols;
  return loaded;
}

const POLLIN = 1;
// struct pollfd { int fd; short events; short revents; }
const pollfd = new Int32Array(2);
const pollfdBytes = new Uint8Array(pollfd.buffer);

/** Waits up to `timeoutMs` for `fd` to become readable; true when it is. */
export function waitReadable(fd: number, timeoutMs: number): boolean {
  pollfd[0] = fd;
  pollfd[1] = POLLIN;
  return libc().poll(pollfdBytes, 1n, timeoutMs) > 0;
}

/**
 * `length` bytes of foreign memory at `address`, without copying: valid only while the owner
 * keeps that memory (for libpcap's packet buffer, until the handle is closed).
 */
export function foreignBytes(address: bigint, length: number): Uint8Array<ArrayBuffer> {
  const p = Deno.UnsafePointer.create(address);
  if (!p) throw new Error("null pointer");
  return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, length));
}

/** A shared mapping of a file descriptor (a BPF map), as bytes; unmapped by `unmap`. */
export interface Mapping {
  bytes: Uint8Array<ArrayBuffer>;
  unmap(): void;
}

const PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1;

export function pageSize(): number {
  return libc().getpagesize();
}

/** mmap(2) of `length` bytes of `fd` at `offset`, shared; throws when the kernel refuses. */
export function mapShared(fd: number, length: number, offset: number, writable: boolean): Mapping {
  const prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
  const p = libc().mmap(null, BigInt(length), prot, MAP_SHARED, fd, BigInt(offset));
  // MAP_FAILED is (void *)-1.
  if (!p || Deno.UnsafePointer.value(p) === 0xffff_ffff_ffff_ffffn) {
    throw new Error(`mmap of fd ${fd} failed`);
  }
  return {
    bytes: new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, length)),
    unmap: () => void libc().munmap(p, BigInt(length)),
  };
}
