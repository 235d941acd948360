// Ties packets and flows to processes during a live capture. Each local endpoint of a flow is
// looked up on the flow's first packets and then pinned, so it survives the socket closing: a
// packet shows the process that sent it (or, for traffic coming in, the one receiving it), and a
// flow belongs to its initiator's process when that one is local.
import { networkInterfaces } from "node:os";
import type { PacketRecord } from "../decoder/records.ts";
import { ProcessResolver } from "./linux.ts";
import type { ProcessInfo } from "./process.ts";
import type { OwnerHint } from "./first_packets.ts";

export type Direction = "in" | "out" | "local" | "fwd";

/** The process behind a packet, and whether it sent the packet (else it received it). */
export interface PacketOwner {
  process: ProcessInfo;
  sent: boolean;
}

/** The machine's own addresses (loopback included). */
export function localAddresses(): Set<string> {
  const out = new Set(["127.0.0.1", "::1"]);
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) out.add(a.address.replace(/%.*$/, ""));
  }
  return out;
}

const isLoopback = (a: string) => a.startsWith("127.") || a === "::1";

/** Packets an endpoint gets looked up on before it is given up as unowned. */
const TRIES = 3;

interface Side {
  owner: ProcessInfo | null;
  tries: number;
  settled: boolean;
}

interface FlowSides {
  /** By "address port": the flow's two endpoints. */
  sides: Map<string, Side>;
  /** The first packet's sender (the flow's initiator, for the flow's owner). */
  initiator: string;
}

export class FlowOwners {
  readonly #flows = new Map<number, FlowSides>();
  /** Owners the capture worker found for connections' first packets, until their flow takes them. */
  readonly #hints = new Map<string, ProcessInfo>();
  readonly #resolver: ProcessResolver;
  readonly #local: Set<string>;
  lookups = 0;

  constructor(refreshMs = 1000, local = localAddresses()) {
    this.#resolver = new ProcessResolver(refreshMs);
    this.#resolver.warmUp();
    this.#local = local;
  }

  /** Owners found by the capture worker ("proto address port" -> process). */
  hint(hints: OwnerHint[]): void {
    for (const h of hints) {
      if (this.#hints.size >= 65536) this.#hints.delete(this.#hints.keys().next().value!);
      this.#hints.set(h.endpoint, h.owner);
    }
  }

  isLocal(address: string): boolean {
    return this.#local.has(address) || isLoopback(address);
  }

  direction(p: PacketRecord): Direction {
    const src = this.isLocal(p.src), dst = this.isLocal(p.dst);
    return src && dst ? "local" : src ? "out" : dst ? "in" : "fwd";
  }

  /** The process behind a packet: its local sender, else its local receiver. */
  owner(p: PacketRecord): PacketOwner | null {
    const sender = this.#side(p, true)?.owner;
    if (sender) return { process: sender, sent: true };
    const receiver = this.#side(p, false)?.owner;
    return receiver ? { process: receiver, sent: false } : null;
  }

  /** The processes at the packet's local ends: its sender's and its receiver's (both on loopback). */
  ends(p: PacketRecord): ProcessInfo[] {
    const out: ProcessInfo[] = [];
    for (const sent of [true, false]) {
      const owner = this.#side(p, sent)?.owner;
      if (owner) out.push(owner);
    }
    return out;
  }

  /** The packet's local sender (or receiver) endpoint, looked up on its first packets. */
  #side(p: PacketRecord, sender: boolean): Side | null {
    if (!p.flowId || p.srcPort === null || p.dstPort === null) return null;
    const proto = p.ipProto === 6 ? "tcp" : p.ipProto === 17 ? "udp" : null;
    if (!proto) return null;
    const src = { address: p.src, port: p.srcPort }, dst = { address: p.dst, port: p.dstPort };
    const [local, remote] = sender ? [src, dst] : [dst, src];
    if (!this.isLocal(local.address)) return null;
    let f = this.#flows.get(p.flowId);
    if (!f) {
      f = { sides: new Map(), initiator: `${p.src} ${p.srcPort}` };
      this.#flows.set(p.flowId, f);
    }
    const key = `${local.address} ${local.port}`;
    let s = f.sides.get(key);
    if (!s) f.sides.set(key, s = { owner: null, tries: 0, settled: false });
    if (!s.settled) {
      const hintKey = `${proto === "tcp" ? 6 : 17} ${key}`;
      const hinted = this.#hints.get(hintKey);
      this.#hints.delete(hintKey);
      s.tries++;
      if (!hinted) this.lookups++;
      s.owner = hinted ?? this.#resolver.lookup(proto, local, remote);
      s.settled = s.owner !== null || s.tries >= TRIES;
    }
    return s;
  }

  /** The flow's process: its initiator's when local, else its responder's (undefined: unseen). */
  of(flowId: number): ProcessInfo | null | undefined {
    const f = this.#flows.get(flowId);
    if (!f) return undefined;
    const first = f.sides.get(f.initiator)?.owner;
    if (first) return first;
    for (const s of f.sides.values()) if (s.owner) return s.owner;
    return null;
  }

  /** A flow ended: forget it (its owner was reported with its packets and record). */
  forget(flowId: number): void {
    this.#flows.delete(flowId);
  }
}
