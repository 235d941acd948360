// Process attribution from what the kernel reported through eBPF (tracker.ts): a socket that lived a
// millisecond is still known, and so is a process that exited. The chain goes on to sock_diag and
// /proc for a socket the tracker never saw (one idle since before capture began).
import type { Endpoint, ProcessInfo, ProcessLookup, Transport } from "../process.ts";
import { EbpfTracker } from "./tracker.ts";

/** The ring buffer is drained at least this often, so a quiet spell without lookups loses nothing. */
const POLL_MS = 200;

export class EbpfLookup implements ProcessLookup {
  readonly method = "ebpf";
  readonly warning = null;
  readonly #netns = EbpfTracker.netns();
  readonly #timer: ReturnType<typeof setInterval>;
  /** Every hook is attached (a kernel before 6.3 lacks sock_send_length and sock_recv_length). */
  readonly #complete: boolean;

  /** Opens nothing itself: `tracker` is open and attached; `fallback` answers what it missed. */
  constructor(private readonly tracker: EbpfTracker, private readonly fallback: ProcessLookup) {
    this.#complete = tracker.stats().programs.every((p) => p.attached);
    this.#timer = setInterval(() => tracker.poll(), POLL_MS);
    Deno.unrefTimer(this.#timer);
  }

  lookup(proto: Transport, local: Endpoint, remote: Endpoint, responder = false): ProcessInfo | null {
    // Our own network namespace first: the same tuple may exist in a container's.
    const known = this.tracker.lookup(proto, local, remote, this.#netns ?? undefined) ??
      this.tracker.lookup(proto, local, remote);
    if (known || (this.#complete && !responder)) return known;
    // With every hook attached, a socket that sent or received since capture began is known: only a
    // server's connection it has not touched yet (its listener older than the tracker) is not.
    // Traffic of no local socket (replayed, forwarded, spoofed) costs no system call then.
    return this.fallback.lookup(proto, local, remote, responder);
  }

  close(): void {
    clearInterval(this.#timer);
    this.tracker.close();
  }
}
