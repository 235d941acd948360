// A collector that accepts the connection but never reads: what waits for it stays bounded and the
// drop is said once, instead of memory growing with the traffic.
import assert from "node:assert/strict";
import net from "node:net";
import { MAX_PENDING_BYTES, openTransport } from "../src/sinks/ipfix/transport.ts";

Deno.test("ipfix over TCP to a collector that never reads keeps at most MAX_PENDING_BYTES waiting", async () => {
  const held: net.Socket[] = [];
  const server = net.createServer((s) => {
    s.pause();
    held.push(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const warnings: string[] = [];
  const transport = await openTransport(
    { transport: "tcp", host: "127.0.0.1", port },
    (m) => warnings.push(m),
  );
  assert(transport.startSession(), "the first message opens a transport session");
  await new Promise((r) => setTimeout(r, 100));
  const message = new Uint8Array(1400);
  const sent = Math.ceil((MAX_PENDING_BYTES * 2) / message.length);
  for (let i = 0; i < sent; i++) transport.send(message);
  const slow = warnings.filter((w) => w.includes("slower than the traffic"));
  assert.equal(slow.length, 1, warnings.join("\n"));
  held.forEach((s) => s.destroy());
  await transport.close();
  await new Promise<void>((r) => server.close(() => r()));
});
