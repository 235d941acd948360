// The queue between the capture worker and the decoder is bounded (src/source/batch_ring.ts):
// with the main thread stuck, because its per-packet lines go to a pipe nobody reads (stderr: with
// --report json, stdout holds the report alone), a flood of
// ~400 MB must not grow wiresight's memory. What did not fit stays in the kernel's capture
// buffer and is dropped there, and the final report counts it: every packet received is either
// decoded or dropped. Here, run alone, because it measures memory under a flood.
import { ok as assert } from "node:assert/strict";
import { spawnIn, withNetPair } from "../helpers/netns.ts";
import { wiresightArgs } from "../helpers/cli.ts";
import { runTool } from "../helpers/tool.ts";
import { sleep, waitFor } from "../helpers/wait.ts";

const FLOOD = `
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
payload, target, deadline = bytes(1000), (sys.argv[1], 9), time.time() + 20
for i in range(int(sys.argv[2])):
    s.sendto(payload, target)
    if i % 10000 == 0 and time.time() > deadline: break
`;
const DATAGRAMS = 400_000;
/** What the queue (32 MiB of slots) and the kernel buffer (8 MiB) may add, with room for the heap. */
const MAX_GROWTH_MIB = 120;

function rssMiB(pid: number): number {
  const kib = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+) kB/)?.[1];
  return Number(kib) / 1024;
}

/** Reads a stream to its end in the background; `text()` is what came so far. */
function drain(stream: ReadableStream<Uint8Array>) {
  let text = "";
  const dec = new TextDecoder();
  const done = (async () => {
    for await (const chunk of stream) text += dec.decode(chunk, { stream: true });
  })();
  return { done, text: () => text };
}

/** Reads `stream` until what came holds `text`, then lets go of it (nothing reads it after). */
async function readUntil(stream: ReadableStream<Uint8Array>, text: RegExp): Promise<string> {
  const reader = stream.getReader();
  const dec = new TextDecoder();
  let seen = "";
  try {
    while (!text.test(seen)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`ended before '${text}': ${seen}`);
      seen += dec.decode(value, { stream: true });
    }
    return seen;
  } finally {
    reader.releaseLock();
  }
}

/** One datagram from the server side to the client's port 9, as the flood sends them. */
const ONE = `import socket, sys
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"warm-up", (sys.argv[1], 9))`;

Deno.test("a stalled decoder bounds the capture's memory and reports the drops", async () => {
  await withNetPair(async (net) => {
    const [deno, args] = wiresightArgs(["capture", "-i", net.clientIf, "--no-color", "--report", "json"]);
    const capture = spawnIn(net.client, deno, args, { stderr: "piped" });
    const stdout = drain(capture.proc.stdout);
    let stderr: ReturnType<typeof drain> | undefined;
    let seen = "";
    try {
      seen = await readUntil(capture.proc.stderr!, /capturing on/);
      // A first packet decoded and printed (the processes' sockets mapped, the decoder warm): the
      // baseline. Its line is read; the lines after it are left in the pipe, which stalls the decoder.
      await runTool("ip", ["netns", "exec", net.server, "python3", "-c", ONE, net.clientAddr]);
      seen += await readUntil(
        capture.proc.stderr!,
        new RegExp(`UDP .*${net.serverAddr.replaceAll(".", "\\.")}`),
      );
      const pid = capture.proc.pid;
      const before = rssMiB(pid);
      let peak = before;
      const flood = new Deno.Command("ip", {
        args: ["netns", "exec", net.server, "python3", "-c", FLOOD, net.clientAddr, String(DATAGRAMS)],
      }).spawn();
      let flooding = true;
      flood.status.finally(() => (flooding = false));
      while (flooding) {
        peak = Math.max(peak, rssMiB(pid));
        await sleep(100);
      }
      assert((await flood.status).success, "the flood did not run");
      for (let i = 0; i < 10; i++, await sleep(100)) peak = Math.max(peak, rssMiB(pid));
      assert(
        peak - before < MAX_GROWTH_MIB,
        `memory grew by ${(peak - before).toFixed(0)} MiB (from ${before.toFixed(0)} MiB) while stalled`,
      );

      // Unstick it: the packets queued are decoded, then the report tells what was dropped.
      const rest = drain(capture.proc.stderr!);
      stderr = rest;
      await waitFor("the decoder to catch up", () => caughtUp(pid, rest.text), { everyMs: 0 });
      capture.proc.kill("SIGINT");
      const { success } = await capture.proc.status;
      await Promise.all([stdout.done, stderr.done]);
      assert(success, `wiresight failed: ${(seen + rest.text()).slice(-2000)}`);
      const report = JSON.parse(stdout.text());
      const { received, dropped } = report.capture;
      assert(received >= DATAGRAMS / 2, `only ${received} packets reached the capture`);
      assert(dropped > 0, `nothing dropped of ${received} packets while the decoder was stalled`);
      assert(report.packets > 0, "nothing decoded");
      // Every packet received was decoded or dropped (a few may have been waiting in the buffer at stop).
      const unaccounted = received - dropped - report.packets;
      assert(unaccounted >= 0 && unaccounted <= 100, `${unaccounted} of ${received} packets unaccounted for`);
    } finally {
      await capture.stop("SIGKILL").catch(() => {});
      await stderr?.done.catch(() => {});
    }
  });
});

/**
 * Whether the capture has gone idle again: it printed no line and took (almost) no CPU time in
 * two looks in a row (the flood is over: whatever it still had queued, it would be decoding).
 */
async function caughtUp(pid: number, printed: () => string): Promise<boolean> {
  const cpu = () => {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]);
  };
  for (let look = 0; look < 2; look++) {
    const [ticks, lines] = [cpu(), printed().length];
    await sleep(300);
    if (cpu() - ticks > 3 || printed().length !== lines) return false;
  }
  return true;
}
