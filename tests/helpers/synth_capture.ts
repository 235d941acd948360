// Synthetic pcap captures (Ethernet, IPv4) for tests that need protocols the corpus lacks: whole
// TCP conversations (handshake, data both ways, FIN) and UDP datagrams, one frame per segment.
import { concat } from "./util.ts";

export type Endpoint = [address: string, port: number];

/** One application message of a TCP conversation. */
export interface Turn {
  from: "client" | "server";
  data: Uint8Array | string;
}

const CLIENT_MAC = [0x02, 0, 0, 0, 0, 1];
const SERVER_MAC = [0x02, 0, 0, 0, 0, 2];

const u16 = (x: number) => [x >> 8, x & 0xff];
const u32 = (x: number) => [x >>> 24, (x >> 16) & 0xff, (x >> 8) & 0xff, x & 0xff];
const le32 = (x: number) => [x & 0xff, (x >> 8) & 0xff, (x >> 16) & 0xff, x >>> 24];
const ipv4 = (a: string) => a.split(".").map(Number);
const bytes = (d: Uint8Array | string) => (typeof d === "string" ? new TextEncoder().encode(d) : d);

function ipHeader(src: string, dst: string, proto: number, payloadLen: number): number[] {
  const h = [0x45, 0, ...u16(20 + payloadLen), 0, 0, 0x40, 0, 64, proto, 0, 0, ...ipv4(src), ...ipv4(dst)];
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (h[i] << 8) | h[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  h.splice(10, 2, ...u16(~sum & 0xffff));
  return h;
}

export class SynthCapture {
  readonly #records: Uint8Array[] = [];
  #usec = 0;

  #frame(fromClient: boolean, ip: number[], l4: number[], payload: Uint8Array): void {
    const [dst, src] = fromClient ? [SERVER_MAC, CLIENT_MAC] : [CLIENT_MAC, SERVER_MAC];
    const frame = concat(dst, src, [0x08, 0x00], ip, l4, payload);
    this.#usec += 1000;
    const sec = 1_700_000_000 + Math.floor(this.#usec / 1e6);
    this.#records.push(
      concat(le32(sec), le32(this.#usec % 1e6), le32(frame.length), le32(frame.length), frame),
    );
  }

  udp(src: Endpoint, dst: Endpoint, data: Uint8Array | string): void {
    const d = bytes(data);
    const udp = [...u16(src[1]), ...u16(dst[1]), ...u16(8 + d.length), 0, 0];
    this.#frame(true, ipHeader(src[0], dst[0], 17, 8 + d.length), udp, d);
  }

  /** A whole TCP connection: SYN, SYN-ACK, ACK, the turns, then FIN from each side. */
  tcp(client: Endpoint, server: Endpoint, turns: Turn[]): void {
    const seq = { client: 1000, server: 50000 };
    const seg = (from: "client" | "server", flags: number, data: Uint8Array = new Uint8Array()) => {
      const other = from === "client" ? "server" : "client";
      const [src, dst] = from === "client" ? [client, server] : [server, client];
      const tcp = [
        ...u16(src[1]),
        ...u16(dst[1]),
        ...u32(seq[from]),
        ...u32(flags === 0x02 ? 0 : seq[other]),
      ];
      tcp.push(0x50, flags, ...u16(65535), 0, 0, 0, 0);
      this.#frame(from === "client", ipHeader(src[0], dst[0], 6, 20 + data.length), tcp, data);
      seq[from] = (seq[from] + data.length + (flags & 0x03 ? 1 : 0)) >>> 0;
    };
    seg("client", 0x02);
    seg("server", 0x12);
    seg("client", 0x10);
    for (const t of turns) seg(t.from, 0x18, bytes(t.data));
    seg("client", 0x11);
    seg("server", 0x11);
    seg("client", 0x10);
  }

  /** The capture as a pcap file (microsecond timestamps, Ethernet). */
  pcap(): Uint8Array {
    const header = [...le32(0xa1b2c3d4), 2, 0, 4, 0, ...le32(0), ...le32(0), ...le32(65535), ...le32(1)];
    return concat(header, ...this.#records);
  }
}
