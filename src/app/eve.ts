// Shapes every EVE event shares (Suricata 7): its timestamp, protocol name and 5-tuple.
import type { AppEvent } from "../decoder/app_event.ts";
import { ipProtocolName } from "../decoder/names.ts";
import type { EveRecord } from "./protocol.ts";

/** Suricata's timestamp: microseconds and a numeric zone ("2015-03-06T19:12:22.423355+0000"). */
export function eveTime(sec: number, nsec = 0): string {
  const d = new Date(sec * 1000);
  if (Number.isNaN(d.getTime())) return "";
  return d.toISOString().replace(/\.\d{3}Z$/, `.${String(Math.floor(nsec / 1000)).padStart(6, "0")}+0000`);
}

export function eveProto(proto: number): string {
  return proto === 58 ? "IPv6-ICMP" : ipProtocolName(proto);
}

/** The event's tuple as it travelled. */
export function eventTuple(e: AppEvent, proto: number): EveRecord {
  return { src_ip: e.src, src_port: e.srcPort, dest_ip: e.dst, dest_port: e.dstPort, proto: eveProto(proto) };
}

/** The event's tuple the other way round (Suricata's tuple is the client's, for answers too). */
export function reversedTuple(e: AppEvent, proto: number): EveRecord {
  return { src_ip: e.dst, src_port: e.dstPort, dest_ip: e.src, dest_port: e.srcPort, proto: eveProto(proto) };
}
