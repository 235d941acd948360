// Picks how this machine's processes are found behind sockets: the OS seam's one chooser, used by
// the capture worker and the main thread alike. On Linux the chain is eBPF (the kernel reports
// every socket and process as it happens) -> sock_diag netlink -> /proc/net; a method that cannot
// run here gives one warning and the next.
import { EbpfLookup } from "./ebpf/lookup.ts";
import { EbpfTracker, EbpfUnavailableError } from "./ebpf/tracker.ts";
import { ProcessResolver } from "./linux.ts";
import { noAttribution, type ProcessLookup } from "./process.ts";

/** What `--attribution` takes. */
export const ATTRIBUTION_METHODS = ["ebpf", "netlink", "off"] as const;
export type AttributionMethod = typeof ATTRIBUTION_METHODS[number];

/** Method names as the capture banner shows them. */
export const METHOD_TEXT: Record<string, string> = {
  ebpf: "eBPF socket and process events",
  netlink: "sock_diag netlink and /proc",
  procfs: "/proc/net and /proc",
  none: "none",
};

/**
 * The best lookup this OS, these permissions and `method` allow (warmed up: existing sockets are
 * mapped). Its `warning` says what was asked for and could not be had.
 */
export function openProcessLookup(method: AttributionMethod = "netlink", refreshMs = 1000): ProcessLookup {
  if (method === "off") return noAttribution("turned off (--attribution off)");
  if (Deno.build.os !== "linux") return noAttribution(`not available on ${Deno.build.os} yet`);
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
