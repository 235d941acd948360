// What a live capture shows as it runs, for the terminal and the web view alike: running totals
// (protocols, talkers, ports, flows), the traffic since the last tick (the stats panel, the web
// view's rate), sockethound's table of active sockets and the recent DNS answers. A talker is
// counted as the report counts it (each end of a packet, as tshark's endpoints). Everything is
// bounded: sockets leave when their flow ends, counters fold their smallest entries.
import { formatEndpoint } from "../base/address.ts";
import { Counter } from "../base/counter.ts";
import {
  bitsPerSecond,
  bytesText,
  count,
  percent,
  printable,
  rateText,
  type Style,
  table,
} from "../base/format.ts";
import type { DnsMessage } from "../app/dns/message.ts";
import type { PacketRecord } from "../decoder/records.ts";
import { serviceName } from "../flows/services.ts";
import type { Direction, PacketContext } from "../proc/owners.ts";
import { type ProcessInfo, processLabel } from "../proc/process.ts";
import type { ProtocolShare } from "./report.ts";

interface Socket {
  protocol: string;
  local: string;
  remote: string;
  owner: ProcessInfo | null;
  bytesIn: number;
  bytesOut: number;
  packets: number;
}

/** Traffic since the last tick. */
class Interval {
  readonly startMs = Date.now();
  readonly start = performance.now();
  packets = 0;
  readonly bytes: Record<Direction | "all", number> = { in: 0, out: 0, local: 0, fwd: 0, all: 0 };
  readonly talkers = new Counter(TALKERS_KEPT);
  readonly protocols = new Counter(100);
  readonly apps = new Counter(100);
  readonly processes = new Counter(TALKERS_KEPT);
}

/** The totals the web view's dashboard shows of a running capture (the report's keys, so far). */
export interface LiveTotals {
  packets: number;
  bytes: number;
  flows: number;
  start_epoch: number | null;
  end_epoch: number | null;
  duration_s: number;
  rates: { packets_per_s: number; bits_per_s: number; avg_packet_bytes: number };
  /** The last closed interval: its start (Unix seconds), length and traffic. */
  interval: { t: number; seconds: number; packets: number; bytes: number };
  protocols: Record<string, ProtocolShare>;
  top_talkers: { address: string; name: null; packets: number; bytes: number }[];
  top_ports: { protocol: string; port: number; service: string | null; packets: number; bytes: number }[];
}

const MAX_SOCKETS = 100_000;
const TALKERS_KEPT = 10_000;
const MAX_ACTIVE_FLOWS = 1_000_000;

export class LiveTraffic {
  packets = 0;
  bytes = 0;
  #first: number | null = null;
  #last: number | null = null;
  #endedFlows = 0;
  readonly #activeFlows = new Set<number>();
  readonly #protocols = new Map<string, { layer: ProtocolShare["layer"]; packets: number; bytes: number }>();
  readonly #talkerBytes = new Counter(TALKERS_KEPT);
  readonly #talkerPackets = new Counter(TALKERS_KEPT);
  readonly #portBytes = new Counter(TALKERS_KEPT);
  readonly #portPackets = new Counter(TALKERS_KEPT);
  #interval = new Interval();
  #lastInterval = { t: Date.now() / 1000, seconds: 0, packets: 0, bytes: 0 };
  /** The sockets of each active flow, by their local endpoint (two for a loopback flow). */
  readonly #sockets = new Map<number, Map<string, Socket>>();
  readonly #dns: string[] = [];

  constructor(private readonly dnsKept = 10) {}

  /** A packet; `app` is its flow's application protocol when one was found. */
  add(p: PacketRecord, who: PacketContext, app: string | null): void {
    const dir = who.direction;
    // The processes at its ends: the one that sent it and the one that received it (both on loopback).
    const sender = who.owner?.sent ? who.owner.process : null;
    const receiver = who.owner && !who.owner.sent ? who.owner.process : who.peer;
    const t = p.tsSec + p.tsNsec / 1e9;
    this.#first ??= t;
    this.#last = t;
    this.packets++;
    this.bytes += p.wirelen;
    const i = this.#interval;
    i.packets++;
    i.bytes.all += p.wirelen;
    if (dir) i.bytes[dir] += p.wirelen;
    i.protocols.add(p.protocol);
    if (app) i.apps.add(app);
    for (const proc of [sender, receiver]) if (proc) i.processes.add(processLabel(proc), p.wirelen);
    this.#layers(p);
    // Both ends, also when they are the same host: talking to itself, it sent and received the packet.
    for (const a of [p.src, p.dst]) {
      if (!a) continue;
      this.#talkerBytes.add(a, p.wirelen);
      this.#talkerPackets.add(a);
      i.talkers.add(a, p.wirelen);
    }
    if (p.srcPort !== null && p.dstPort !== null) {
      // The responder's port names the service (the initiator's is usually ephemeral).
      const key = `${p.protocol.toLowerCase()} ${p.fromResponder ? p.srcPort : p.dstPort}`;
      this.#portBytes.add(key, p.wirelen);
      this.#portPackets.add(key);
    }
    if (!p.flowId) return;
    if (this.#activeFlows.size < MAX_ACTIVE_FLOWS) this.#activeFlows.add(p.flowId);
    // The sockets at its local ends (a forwarded packet's source stands for one).
    if (dir !== "in") this.#socket(p, false, sender);
    if (dir === "in" || dir === "local") this.#socket(p, true, receiver);
  }

  #layers(p: PacketRecord): void {
    const network = p.ipVersion === 4
      ? "IPv4"
      : p.ipVersion === 6
      ? "IPv6"
      : p.protocol === "ARP"
      ? "ARP"
      : null;
    if (network) this.#protocol(network, "network", p.wirelen);
    if (p.ipVersion && (p.srcPort !== null || p.icmpType !== null)) {
      this.#protocol(p.protocol, "transport", p.wirelen);
    }
  }

  #protocol(name: string, layer: ProtocolShare["layer"], bytes: number): void {
    const e = this.#protocols.get(name);
    if (e) {
      e.packets++;
      e.bytes += bytes;
    } else if (this.#protocols.size < 300) this.#protocols.set(name, { layer, packets: 1, bytes });
  }

  /** A socket of the flow as seen from this machine (the receiver's when `inbound`): what came in, what went out. */
  #socket(p: PacketRecord, inbound: boolean, owner: ProcessInfo | null): void {
    const src = formatEndpoint(p.src, p.srcPort), dst = formatEndpoint(p.dst, p.dstPort);
    const local = inbound ? dst : src;
    let ends = this.#sockets.get(p.flowId);
    if (!ends) {
      if (this.#sockets.size >= MAX_SOCKETS) return;
      this.#sockets.set(p.flowId, ends = new Map());
    }
    let s = ends.get(local);
    if (!s) {
      s = {
        protocol: p.protocol,
        local: inbound ? dst : src,
        remote: inbound ? src : dst,
        owner,
        bytesIn: 0,
        bytesOut: 0,
        packets: 0,
      };
      ends.set(local, s);
    }
    s.owner ??= owner;
    s.packets++;
    if (inbound) s.bytesIn += p.wirelen;
    else s.bytesOut += p.wirelen;
  }

  /** A flow ended: it counts as ended and its socket leaves the active table. */
  endFlow(flowId: number): void {
    if (this.#activeFlows.delete(flowId)) this.#endedFlows++;
    this.#sockets.delete(flowId);
  }

  dns(m: DnsMessage): void {
    if (!m.response || !m.questions.length) return;
    const answers = m.records.filter((r) => r.section === "answer").map((r) => r.data.join(" "));
    const q = m.questions[0];
    // Names and answers come from the wire.
    this.#dns.push(printable(
      `${q.name} ${q.type} -> ${m.rcode === "NOERROR" ? answers.join(", ") || "(no answer)" : m.rcode}`,
      300,
    ));
    if (this.#dns.length > this.dnsKept) this.#dns.shift();
  }

  /** Packets since the last tick. */
  get pending(): number {
    return this.#interval.packets;
  }

  /** Closes the current interval and starts the next one. */
  tick(): Interval {
    const i = this.#interval;
    this.#interval = new Interval();
    this.#lastInterval = {
      t: i.startMs / 1000,
      seconds: (Date.now() - i.startMs) / 1000,
      packets: i.packets,
      bytes: i.bytes.all,
    };
    return i;
  }

  /** The stats panel for the time since the last tick (which it closes). */
  panel(st: Style, top: number): string {
    const i = this.tick();
    const secs = Math.max(0.001, (performance.now() - i.start) / 1000);
    const list = (c: Counter, fmt: (n: number) => string) =>
      c.top(top).map(([k, n]) => `${k} ${fmt(n)}`).join(", ") || "-";
    const share = (n: number) => `${count(n)} (${percent((100 * n) / i.packets)})`;
    const rate = (dir: Direction) =>
      `${dir} ${bitsPerSecond((8 * i.bytes[dir]) / secs)} (${count(i.bytes[dir])} B)`;
    const dirs: Direction[] = ["in", "out", ...(["local", "fwd"] as const).filter((d) => i.bytes[d] > 0)];
    return [
      st.heading(
        `-- ${clock()} -- last ${secs.toFixed(1)} s: ${count(i.packets)} packets, ${
          count(i.bytes.all)
        } bytes`,
      ),
      `  Bandwidth  ${dirs.map(rate).join("  ")}  ${rateText(i.packets / secs)} pkt/s`,
      `  Talkers    ${list(i.talkers, bytesText)}`,
      `  Processes  ${list(i.processes, bytesText)}`,
      `  Protocols  ${list(i.protocols, share)}`,
      `  Apps       ${list(i.apps, count)}`,
    ].join("\n");
  }

  /** Active sockets by bytes (or processes, grouped), and the latest DNS answers. */
  socketsReport(st: Style, top: number, byProcess: boolean): string {
    const out = [st.heading(`-- active sockets at ${clock()}`)];
    const all = [...this.#sockets.values()].flatMap((ends) => [...ends.values()]);
    if (byProcess) {
      const groups = new Map<string, { sockets: number; in: number; out: number; packets: number }>();
      for (const s of all) {
        const g = groups.get(processLabel(s.owner)) ?? { sockets: 0, in: 0, out: 0, packets: 0 };
        g.sockets++;
        g.in += s.bytesIn;
        g.out += s.bytesOut;
        g.packets += s.packets;
        groups.set(processLabel(s.owner), g);
      }
      const rows = [...groups].sort((a, b) => b[1].in + b[1].out - a[1].in - a[1].out).slice(0, top);
      out.push(table(
        ["Process", "Sockets", "Packets", "In", "Out"],
        rows.map(([k, g]) => [k, count(g.sockets), count(g.packets), bytesText(g.in), bytesText(g.out)]),
      ));
    } else {
      const rows = all.sort((a, b) => b.bytesIn + b.bytesOut - a.bytesIn - a.bytesOut).slice(0, top);
      out.push(table(
        ["Process", "Proto", "Local", "Remote", "Packets", "In", "Out"],
        rows.map((s) => [
          processLabel(s.owner),
          s.protocol,
          s.local,
          s.remote,
          count(s.packets),
          bytesText(s.bytesIn),
          bytesText(s.bytesOut),
        ]),
      ));
    }
    if (this.#dns.length) out.push("  Recent DNS:", ...this.#dns.map((d) => `    ${d}`));
    return out.join("\n");
  }

  /** The running totals, as the web view shows them. */
  totals(top = 10): LiveTotals {
    const duration = this.#first !== null && this.#last !== null ? Math.max(0, this.#last - this.#first) : 0;
    const pct = (n: number, of: number) => (of ? Math.round((10000 * n) / of) / 100 : 0);
    const protocols: Record<string, ProtocolShare> = {};
    for (const [name, e] of [...this.#protocols].sort((a, b) => b[1].packets - a[1].packets)) {
      protocols[name] = {
        ...e,
        percent_packets: pct(e.packets, this.packets),
        percent_bytes: pct(e.bytes, this.bytes),
      };
    }
    return {
      packets: this.packets,
      bytes: this.bytes,
      flows: this.#endedFlows + this.#activeFlows.size,
      start_epoch: this.#first,
      end_epoch: this.#last,
      duration_s: duration,
      rates: {
        packets_per_s: duration > 0 ? Math.round((100 * this.packets) / duration) / 100 : 0,
        bits_per_s: duration > 0 ? Math.round((800 * this.bytes) / duration) / 100 : 0,
        avg_packet_bytes: this.packets ? Math.round((100 * this.bytes) / this.packets) / 100 : 0,
      },
      interval: this.#lastInterval,
      protocols,
      top_talkers: this.#talkerBytes.top(top).map(([address, bytes]) => ({
        address,
        name: null,
        packets: this.#talkerPackets.get(address),
        bytes,
      })),
      top_ports: this.#portBytes.top(top).map(([key, bytes]) => {
        const [protocol, port] = key.split(" ");
        return {
          protocol,
          port: Number(port),
          service: serviceName(protocol === "tcp" ? 6 : 17, Number(port)) ?? null,
          packets: this.#portPackets.get(key),
          bytes,
        };
      }),
    };
  }
}

/** The local time of day, HH:MM:SS. */
function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}
