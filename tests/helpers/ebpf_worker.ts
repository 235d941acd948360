// A Worker that owns an EbpfTracker, as the capture worker will: it answers lookups posted to it.
import { EbpfTracker } from "../../src/proc/ebpf/tracker.ts";

type Request = {
  lookup: [string, { address: string; port: number }, { address: string; port: number }, number];
} | {
  close: true;
};

const self = globalThis as unknown as Worker & { close(): void };
let tracker: EbpfTracker | null = null;
try {
  tracker = EbpfTracker.open();
  self.postMessage({ ready: true });
} catch (e) {
  self.postMessage({ error: (e as Error).message });
}
// Drains the ring buffer as the capture loop would, between packets.
const timer = setInterval(() => tracker?.poll(), 10);
self.onmessage = (m: MessageEvent<Request>) => {
  if ("close" in m.data) {
    clearInterval(timer);
    tracker?.close();
    self.postMessage({ closed: true });
    self.close();
    return;
  }
  const [proto, local, remote, netns] = m.data.lookup;
  self.postMessage({ process: tracker?.lookup(proto as "tcp", local, remote, netns) ?? null });
};
