// The few libc calls the capture loop needs: poll() to wait for packets with a timeout, and
// memcpy() to copy packets out of libpcap's buffer without creating pointer objects per packet.

const SYMBOLS = {
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  memcpy: { parameters: ["u64", "u64", "usize"], result: "u64" },
} as const;

const NAMES: Record<string, string> = { linux: "libc.so.6", darwin: "libSystem.B.dylib" };

let loaded: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | undefined;

export function libc(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
  loaded ??= Deno.dlopen(NAMES[Deno.build.os] ?? "libc.so.6", SYMBOLS).symbols;
  return loaded;
}

const POLLIN = 1;

/** Waits up to `timeoutMs` for `fd` to become readable; true when it is. */
export function waitReadable(fd: number, timeoutMs: number): boolean {
  // struct pollfd { int fd; short events; short revents; }
  const pfd = new Int32Array(2);
  pfd[0] = fd;
  pfd[1] = POLLIN;
  return libc().poll(new Uint8Array(pfd.buffer), 1n, timeoutMs) > 0;
}

/** The address of a buffer's first byte, as a BigInt (stable: such backing stores do not move). */
export function addressOf(b: Uint8Array): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
}
