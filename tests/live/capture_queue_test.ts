// The queue between the capture worker and the decoder is bounded (src/source/batch_ring.ts):
// with the main thread stuck, because its per-packet lines go to a pipe nobody reads, a flood of
// ~400 MB must not grow wiresight's memory. What did not fit stays in the kernel's capture
// buffer and is dropped there, and the final report counts it: every packet received is either
// decoded or dropped.
import { ok as assert } from "node:assert/strict";
import { spawnIn, withNetPair } from "./helpers/netns.ts";
import { wiresightArgs } from "./helpers/cli.ts";

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads a stream to its end in the background; `text()` is what came so far. */
function drain(stream: ReadableStream<Uint8Array>) {
  let text = "";
  const dec = new TextDecoder();
  const done = (async () => {
    for await (const chunk of stream) text += dec.decode(chunk, { stream: true });
  })();
  return { done, text: () => text };
}

Deno.test("a stalled decoder bounds the capture's memory and reports the drops", async () => {
  await withNetPair(async (net) => {
    const [deno, args] = wiresightArgs(["capture", "-i", net.clientIf, "--no-color", "--report", "json"]);
    const capture = spawnIn(net.client, deno, args, { stderr: "piped" });
    const stderr = drain(capture.proc.stderr!);
    let stdout: ReturnType<typeof drain> | undefined;
    try {
      for (let i = 0; i < 300 && !stderr.text().includes("capturing on"); i++) await sleep(100);
      assert(stderr.text().includes("capturing on"), `wiresight did not start: ${stderr.text()}`);
      // Let it map the processes' sockets, then take the baseline.
      await sleep(1500);
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
      stdout = drain(capture.proc.stdout);
      for (let i = 0; i < 100 && !(await caughtUp(pid)); i++) await sleep(200);
      capture.proc.kill("SIGINT");
      const { success } = await capture.proc.status;
      await stdout.done;
      assert(success, `wiresight failed: ${stderr.text()}`);
      const out = stdout.text();
      const report = JSON.parse(out.slice(out.lastIndexOf("\n{\n") + 1));
      const { received, dropped } = report.capture;
      assert(received >= DATAGRAMS / 2, `only ${received} packets reached the capture`);
      assert(dropped > 0, `nothing dropped of ${received} packets while the decoder was stalled`);
      assert(report.packets > 0, "nothing decoded");
      // Every packet received was decoded or dropped (a few may have been waiting in the buffer at stop).
      const unaccounted = received - dropped - report.packets;
      assert(unaccounted >= 0 && unaccounted <= 100, `${unaccounted} of ${received} packets unaccounted for`);
    } finally {
      await capture.stop("SIGKILL").catch(() => {});
      await stdout?.done.catch(() => {});
    }
  });
});

/** Whether the capture has gone idle again (it decodes and prints no more). */
async function caughtUp(pid: number): Promise<boolean> {
  const cpu = () => {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]);
  };
  const a = cpu();
  await sleep(300);
  return cpu() - a <= 3;
}
