// Picks how this machine's processes are found behind sockets: the OS seam's one chooser, used by
// the capture worker and the main thread alike.
import { ProcessResolver } from "./linux.ts";
import { noAttribution, type ProcessLookup } from "./process.ts";

/** Method names as the capture banner and the report show them. */
export const METHOD_TEXT: Record<string, string> = {
  netlink: "sock_diag netlink and /proc",
  procfs: "/proc/net and /proc",
  none: "none",
};

/** The best lookup this OS and these permissions allow (warmed up: existing sockets are mapped). */
export function openProcessLookup(refreshMs = 1000): ProcessLookup {
  if (Deno.build.os !== "linux") return noAttribution(`not available on ${Deno.build.os} yet`);
  const why = ProcessResolver.unavailable();
  if (why) return noAttribution(why);
  const resolver = new ProcessResolver(refreshMs);
  resolver.warmUp();
  return resolver;
}
