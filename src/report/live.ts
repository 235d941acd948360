// What a live capture shows as it runs: the stats panel (rates in/out, top talkers, processes,
// protocols), sockethound's periodic table of active sockets, recent DNS answers, and the
// per-process totals of the final report. Everything is bounded: sockets leave when their flow
// ends, counters fold their smallest entries.
import type { PacketRecord } from "../decoder/records.ts";
import type { DnsMessage } from "../app/dns.ts";
import { Counter } from "../app/counter.ts";
import type { ProcessInfo } from "../proc/linux.ts";
import type { Direction, PacketOwner } from "../proc/owners.ts";
import { ProcessTable } from "./processes.ts";
import { bitsPerSecond, bytesText, count, type Style, table } from "./format.ts";
import { processLabel } from "../sinks/terminal.ts";

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

export class LiveView {
  // Since the last panel.
  #interval = { start: performance.now(), bytesIn: 0, bytesOut: 0, packets: 0 };
  #talkers = new Counter(10_000);
  #protocols = new Counter(100);
  #intervalProcesses = new Counter(10_000);
  readonly #sockets = new Map<number, Socket>();
  readonly processes = new ProcessTable();
  readonly #dns: string[] = [];

  constructor(private readonly dnsKept = 10) {}

  add(p: PacketRecord, dir: Direction, packetOwner: PacketOwner | null, app: string | null): void {
    const owner = packetOwner?.process ?? null;
    const inbound = dir === "in";
    const i = this.#interval;
    i.packets++;
    if (inbound) i.bytesIn += p.wirelen;
    else i.bytesOut += p.wirelen;
    this.#talkers.add(inbound ? p.src : p.dst, p.wirelen);
    this.#protocols.add(app ?? p.protocol);
    if (owner) this.#intervalProcesses.add(processLabel(owner), p.wirelen);
    if (!p.flowId) return;
    let s = this.#sockets.get(p.flowId);
    if (!s && this.#sockets.size < MAX_SOCKETS) {
      const local = dir === "in" ? [p.dst, p.dstPort] : [p.src, p.srcPort];
      const remote = dir === "in" ? [p.src, p.srcPort] : [p.dst, p.dstPort];
      s = {
        protocol: p.protocol,
        local: `${local[0]}:${local[1] ?? ""}`,
        remote: `${remote[0]}:${remote[1] ?? ""}`,
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
    this.#dns.push(
      `${q.name} ${q.type} -> ${m.rcode === "NOERROR" ? answers.join(", ") || "(no answer)" : m.rcode}`,
    );
    if (this.#dns.length > this.dnsKept) this.#dns.shift();
  }

  /** The stats panel for the time since the last one, then starts a new interval. */
  panel(st: Style, top: number): string {
    const i = this.#interval;
    const secs = Math.max(0.001, (performance.now() - i.start) / 1000);
    const list = (c: Counter, fmt: (n: number) => string) =>
      c.top(top).map(([k, n]) => `${k} ${fmt(n)}`).join(", ") || "-";
    const lines = [
      st.heading(`-- ${new Date().toISOString().slice(11, 19)} -- last ${secs.toFixed(1)} s`),
      `  Bandwidth  in ${bitsPerSecond((8 * i.bytesIn) / secs)}  out ${
        bitsPerSecond((8 * i.bytesOut) / secs)
      }  ` +
      `${count(i.packets / secs)} pkt/s`,
      `  Talkers    ${list(this.#talkers, bytesText)}`,
      `  Processes  ${list(this.#intervalProcesses, bytesText)}`,
      `  Protocols  ${list(this.#protocols, count)}`,
    ];
    this.#interval = { start: performance.now(), bytesIn: 0, bytesOut: 0, packets: 0 };
    this.#talkers = new Counter(10_000);
    this.#protocols = new Counter(100);
    this.#intervalProcesses = new Counter(10_000);
    return lines.join("\n");
  }

  /** Active sockets by bytes (or processes, grouped), and the latest DNS answers. */
  socketsReport(st: Style, top: number, byProcess: boolean): string {
    const out = [st.heading(`-- active sockets at ${new Date().toISOString().slice(11, 19)}`)];
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
