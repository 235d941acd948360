// Per-host, per-conversation and per-service totals built from flow records, for the report.
import type { FlowRecord } from "../decoder/records.ts";
import { serviceName, servicePort } from "./services.ts";
import { TopTable } from "./top_table.ts";

export interface HostTotals {
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  flows: number;
}

export interface ConversationTotals {
  packetsAtoB: number;
  bytesAtoB: number;
  packetsBtoA: number;
  bytesBtoA: number;
  flows: number;
  firstSec: number;
  lastSec: number;
}

export interface ServiceTotals {
  flows: number;
  packets: number;
  bytes: number;
}

/** Most distinct keys kept per table before the smallest are folded away. */
export const TABLE_CAPACITY = 100_000;

export class TrafficAggregates {
  readonly hosts = new TopTable<HostTotals>(
    TABLE_CAPACITY,
    () => ({ packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0, flows: 0 }),
    (h) => h.bytesSent + h.bytesReceived,
  );
  readonly conversations = new TopTable<ConversationTotals>(
    TABLE_CAPACITY,
    () => ({
      packetsAtoB: 0,
      bytesAtoB: 0,
      packetsBtoA: 0,
      bytesBtoA: 0,
      flows: 0,
      firstSec: Infinity,
      lastSec: 0,
    }),
    (c) => c.bytesAtoB + c.bytesBtoA,
  );
  readonly services = new TopTable<ServiceTotals>(
    TABLE_CAPACITY,
    () => ({ flows: 0, packets: 0, bytes: 0 }),
    (s) => s.bytes,
  );
  /** Distinct flows (continuation records after an active timeout count once). */
  flows = 0;

  add(f: FlowRecord): void {
    if (f.seq === 0) this.flows++;
    const newFlow = f.seq === 0 ? 1 : 0;
    const a = this.hosts.get(f.src);
    a.packetsSent += f.packetsAtoB;
    a.bytesSent += f.bytesAtoB;
    a.packetsReceived += f.packetsBtoA;
    a.bytesReceived += f.bytesBtoA;
    a.flows += newFlow;
    if (f.dst !== f.src) {
      const b = this.hosts.get(f.dst);
      b.packetsSent += f.packetsBtoA;
      b.bytesSent += f.bytesBtoA;
      b.packetsReceived += f.packetsAtoB;
      b.bytesReceived += f.bytesAtoB;
      b.flows += newFlow;
    }
    // Conversations are per address pair, oriented lowest address first.
    const forward = f.src <= f.dst;
    const c = this.conversations.get(forward ? `${f.src} ${f.dst}` : `${f.dst} ${f.src}`);
    c.packetsAtoB += forward ? f.packetsAtoB : f.packetsBtoA;
    c.bytesAtoB += forward ? f.bytesAtoB : f.bytesBtoA;
    c.packetsBtoA += forward ? f.packetsBtoA : f.packetsAtoB;
    c.bytesBtoA += forward ? f.bytesBtoA : f.bytesAtoB;
    c.flows += newFlow;
    c.firstSec = Math.min(c.firstSec, f.firstSec + f.firstNsec / 1e9);
    c.lastSec = Math.max(c.lastSec, f.lastSec + f.lastNsec / 1e9);
    const s = this.services.get(serviceKey(f));
    s.flows += newFlow;
    s.packets += f.packetsAtoB + f.packetsBtoA;
    s.bytes += f.bytesAtoB + f.bytesBtoA;
  }
}

/** "tcp/443", "udp/53", or the IP protocol name for flows without ports ("icmp"). */
export function serviceKey(f: FlowRecord): string {
  const proto = f.protocol.toLowerCase();
  if (f.srcPort === 0 && f.dstPort === 0) return proto;
  return `${proto}/${servicePort(f.ipProto, f.srcPort, f.dstPort)}`;
}

export function describeService(
  key: string,
): { protocol: string; port: number | null; service: string | null } {
  const [protocol, portText] = key.split("/");
  if (portText === undefined) return { protocol, port: null, service: null };
  const port = Number(portText);
  const ipProto = protocol === "tcp" ? 6 : protocol === "udp" ? 17 : protocol === "sctp" ? 132 : -1;
  return { protocol, port, service: serviceName(ipProto, port) ?? null };
}
