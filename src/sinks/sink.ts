// What every sink can take from a session (src/pipeline/session.ts hands them out).
import type { AppEvent } from "../decoder/app_event.ts";
import type { CommentRecord, PacketRecord } from "../decoder/records.ts";
import type { PacketContext } from "../proc/owners.ts";
import type { ProcessNote } from "../proc/process.ts";
import type { FlowView } from "./rows.ts";
import type { GeoInfo } from "../enrich/geo.ts";

export type { PacketContext };

/** A flow's processes: its owner (its initiator's when local) and its responder's. */
export interface FlowProcesses {
  owner: ProcessNote | null;
  responder: ProcessNote | null;
}

/** What a sink may ask the session while records flow. */
export interface SinkContext {
  /** The processes of an open flow, when known. */
  processesOf(flowId: number): FlowProcesses | null;
  /** Country and AS of an address, when geoip is on. */
  geoOf?(address: string): GeoInfo | null;
}

/** Where a session's records go: a terminal, an export, a store, a web view, a collector. */
export interface SessionSink {
  packet?(p: PacketRecord, who: PacketContext): void;
  flow?(view: FlowView): void;
  app?(e: AppEvent): void;
  /** A packet's pcapng comment, handed out after the packet's other events. */
  comment?(c: CommentRecord): void;
  /** Live only: each batch of pcap records once the decoder handed out its events. */
  batch?(records: Uint8Array): void;
  /** Called once before the first record, with the session's lookups. */
  bind?(context: SinkContext): void;
  /** Input ended (or failed): write out and release. */
  close?(): void;
}
