// Opens a live capture with its process attribution, for `capture` and the web view alike: the
// method is chosen first (the eBPF tracker must be attached before the first packet), then the
// device is opened; the capture worker looks owners up itself only for a method that races
// short-lived sockets (netlink), at each connection's first packet.
import type { LiveOptions } from "../../ffi/libpcap.ts";
import { type AttributionMethod, openProcessLookup } from "../proc/attribution.ts";
import { FlowOwners, localAddresses } from "../proc/owners.ts";
import { LiveCapture } from "../source/live.ts";

export interface LiveOpenOptions extends LiveOptions {
  /** Stop after this many packets (those that pass the kernel's filter). */
  maxPackets?: number;
  attribution?: AttributionMethod;
  /** The /proc rescan period of the netlink method. */
  refreshMs?: number;
}

/** The capture and its owners; `warnings` say what to tell the user (attribution degraded ...). */
export async function openLive(
  o: LiveOpenOptions,
): Promise<{ capture: LiveCapture; owners: FlowOwners; warnings: string[] }> {
  const { maxPackets, attribution, refreshMs = 1000, ...options } = o;
  const local = localAddresses();
  const lookup = openProcessLookup(attribution ?? "ebpf", refreshMs);
  const racing = lookup.method === "netlink" || lookup.method === "procfs";
  let capture: LiveCapture;
  try {
    capture = await LiveCapture.open(
      options,
      maxPackets ?? Infinity,
      racing ? { localAddresses: [...local], refreshMs } : undefined,
    );
  } catch (e) {
    lookup.close?.();
    throw e;
  }
  return {
    capture,
    owners: new FlowOwners(lookup, local),
    warnings: lookup.warning ? [...capture.warnings, lookup.warning] : capture.warnings,
  };
}
