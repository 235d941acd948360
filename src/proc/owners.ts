// Ties packets and flows to processes during a live capture. Each local endpoint of a flow is
// looked up on the flow's first packets and then pinned, so it survives the socket closing: a
// packet shows the process that sent it (or, for traffic coming in, the one receiving it), and a
// flow belongs to its initiator's process when that one is local.
import { networkInterfaces } from "node:os";
import type { PacketRecord } from "../decoder/records.ts";
import { BoundedTable } from "../base/bounded_table.ts";
import type { OwnerHint } from "./first_packets.ts";
import type { ProcessInfo, ProcessLookup } from "./process.ts";

export type Direction = "in" | "out" | "local" | "fwd";

/** The process behind a packet, and whether it sent the packet (else it received it). */
export interface PacketOwner {
  process: ProcessInfo;
  sent: boolean;
}

/** Who a packet belongs to: the processes at its local ends, and those of its flow. */
export interface Attribution {
  /** Its local sender, else its local receiver. */
  packet: PacketOwner | null;
  /** Its receiver too, when both ends are on this machine (loopback, containers). */
  peer: ProcessInfo | null;
  /** The flow's process: its initiator's when local, else its responder's. */
  flow: ProcessInfo | null;
  /** The flow's responder's process, when the responder is local. */
  responder: ProcessInfo | null;
}

/** What the session knows of a packet beyond its record (live captures only). */
export interface PacketContext {
  /** Seen from this machine: in, out, local or forwarded. */
  direction: Direction | null;
  /** The process that sent it, or else the local one that received it. */
  owner: PacketOwner | null;
  /** The process that received it, when the sender's is `owner` and both ends are on this machine. */
  peer: ProcessInfo | null;
}

/** What a session asks of live process attribution, packet by packet. */
export interface Attributor {
  direction(p: PacketRecord): Direction;
  attribute(p: PacketRecord): Attribution;
  /** The flow ended: its owners may be forgotten. */
  flowEnded(flowId: number): void;
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
/**
 * A side still unowned after those is looked up again this often while its packets come, a few
 * times: on a busy machine a lookup can lose the race with a socket's first packets, and a
 * connection that lasts is worth naming late rather than never.
 */
const RETRY_MS = 1000;
const LATE_TRIES = 5;

interface Side {
  owner: ProcessInfo | null;
  tries: number;
  settled: boolean;
  /** When an unowned side may be looked up again (after its first TRIES). */
  retryAt: number;
}

interface FlowSides {
  /** By "address port": the flow's two endpoints. */
  sides: Map<string, Side>;
  /** The flow's initiator's endpoint (for the flow's owner). */
  initiator: string;
}

export class FlowOwners implements Attributor {
  readonly #flows = new Map<number, FlowSides>();
  /** Owners the capture worker found for connections' first packets, until their flow takes them. */
  readonly #hints = new BoundedTable<ProcessInfo>("owner_hints", 65536);
  lookups = 0;

  constructor(private readonly lookup: ProcessLookup, private readonly local = localAddresses()) {}

  /** How owners are found (the lookup's method). */
  get method(): string {
    return this.lookup.method;
  }

  /** Capture ended: the lookup's resources go. */
  close(): void {
    this.lookup.close?.();
  }

  /** Owners found by the capture worker ("proto address port" -> process). */
  hint(hints: OwnerHint[]): void {
    for (const h of hints) this.#hints.set(h.endpoint, h.owner);
  }

  isLocal(address: string): boolean {
    return this.local.has(address) || isLoopback(address);
  }

  direction(p: PacketRecord): Direction {
    const src = this.isLocal(p.src), dst = this.isLocal(p.dst);
    return src && dst ? "local" : src ? "out" : dst ? "in" : "fwd";
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
      // The decoder knows which end started the flow (the SYN's sender), whichever packet comes first here.
      const initiator = p.fromResponder ? dst : src;
      f = { sides: new Map(), initiator: `${initiator.address} ${initiator.port}` };
      this.#flows.set(p.flowId, f);
    }
    const key = `${local.address} ${local.port}`;
    let s = f.sides.get(key);
    if (!s) f.sides.set(key, s = { owner: null, tries: 0, settled: false, retryAt: 0 });
    if (!s.settled && (s.tries < TRIES || performance.now() >= s.retryAt)) {
      const hintKey = `${proto === "tcp" ? 6 : 17} ${key}`;
      const hinted = this.#hints.get(hintKey);
      this.#hints.delete(hintKey);
      s.tries++;
      if (!hinted) this.lookups++;
      s.owner = hinted ?? this.lookup.lookup(proto, local, remote, key !== f.initiator);
      s.settled = s.owner !== null || s.tries >= TRIES + LATE_TRIES;
      if (s.tries >= TRIES) s.retryAt = performance.now() + RETRY_MS;
    }
    return s;
  }

  attribute(p: PacketRecord): Attribution {
    const sender = this.#side(p, true)?.owner ?? null;
    const receiver = this.#side(p, false)?.owner ?? null;
    const f = this.#flows.get(p.flowId);
    const initiator = f?.sides.get(f.initiator);
    let responder: ProcessInfo | null = null;
    for (const [key, side] of f?.sides ?? []) if (key !== f!.initiator) responder ??= side.owner;
    return {
      packet: sender ? { process: sender, sent: true } : receiver ? { process: receiver, sent: false } : null,
      peer: sender ? receiver : null,
      // A local initiator owns its flow, found or not: the responder stands in only for a remote one.
      flow: initiator ? initiator.owner : responder,
      responder,
    };
  }

  /** A flow ended: forget it (its owner was reported with its packets and record). */
  flowEnded(flowId: number): void {
    this.#flows.delete(flowId);
  }
}
