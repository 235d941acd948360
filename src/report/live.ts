// What a live capture shows as it runs: the stats panel (rates in/out, top talkers, processes,
// protocols), sockethound's periodic table of active sockets, recent DNS answers, and the
// per-process totals of the final report. Everything is bounded: sockets leave when their flow
// ends, counters fold their smallest entries.
import type { PacketRecord } from "../decoder/records.ts";
import type { DnsMessage } from "../app/dns/message.ts";
import { Counter } from "../base/counter.ts";
import type { ProcessInfo } from "../proc/process.ts";
import type { Direction, PacketOwner } from "../proc/owners.ts";
import { ProcessTable } from "./processes.ts";
import { bitsPerSecond, bytesText, count, percent, printable, type Style, table } from "../base/format.ts";
import { endpoint, processLabel } from "../sinks/terminal.ts";

interface Socket {
  protocol: string;
  local: string;
  remote: string;
  owner: ProcessInfo | null;
  bytesIn: number;
  bytesOut: number;
  packets: number;
}

const MAX_SOCKETS = 100_000;

/** Traffic since the last panel, by direction as seen from this machine. */
class Interval {
  readonly start = performance.now();
  packets = 0;
  readonly bytes: Record<Direction, number> = { in: 0, out: 0, local: 0, fwd: 0 };
  readonly talkers = new Counter(10_000);
  readonly protocols = new Counter(100);
  readonly apps = new Counter(100);
  readonly processes = new Counter(10_000);
}

export class LiveView {
  #interval = new Interval();
  readonly #sockets = new Map<number, Socket>();
  readonly processes = new ProcessTable();
  readonly #dns: string[] = [];

  constructor(private readonly dnsKept = 10) {}

  /** A packet shown; `app` is its flow's application protocol when one was found. */
  add(p: PacketRecord, dir: Direction, packetOwner: PacketOwner | null, app: string | null): void {
    const owner = packetOwner?.process ?? null;
    const inbound = dir === "in";
    const i = this.#interval;
    i.packets++;
    i.bytes[dir] += p.wirelen;
    // The other end: the source of what comes in, else the destination.
    i.talkers.add(inbound ? p.src : p.dst, p.wirelen);
    i.protocols.add(p.protocol);
    if (app) i.apps.add(app);
    if (owner) i.processes.add(processLabel(owner), p.wirelen);
    if (!p.flowId) return;
    let s = this.#sockets.get(p.flowId);
    if (!s && this.#sockets.size < MAX_SOCKETS) {
      const src = endpoint(p.src, p.srcPort), dst = endpoint(p.dst, p.dstPort);
      s = {
        protocol: p.protocol,
        local: inbound ? dst : src,
        remote: inbound ? src : dst,
        owner,
        bytesIn: 0,
        bytesOut: 0,
        packets: 0,
      };
      this.#sockets.set(p.flowId, s);
    }
    if (s) {
      s.owner ??= owner;
      s.packets++;
      if (inbound) s.bytesIn += p.wirelen;
      else s.bytesOut += p.wirelen;
    }
    if (packetOwner) this.processes.add(packetOwner.process, p.flowId, p.wirelen, packetOwner.sent);
  }

  /** A flow ended: its socket leaves the active table. */
  endFlow(flowId: number): void {
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

  /** Packets since the last panel. */
  get pending(): number {
    return this.#interval.packets;
  }

  /** The stats panel for the time since the last one, then starts a new interval. */
  panel(st: Style, top: number): string {
    const i = this.#interval;
    this.#interval = new Interval();
    const secs = Math.max(0.001, (performance.now() - i.start) / 1000);
    const total = i.bytes.in + i.bytes.out + i.bytes.local + i.bytes.fwd;
    const list = (c: Counter, fmt: (n: number) => string) =>
      c.top(top).map(([k, n]) => `${k} ${fmt(n)}`).join(", ") || "-";
    const share = (n: number) => `${count(n)} (${percent((100 * n) / i.packets)})`;
    const rate = (dir: Direction) =>
      `${dir} ${bitsPerSecond((8 * i.bytes[dir]) / secs)} (${count(i.bytes[dir])} B)`;
    const dirs: Direction[] = ["in", "out", ...(["local", "fwd"] as const).filter((d) => i.bytes[d] > 0)];
    return [
      st.heading(
        `-- ${clock()} -- last ${secs.toFixed(1)} s: ${count(i.packets)} packets, ${count(total)} bytes`,
      ),
      `  Bandwidth  ${dirs.map(rate).join("  ")}  ${count(i.packets / secs)} pkt/s`,
      `  Talkers    ${list(i.talkers, bytesText)}`,
      `  Processes  ${list(i.processes, bytesText)}`,
      `  Protocols  ${list(i.protocols, share)}`,
      `  Apps       ${list(i.apps, count)}`,
    ].join("\n");
  }

  /** Active sockets by bytes (or processes, grouped), and the latest DNS answers. */
  socketsReport(st: Style, top: number, byProcess: boolean): string {
    const out = [st.heading(`-- active sockets at ${clock()}`)];
    const all = [...this.#sockets.values()];
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
}

/** The local time of day, HH:MM:SS. */
function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}
