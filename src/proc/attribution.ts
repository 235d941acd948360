// Picks how this machine's processes are found behind sockets: the OS seam's one chooser, used by
// the capture worker and the main thread alike. On Linux the chain is eBPF (the kernel reports
// every socket and process as it happens) -> sock_diag netlink -> /proc/net; a method that cannot
// run here gives one warning and the next. Windows: WinDivert flow events over the IP Helper
// tables (windows/); macOS: libproc (darwin/).
import type { OsName } from "../../ffi/platform.ts";
import { DarwinLookup } from "./darwin/lookup.ts";
import { EbpfLookup } from "./ebpf/lookup.ts";
import { EbpfTracker, EbpfUnavailableError } from "./ebpf/tracker.ts";
import { ProcessResolver } from "./linux.ts";
import { noAttribution, type ProcessLookup } from "./process.ts";
import { WindowsLookup } from "./windows/lookup.ts";

/** What `--attribution` takes. */
export const ATTRIBUTION_METHODS = ["ebpf", "netlink", "off"] as const;
export type AttributionMethod = typeof ATTRIBUTION_METHODS[number];

/** Method names as the capture banner shows them. */
export const METHOD_TEXT: Record<string, string> = {
  ebpf: "eBPF socket and process events",
  netlink: "sock_diag netlink and /proc",
  procfs: "/proc/net and /proc",
  windivert: "WinDivert flow events and the IP Helper socket tables",
  iphlpapi: "the IP Helper socket tables",
  libproc: "libproc",
  none: "none",
};

/** Which family of lookups `method` leads to on `os` (before what this machine allows is tried). */
export function attributionFamily(
  os: OsName,
  method: AttributionMethod,
): "linux" | "windows" | "darwin" | "off" | null {
  if (method === "off") return "off";
  if (os === "linux" || os === "windows" || os === "darwin") return os;
  return null;
}

/**
 * The best lookup this OS, these permissions and `method` allow (warmed up: existing sockets are
 * mapped). Its `warning` says what was asked for and could not be had.
 */
export function openProcessLookup(method: AttributionMethod = "netlink", refreshMs = 1000): ProcessLookup {
  const family = attributionFamily(Deno.build.os, method);
  if (family === "off") return noAttribution("turned off (--attribution off)");
  if (family === null) return noAttribution(`not available on ${Deno.build.os}`);
  // One method each: --attribution ebpf and netlink mean "on" there.
  if (family === "windows") return new WindowsLookup(refreshMs);
  if (family === "darwin") return new DarwinLookup(refreshMs);
  const why = ProcessResolver.unavailable();
  if (why) return noAttribution(why);
  const resolver = new ProcessResolver(refreshMs);
  resolver.warmUp();
  if (method !== "ebpf") return resolver;
  try {
    return new EbpfLookup(EbpfTracker.open(), resolver);
  } catch (e) {
    if (!(e instanceof EbpfUnavailableError)) throw e;
    // The fallback says why it is one: short-lived processes may go unnamed.
    return {
      method: resolver.method,
      warning: `${e.message}; falling back to ${METHOD_TEXT[resolver.method]}, which misses sockets ` +
        `that live only a few milliseconds`,
      lookup: (proto, local, remote, responder) => resolver.lookup(proto, local, remote, responder),
    };
  }
}
