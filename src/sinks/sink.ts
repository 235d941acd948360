// What every sink can take from a session (src/pipeline/session.ts hands them out).
import type { AppEvent } from "../decoder/app_event.ts";
import type { PacketRecord } from "../decoder/records.ts";
import type { Direction, PacketOwner } from "../proc/owners.ts";
import type { FlowView } from "./rows.ts";

/** What the session knows of a packet beyond its record (live captures only). */
export interface PacketContext {
  /** Seen from this machine: in, out, local or forwarded. */
  direction: Direction | null;
  /** The process that sent it, or else the local one that received it. */
  owner: PacketOwner | null;
}

/** Where a session's records go: a terminal, an export, a store, a web view, a collector. */
export interface SessionSink {
  packet?(p: PacketRecord, who: PacketContext): void;
  flow?(view: FlowView): void;
  app?(e: AppEvent): void;
  /** Live only: each batch of pcap records once the decoder handed out its events. */
  batch?(records: Uint8Array): void;
  /** Input ended (or failed): write out and release. */
  close?(): void;
}
