// A SYN flood as a pcap file: one TCP SYN from a random source address and port to 10.0.0.1:80
// per packet, 1 ms apart, written in pieces so even a large file takes little memory.
import { Seeded } from "./random.ts";

const FRAME = 54; // Ethernet 14 + IPv4 20 + TCP 20
const RECORD = 16 + FRAME;
const PER_WRITE = 16384;

function ipChecksum(b: Uint8Array, off: number): number {
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (b[off + i] << 8) | b[off + i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

/** Writes `packets` SYNs to `path` (pcap, Ethernet); returns the file's size. */
export async function writeSynFlood(path: string, packets: number, seed = 14): Promise<number> {
  const seeded = new Seeded(seed);
  const random = () => seeded.next();
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const header = new DataView(new ArrayBuffer(24));
    header.setUint32(0, 0xa1b2c3d4, true);
    header.setUint16(4, 2, true);
    header.setUint16(6, 4, true);
    header.setUint32(16, 65535, true);
    header.setUint32(20, 1, true);
    await file.write(new Uint8Array(header.buffer));
    const buf = new Uint8Array(PER_WRITE * RECORD);
    const view = new DataView(buf.buffer);
    for (let done = 0; done < packets;) {
      const n = Math.min(PER_WRITE, packets - done);
      for (let k = 0; k < n; k++) {
        const o = k * RECORD, usec = (done + k) * 1000;
        view.setUint32(o, 1_700_000_000 + Math.floor(usec / 1e6), true);
        view.setUint32(o + 4, usec % 1e6, true);
        view.setUint32(o + 8, FRAME, true);
        view.setUint32(o + 12, FRAME, true);
        const f = o + 16;
        buf.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00], f);
        const ip = f + 14;
        buf.set([0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0], ip);
        view.setUint32(ip + 12, (Math.floor(random() * 0xdfffffff) + 0x01000000) >>> 0);
        buf.set([10, 0, 0, 1], ip + 16);
        view.setUint16(ip + 10, ipChecksum(buf, ip));
        const tcp = ip + 20;
        view.setUint16(tcp, 1024 + Math.floor(random() * 60000));
        view.setUint16(tcp + 2, 80);
        view.setUint32(tcp + 4, Math.floor(random() * 0xffffffff) >>> 0);
        view.setUint32(tcp + 8, 0);
        buf.set([0x50, 0x02], tcp + 12);
        view.setUint16(tcp + 14, 64240);
        view.setUint32(tcp + 16, 0);
      }
      const part = buf.subarray(0, n * RECORD);
      for (let off = 0; off < part.length;) off += await file.write(part.subarray(off));
      done += n;
    }
  } finally {
    file.close();
  }
  return 24 + packets * RECORD;
}
