// Opens an EbpfTracker and prints what happened as JSON: run unprivileged, it must fail with a
// clear reason, not crash.
import { EbpfTracker, EbpfUnavailableError } from "../../src/proc/ebpf/tracker.ts";

try {
  EbpfTracker.open().close();
  console.log(JSON.stringify({ opened: true }));
} catch (e) {
  const code = e instanceof EbpfUnavailableError ? e.code : "unexpected";
  console.log(JSON.stringify({ opened: false, code, message: (e as Error).message }));
}
