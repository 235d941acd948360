// A Suricata-EVE-like NDJSON stream for SIEMs: alert events as they are raised, and the flow,
// dns, http and tls events of the traffic, with Suricata 7's field names and shapes (common
// fields timestamp, flow_id, event_type, src_ip, src_port, dest_ip, dest_port, proto, app_proto).
// Each protocol's events come from its room (app/<proto>/eve.ts); alerts and flows are written here.
import type { AppEvent } from "../decoder/app_event.ts";
import type { FlowRecord } from "../decoder/records.ts";
import type { ProcessNote } from "../proc/process.ts";
import type { FlowView } from "./rows.ts";
import { communityId } from "../flows/community_id.ts";
import type { FlowProcesses, SinkContext } from "./sink.ts";
import { eveProto, eveTime } from "../app/eve.ts";
import { appName } from "../app/names.ts";
import type { EveRecord } from "../app/protocol.ts";
import { eveLogs } from "../app/registry.ts";
import type { Alert, Severity } from "../detect/alert.ts";
import { BufferedWriter, type Sink } from "./export.ts";
import type { GeoInfo } from "../enrich/geo.ts";

type Json = EveRecord;

/** EVE's alert.severity: 1 is the most severe; notices (info) come after Suricata's lowest, 3. */
const EVE_SEVERITY: Record<Severity, number> = { critical: 1, high: 1, medium: 2, low: 3, info: 4 };

/** A stable signature id per alert type, in a range Suricata rules do not use. */
function signatureId(type: string): number {
  let h = 0;
  for (const c of type) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
  return 9_000_000 + (h % 1_000_000);
}

export class EveWriter {
  readonly #out: BufferedWriter;
  readonly #close: () => void;
  readonly #logs = eveLogs();
  readonly #byKind = new Map(this.#logs.flatMap((l) => l.kinds.map((k) => [k, l])));
  readonly #writeEvent = (event: EveRecord) => this.#write(event);
  events = 0;
  /** The seed of the alerts' Community IDs (flow events take their flow's). */
  communityIdSeed = 0;
  #context: SinkContext | undefined;

  private constructor(sink: Sink & { close?(): void }) {
    this.#out = new BufferedWriter(sink);
    this.#close = () => sink.close?.();
  }

  /** Writes to SINK (memory, a socket). */
  static to(sink: Sink): EveWriter {
    return new EveWriter(sink);
  }

  static async open(path: string): Promise<EveWriter> {
    if (path === "-") return new EveWriter({ writeSync: (p) => Deno.stdout.writeSync(p) });
    return new EveWriter(await Deno.open(path, { write: true, create: true, truncate: true }));
  }

  #write(event: Json): void {
    this.#out.write(JSON.stringify(event) + "\n");
    this.events++;
  }

  /** A new alert: written at once (and everything before it), so a SIEM tailing the file sees it now. */
  alert(a: Alert): void {
    const tuple: Json = { src_ip: a.src ?? undefined, dest_ip: a.dst ?? undefined };
    if (a.srcPort !== null) tuple.src_port = a.srcPort;
    if (a.dstPort !== null) tuple.dest_port = a.dstPort;
    const sec = Math.floor(a.firstSeen);
    this.#write({
      timestamp: eveTime(sec, Math.round((a.firstSeen - sec) * 1e9)),
      flow_id: a.flowId ?? undefined,
      event_type: "alert",
      ...tuple,
      proto: a.proto !== null ? eveProto(a.proto) : undefined,
      community_id: alertCommunityId(a, this.communityIdSeed),
      alert: {
        action: "allowed",
        gid: 1,
        signature_id: signatureId(a.type),
        rev: 1,
        signature: `WIRESIGHT ${a.type}: ${a.message}`,
        category: a.type.split(".")[0],
        severity: EVE_SEVERITY[a.severity],
        metadata: { wiresight_id: [a.id], wiresight_severity: [a.severity], hosts: a.hosts },
      },
      wiresight: {
        id: a.id,
        type: a.type,
        severity: a.severity,
        evidence: a.evidence,
        ...(a.flowId ? processFields(this.#context?.processesOf(a.flowId) ?? null) : {}),
        ...geoFields(
          a.src === null ? null : this.#context?.geoOf?.(a.src) ?? null,
          a.dst === null ? null : this.#context?.geoOf?.(a.dst) ?? null,
        ),
      },
    });
    this.#out.flush();
  }

  /** The session's lookups: an alert names the processes of its flow. */
  bind(context: SinkContext): void {
    this.#context = context;
  }

  flow({ record: f, owner, responder, communityId, srcGeo, dstGeo }: FlowView): void {
    for (const log of this.#logs) log.flowEnd(f.id, this.#writeEvent);
    const tcp = f.ipProto === 6;
    const flags = f.tcpFlagsA | f.tcpFlagsB;
    const closed = f.tcpState === "closed" || f.tcpState === "reset";
    const state = tcp
      ? closed
        ? "closed"
        : f.tcpState === "established" || f.tcpState === "half_closed"
        ? "established"
        : "new"
      : f.packetsBtoA > 0
      ? "established"
      : "new";
    const reason = f.endReason === "end_of_capture"
      ? "shutdown"
      : f.endReason === "evicted"
      ? "forced"
      : "timeout";
    const hex = (n: number) => (n & 0xff).toString(16).padStart(2, "0");
    this.#write({
      timestamp: eveTime(f.lastSec, f.lastNsec),
      flow_id: f.id,
      event_type: "flow",
      ...flowTuple(f),
      community_id: communityId,
      app_proto: appName(f.app) ?? undefined,
      flow: {
        pkts_toserver: f.packetsAtoB,
        pkts_toclient: f.packetsBtoA,
        bytes_toserver: f.bytesAtoB,
        bytes_toclient: f.bytesBtoA,
        start: eveTime(f.firstSec, f.firstNsec),
        end: eveTime(f.lastSec, f.lastNsec),
        age: Math.round(f.lastSec - f.firstSec),
        state,
        reason,
        alerted: false,
      },
      tcp: tcp
        ? {
          tcp_flags: hex(flags),
          tcp_flags_ts: hex(f.tcpFlagsA),
          tcp_flags_tc: hex(f.tcpFlagsB),
          syn: (flags & 0x02) !== 0 || undefined,
          fin: (flags & 0x01) !== 0 || undefined,
          rst: (flags & 0x04) !== 0 || undefined,
          psh: (flags & 0x08) !== 0 || undefined,
          ack: (flags & 0x10) !== 0 || undefined,
          state: f.tcpState || undefined,
        }
        : undefined,
      // Which programs these were, when the capture found them, and where the ends are (not
      // Suricata fields).
      wiresight: owner || responder || srcGeo || dstGeo
        ? { ...processFields({ owner, responder }), ...geoFields(srcGeo ?? null, dstGeo ?? null) }
        : undefined,
    });
  }

  /** An application event: written when its transaction is complete (Suricata logs per transaction). */
  app(e: AppEvent): void {
    this.#byKind.get(e.kind)?.add(e, this.#writeEvent);
  }

  close(): void {
    for (const log of this.#logs) log.close(this.#writeEvent);
    this.#out.flush();
    this.#close();
  }
}

/** An alert's Community ID, when it names a whole flow (ICMP alerts lack the message types). */
function alertCommunityId(a: Alert, seed: number): string | undefined {
  if (a.src === null || a.dst === null || a.proto === null || a.proto === 1 || a.proto === 58) {
    return undefined;
  }
  const ports = a.srcPort !== null && a.dstPort !== null;
  if (!ports && (a.proto === 6 || a.proto === 17 || a.proto === 132)) return undefined;
  const ends = { ipProto: a.proto, src: a.src, dst: a.dst, srcPort: a.srcPort ?? 0, dstPort: a.dstPort ?? 0 };
  return communityId(ends, seed);
}

function flowTuple(f: FlowRecord): Json {
  // Suricata gives ports only to protocols that have them (not ICMP).
  const ports = f.ipProto === 6 || f.ipProto === 17 || f.ipProto === 132;
  return {
    src_ip: f.src,
    src_port: ports ? f.srcPort : undefined,
    dest_ip: f.dst,
    dest_port: ports ? f.dstPort : undefined,
    proto: eveProto(f.ipProto),
  };
}

/** Country and AS of the ends, as EVE's `wiresight.src_geo` / `wiresight.dest_geo`. */
function geoFields(src: GeoInfo | null, dst: GeoInfo | null): Json {
  return { src_geo: src ?? undefined, dest_geo: dst ?? undefined };
}

/** The processes of a flow as EVE's `wiresight` fields carry them. */
function processFields(p: FlowProcesses | null): Json {
  const note = (n: ProcessNote | null) => n && { pid: n.pid, name: n.name, exe: n.exe, user: n.user };
  return p ? { process: note(p.owner) ?? undefined, responder_process: note(p.responder) ?? undefined } : {};
}
