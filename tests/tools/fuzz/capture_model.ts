// A capture taken apart for mutation: the file header, its blocks or records, and each packet's
// bytes with its link type, so a mutator can grow or shrink a packet and the lengths around it
// (pcap record header, pcapng block length and trailer) are written back consistent. Mutators
// that lie about those lengths work on the serialised bytes instead.
import { concatBytes } from "../../helpers/util.ts";

export interface Packet {
  /** The record header (pcap: 16 bytes) or the EPB's fixed part (28 bytes, type and length included). */
  meta: Uint8Array;
  data: Uint8Array;
  /** An EPB's options (after the padded data, before the trailer). */
  options: Uint8Array;
  linktype: number;
}

export type Item = { packet: Packet } | { raw: Uint8Array };

export interface Capture {
  pcapng: boolean;
  little: boolean;
  /** pcap: the 24-byte file header; pcapng: empty (the SHB is an item). */
  head: Uint8Array;
  items: Item[];
}

const pad4 = (n: number) => (n + 3) & ~3;

/** The capture's structure, or null when it is not a pcap/pcapng this walk understands. */
export function parseCapture(b: Uint8Array): Capture | null {
  if (b.length < 24) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = dv.getUint32(0, true);
  if (magic === 0x0a0d0d0a) return parsePcapng(b, dv);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!little && magic !== 0xd4c3b2a1 && magic !== 0x4d3cb2a1) return null;
  const linktype = dv.getUint32(20, little) & 0xffff;
  const items: Item[] = [];
  let pos = 24;
  while (pos + 16 <= b.length) {
    const caplen = dv.getUint32(pos + 8, little);
    if (caplen > 1 << 20 || pos + 16 + caplen > b.length) break;
    const meta = b.slice(pos, pos + 16);
    items.push({
      packet: { meta, data: b.slice(pos + 16, pos + 16 + caplen), options: new Uint8Array(0), linktype },
    });
    pos += 16 + caplen;
  }
  if (pos < b.length) items.push({ raw: b.slice(pos) });
  return { pcapng: false, little, head: b.slice(0, 24), items };
}

function parsePcapng(b: Uint8Array, dv: DataView): Capture | null {
  const little = dv.getUint32(8, true) === 0x1a2b3c4d;
  const items: Item[] = [];
  let linktypes: number[] = [];
  let pos = 0;
  while (pos + 12 <= b.length) {
    const kind = dv.getUint32(pos, little);
    const len = dv.getUint32(pos + 4, little);
    if (len < 12 || len % 4 || pos + len > b.length) break;
    const block = b.slice(pos, pos + len);
    if (kind === 0x0a0d0d0a) linktypes = [];
    if (kind === 1 && len >= 20) linktypes.push(dv.getUint16(pos + 8, little));
    const caplen = kind === 6 && len >= 32 ? dv.getUint32(pos + 20, little) : -1;
    if (caplen >= 0 && 28 + pad4(caplen) + 4 <= len) {
      const iface = dv.getUint32(pos + 8, little);
      items.push({
        packet: {
          meta: block.slice(0, 28),
          data: block.slice(28, 28 + caplen),
          options: block.slice(28 + pad4(caplen), len - 4),
          linktype: linktypes[iface] ?? 1,
        },
      });
    } else items.push({ raw: block });
    pos += len;
  }
  if (pos < b.length) items.push({ raw: b.slice(pos) });
  return items.length ? { pcapng: true, little, head: new Uint8Array(0), items } : null;
}

/** The capture's bytes, every packet's lengths written to match its data. */
export function serialise(c: Capture): Uint8Array {
  const parts: Uint8Array[] = [c.head];
  for (const item of c.items) {
    if ("raw" in item) {
      parts.push(item.raw);
      continue;
    }
    const p = item.packet;
    if (!c.pcapng) {
      const meta = p.meta.slice();
      const dv = new DataView(meta.buffer);
      dv.setUint32(8, p.data.length, c.little);
      if (dv.getUint32(12, c.little) < p.data.length) dv.setUint32(12, p.data.length, c.little);
      parts.push(meta, p.data);
      continue;
    }
    const len = 28 + pad4(p.data.length) + p.options.length + 4;
    const block = new Uint8Array(len);
    const dv = new DataView(block.buffer);
    block.set(p.meta);
    dv.setUint32(4, len, c.little);
    dv.setUint32(20, p.data.length, c.little);
    if (dv.getUint32(24, c.little) < p.data.length) dv.setUint32(24, p.data.length, c.little);
    block.set(p.data, 28);
    block.set(p.options, 28 + pad4(p.data.length));
    dv.setUint32(len - 4, len, c.little);
    parts.push(block);
  }
  return concatBytes(parts);
}

/** Where each packet's record or block starts in `serialise(c)`, with its data length. */
export function packetOffsets(c: Capture): [number, number][] {
  const out: [number, number][] = [];
  let at = c.head.length;
  for (const item of c.items) {
    if ("raw" in item) {
      at += item.raw.length;
      continue;
    }
    const p = item.packet;
    out.push([at, p.data.length]);
    at += c.pcapng ? 28 + pad4(p.data.length) + p.options.length + 4 : 16 + p.data.length;
  }
  return out;
}

/** Where a packet's layers start, as far as they could be told. */
export interface Layers {
  /** Offset of the IP header, or -1. */
  ip: number;
  ipVersion: 4 | 6 | 0;
  /** Offset of the transport header, or -1 (IPv6 extension headers are walked). */
  l4: number;
  /** The transport protocol (6 TCP, 17 UDP, ...). */
  proto: number;
  /** Offset of the transport payload, or -1. */
  payload: number;
}

const ETHERTYPE_OFFSET: Record<number, number> = { 1: 12, 113: 14 };

/** The layers of a packet of link type LINKTYPE (Ethernet with VLANs, SLL, SLL2, NULL/LOOP, raw IP). */
export function layersOf(linktype: number, d: Uint8Array): Layers {
  const none: Layers = { ip: -1, ipVersion: 0, l4: -1, proto: -1, payload: -1 };
  let ip = -1;
  if (linktype in ETHERTYPE_OFFSET || linktype === 276) {
    let at = linktype === 276 ? 0 : ETHERTYPE_OFFSET[linktype];
    let type = (d[at] << 8) | d[at + 1];
    while ((type === 0x8100 || type === 0x88a8) && at + 6 <= d.length) {
      at += 4;
      type = (d[at] << 8) | d[at + 1];
    }
    if (type === 0x0800 || type === 0x86dd) ip = linktype === 276 ? 20 : at + 2;
  } else if (linktype === 0 || linktype === 108) ip = 4;
  else if (linktype === 101 || linktype === 12 || linktype === 14 || linktype === 228 || linktype === 229) {
    ip = 0;
  }
  if (ip < 0 || ip >= d.length) return none;
  const version = d[ip] >> 4;
  if (version === 4) {
    const l4 = ip + (d[ip] & 0x0f) * 4;
    return transport({ ip, ipVersion: 4, l4, proto: d[ip + 9], payload: -1 }, d);
  }
  if (version !== 6) return none;
  let next = d[ip + 6], at = ip + 40;
  // Hop-by-hop, routing, destination options, mobility: length in 8-byte units after the first 8.
  while ([0, 43, 60, 135].includes(next) && at + 2 <= d.length) {
    const following = d[at];
    at += 8 + d[at + 1] * 8;
    next = following;
  }
  if (next === 44 && at + 8 <= d.length) {
    next = d[at];
    at += 8;
  }
  return transport({ ip, ipVersion: 6, l4: at, proto: next, payload: -1 }, d);
}

function transport(l: Layers, d: Uint8Array): Layers {
  if (l.l4 >= d.length) return { ...l, l4: -1 };
  if (l.proto === 6 && l.l4 + 13 < d.length) l.payload = l.l4 + (d[l.l4 + 12] >> 4) * 4;
  else if (l.proto === 17) l.payload = l.l4 + 8;
  if (l.payload > d.length) l.payload = -1;
  return l;
}
