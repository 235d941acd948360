// The records ffi/bpf/attribution.bpf.c writes to its ring buffer, byte for byte (native byte
// order; the C side asserts the same sizes). Decoding reads straight from the ring's reused
// buffer: no object per record except what the tracker keeps.
import { parseCidr } from "../../base/address.ts";

export const EV_CONNECT = 1;
export const EV_ACCEPT = 2;
export const EV_LISTEN = 3;
export const EV_SEND = 4;
export const EV_RECV = 5;
export const EV_EXEC = 6;
export const EV_FORK = 7;
export const EV_EXIT = 8;

export type SocketEventKind = "connect" | "accept" | "listen" | "send" | "recv";
export const SOCKET_KINDS: Record<number, SocketEventKind> = {
  [EV_CONNECT]: "connect",
  [EV_ACCEPT]: "accept",
  [EV_LISTEN]: "listen",
  [EV_SEND]: "send",
  [EV_RECV]: "recv",
};

/** struct sock_event */
export const SOCK = {
  size: 112,
  kind: 0,
  family: 1,
  protocol: 2,
  type: 3,
  lport: 4,
  rport: 6,
  netns: 8,
  ts: 16,
  laddr: 24,
  raddr: 40,
  tgid: 56,
  tid: 60,
  uid: 64,
  cgroup: 72,
  comm: 80,
  groupComm: 96,
} as const;

/** struct task_event (EV_FORK, EV_EXIT) and the head of struct exec_event */
export const TASK = {
  size: 48,
  kind: 0,
  argsLen: 2,
  tgid: 4,
  ppid: 8,
  uid: 12,
  cgroup: 16,
  ts: 24,
  comm: 32,
} as const;

export const EXEC = { size: 1328, filename: 48, filenameLen: 256, args: 304, argsMax: 1024 } as const;

export const AF_INET = 2;
export const AF_INET6 = 10;

/** The native byte order, which the kernel wrote in. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const utf8 = new TextDecoder();

/**
 * A NUL-terminated string of at most `max` bytes, as latin1 (a comm: short, ASCII in practice;
 * built char by char, several times faster than a TextDecoder call for 16 bytes).
 */
export function cString(b: Uint8Array, off: number, max: number): string {
  let s = "";
  for (let i = off, end = off + max; i < end && b[i] !== 0; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** A NUL-terminated UTF-8 string of at most `max` bytes (a path). */
export function cStringUtf8(b: Uint8Array, off: number, max: number): string {
  let end = off;
  while (end < off + max && b[end] !== 0) end++;
  return utf8.decode(b.subarray(off, end));
}

/** argv as the kernel keeps it (NUL-separated) joined with spaces, as /proc/<pid>/cmdline reads. */
export function argsText(b: Uint8Array, off: number, len: number): string {
  return utf8.decode(b.subarray(off, off + len)).split("\0").filter((a) => a).join(" ");
}

const HEX = [...Array(256)].map((_, i) => i.toString(16).padStart(2, "0"));

/**
 * An address as a table key: dotted IPv4 (also for IPv4-mapped IPv6), 32 hex digits for other
 * IPv6, and "*" for the unspecified address (either family).
 */
export function addressKey(b: Uint8Array, off: number, family: number): string {
  if (family === AF_INET) {
    const a = b[off], c = b[off + 1], d = b[off + 2], e = b[off + 3];
    return (a | c | d | e) === 0 ? "*" : `${a}.${c}.${d}.${e}`;
  }
  let zero = true;
  for (let i = 0; i < 10; i++) if (b[off + i] !== 0) zero = false;
  if (zero && b[off + 10] === 0xff && b[off + 11] === 0xff) return addressKey(b, off + 12, AF_INET);
  if (zero && (b[off + 10] | b[off + 11] | b[off + 12] | b[off + 13] | b[off + 14] | b[off + 15]) === 0) {
    return "*";
  }
  let s = "";
  for (let i = 0; i < 16; i++) s += HEX[b[off + i]];
  return s;
}

/** The same key for an address written as text ("10.0.0.1", "::1", "::ffff:10.0.0.1"); null if invalid. */
export function addressKeyOf(text: string): string | null {
  const a = parseCidr(text);
  if (!a || text.includes("/")) return null;
  return addressKey(a.bytes, 0, a.ipVersion === 4 ? AF_INET : AF_INET6);
}
