// In the capture worker: spot the first packet of each connection (TCP SYN or SYN-ACK, a UDP
// 4-tuple not seen lately) and look up the local sender's process at once, before a short-lived
// client can exit. Every packet passes through here, so the checks read the frame's bytes in
// place (bounds-checked) and text is only made for the few packets that need a lookup.
import { formatAddress, parseCidr } from "../base/address.ts";
import * as abi from "../decoder/abi.ts";
import type { ProcessInfo, ProcessLookup } from "./process.ts";

export interface OwnerHint {
  /** "proto address port" of the local endpoint that sent the packet. */
  endpoint: string;
  owner: ProcessInfo;
}

/** UDP 4-tuples remembered (a direct-mapped table: a collision only costs a repeated lookup). */
const UDP_BITS = 12;
const RECENT_UDP = 1 << UDP_BITS;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;

export class FirstPackets {
  readonly #local4 = new Set<number>();
  readonly #local6: Uint8Array[] = [];
  /** IPv4 UDP tuples as two exact 48-bit numbers: source address and port, destination's. */
  readonly #udpSrc = new Float64Array(RECENT_UDP).fill(-1);
  readonly #udpDst = new Float64Array(RECENT_UDP);
  readonly #udp6 = new Set<string>();
  /** Where the IP header starts, set by #network. */
  #ipOff = 0;

  constructor(private readonly resolver: ProcessLookup, local: Iterable<string>) {
    for (const address of local) {
      const c = parseCidr(address);
      if (c?.ipVersion === 4) this.#local4.add(new DataView(c.bytes.buffer).getUint32(0));
      else if (c) this.#local6.push(c.bytes);
    }
  }

  /**
   * A hint when the frame at `bytes[off, off + len)` opens a connection whose local sender's
   * process can be found (`d` views the same bytes as `bytes`).
   */
  see(linktype: number, bytes: Uint8Array, d: DataView, off: number, len: number): OwnerHint | null {
    const et = this.#network(linktype, d, off, len);
    const o = this.#ipOff, end = off + len;
    let proto: number, l4: number, v: 4 | 6;
    if (et === ETHERTYPE_IPV4 && end >= o + 20) {
      proto = bytes[o + 9];
      l4 = o + (bytes[o] & 0x0f) * 4;
      // Later fragments carry no ports.
      if ((d.getUint16(o + 6) & 0x1fff) !== 0 || !this.#local4.has(d.getUint32(o + 12))) return null;
      v = 4;
    } else if (et === ETHERTYPE_IPV6 && end >= o + 40) {
      proto = bytes[o + 6];
      l4 = o + 40;
      if (!this.#isLocal6(bytes, o + 8)) return null;
      v = 6;
    } else return null;
    if (end < l4 + 4) return null;
    const sport = d.getUint16(l4), dport = d.getUint16(l4 + 2);
    if (proto === 6) {
      if (end < l4 + 14 || (bytes[l4 + 13] & 0x02) === 0) return null;
    } else if (proto !== 17 || this.#seenUdp(v, bytes, d, o, sport, dport)) return null;
    const src = formatAddress(v, bytes, o + (v === 4 ? 12 : 8));
    const dst = formatAddress(v, bytes, o + (v === 4 ? 16 : 24));
    // A SYN-ACK comes from the connection's responder, a server that may not have accepted it yet.
    const responder = proto === 6 && (bytes[l4 + 13] & 0x10) !== 0;
    const owner = this.resolver.lookup(
      proto === 6 ? "tcp" : "udp",
      { address: src, port: sport },
      { address: dst, port: dport },
      responder,
    );
    return owner ? { endpoint: `${proto} ${src} ${sport}`, owner } : null;
  }

  /** The ethertype-like protocol of the network header (0 when unknown); sets #ipOff. */
  #network(linktype: number, d: DataView, off: number, len: number): number {
    switch (linktype) {
      case abi.LINKTYPE_ETHERNET: {
        if (len < 14) return 0;
        let at = off + 12;
        let et = d.getUint16(at);
        while ((et === 0x8100 || et === 0x88a8) && len >= at - off + 6) {
          at += 4;
          et = d.getUint16(at);
        }
        this.#ipOff = at + 2;
        return et;
      }
      case abi.LINKTYPE_LINUX_SLL:
        this.#ipOff = off + 16;
        return len >= 16 ? d.getUint16(off + 14) : 0;
      case abi.LINKTYPE_LINUX_SLL2:
        this.#ipOff = off + 20;
        return len >= 20 ? d.getUint16(off) : 0;
      // libpcap reports DLT numbers: raw IP is 12 (or 14) on the BSDs and Linux, 101 in files.
      case abi.LINKTYPE_RAW:
      case abi.LINKTYPE_RAW_OPENBSD:
      case abi.LINKTYPE_RAW_BSDOS:
      case abi.LINKTYPE_IPV4:
      case abi.LINKTYPE_IPV6:
        this.#ipOff = off;
        return len >= 1 ? ipVersionType(d.getUint8(off)) : 0;
      case abi.LINKTYPE_NULL:
      case abi.LINKTYPE_LOOP:
        this.#ipOff = off + 4;
        return len >= 5 ? ipVersionType(d.getUint8(off + 4)) : 0;
      default:
        return 0;
    }
  }

  #isLocal6(bytes: Uint8Array, at: number): boolean {
    next: for (const a of this.#local6) {
      for (let i = 0; i < 16; i++) if (a[i] !== bytes[at + i]) continue next;
      return true;
    }
    return false;
  }

  /** Whether this UDP 4-tuple was seen lately; remembers it when not. */
  #seenUdp(v: 4 | 6, bytes: Uint8Array, d: DataView, o: number, sport: number, dport: number): boolean {
    if (v === 6) {
      const key = `${formatAddress(6, bytes, o + 8)} ${sport} ${formatAddress(6, bytes, o + 24)} ${dport}`;
      if (this.#udp6.has(key)) return true;
      if (this.#udp6.size >= RECENT_UDP) this.#udp6.clear();
      this.#udp6.add(key);
      return false;
    }
    const src = d.getUint32(o + 12), dst = d.getUint32(o + 16);
    const a = src * 65536 + sport, b = dst * 65536 + dport;
    const slot = Math.imul(src ^ dst ^ ((sport << 16) | dport), 0x9e3779b1) >>> (32 - UDP_BITS);
    if (this.#udpSrc[slot] === a && this.#udpDst[slot] === b) return true;
    this.#udpSrc[slot] = a;
    this.#udpDst[slot] = b;
    return false;
  }
}

function ipVersionType(firstByte: number): number {
  return firstByte >> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
}
