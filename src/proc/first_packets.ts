// In the capture worker: spot the first packet of each connection (TCP SYN or SYN-ACK, a UDP
// 4-tuple not seen lately) and look up the local sender's process at once, before a short-lived
// client can exit. Only the headers needed for the endpoints are read, bounds-checked.
import { formatAddress } from "../decoder/address.ts";
import * as abi from "../decoder/abi.ts";
import type { ProcessInfo, ProcessResolver } from "./linux.ts";

export interface OwnerHint {
  /** "proto address port" of the local endpoint that sent the packet. */
  endpoint: string;
  owner: ProcessInfo;
}

/** Where the IP header starts for a link type, and the ethertype-like protocol there. */
function network(linktype: number, d: DataView): { off: number; ethertype: number } | null {
  const len = d.byteLength;
  switch (linktype) {
    case abi.LINKTYPE_ETHERNET: {
      let off = 12;
      let et = len >= 14 ? d.getUint16(off) : 0;
      while ((et === 0x8100 || et === 0x88a8) && len >= off + 6) {
        off += 4;
        et = d.getUint16(off);
      }
      return { off: off + 2, ethertype: et };
    }
    case abi.LINKTYPE_LINUX_SLL:
      return len >= 16 ? { off: 16, ethertype: d.getUint16(14) } : null;
    case abi.LINKTYPE_LINUX_SLL2:
      return len >= 20 ? { off: 20, ethertype: d.getUint16(0) } : null;
    // libpcap reports DLT numbers: raw IP is 12 (or 14) on the BSDs and Linux, 101 in files.
    case abi.LINKTYPE_RAW:
    case abi.LINKTYPE_RAW_OPENBSD:
    case abi.LINKTYPE_RAW_BSDOS:
    case abi.LINKTYPE_IPV4:
    case abi.LINKTYPE_IPV6:
      return len >= 1 ? { off: 0, ethertype: d.getUint8(0) >> 4 === 6 ? 0x86dd : 0x0800 } : null;
    case abi.LINKTYPE_NULL:
    case abi.LINKTYPE_LOOP:
      return len >= 5 ? { off: 4, ethertype: d.getUint8(4) >> 4 === 6 ? 0x86dd : 0x0800 } : null;
    default:
      return null;
  }
}

const RECENT_UDP = 4096;

export class FirstPackets {
  readonly #udp = new Set<string>();

  constructor(private readonly resolver: ProcessResolver, private readonly local: Set<string>) {}

  /** A hint when this packet opens a connection whose local sender's process can be found. */
  see(linktype: number, frame: Uint8Array): OwnerHint | null {
    const d = new DataView(frame.buffer, frame.byteOffset, frame.length);
    const net = network(linktype, d);
    if (!net) return null;
    const o = net.off;
    let proto: number, l4: number, src: string, dst: string;
    if (net.ethertype === 0x0800 && frame.length >= o + 20) {
      proto = frame[o + 9];
      l4 = o + (frame[o] & 0x0f) * 4;
      if ((d.getUint16(o + 6) & 0x1fff) !== 0) return null;
      src = formatAddress(4, frame, o + 12);
      dst = formatAddress(4, frame, o + 16);
    } else if (net.ethertype === 0x86dd && frame.length >= o + 40) {
      proto = frame[o + 6];
      l4 = o + 40;
      src = formatAddress(6, frame, o + 8);
      dst = formatAddress(6, frame, o + 24);
    } else return null;
    if ((proto !== 6 && proto !== 17) || frame.length < l4 + 4 || !this.local.has(src)) return null;
    const sport = d.getUint16(l4), dport = d.getUint16(l4 + 2);
    if (proto === 6) {
      if (frame.length < l4 + 14 || (frame[l4 + 13] & 0x02) === 0) return null;
    } else {
      const key = `${src} ${sport} ${dst} ${dport}`;
      if (this.#udp.has(key)) return null;
      if (this.#udp.size >= RECENT_UDP) this.#udp.clear();
      this.#udp.add(key);
    }
    const owner = this.resolver.lookup(proto === 6 ? "tcp" : "udp", { address: src, port: sport }, {
      address: dst,
      port: dport,
    });
    return owner ? { endpoint: `${proto} ${src} ${sport}`, owner } : null;
  }
}
