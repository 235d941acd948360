// Packet lines for the terminal, in ProcShark's columns:
//   Time  Dir  Proto  Flags  Source  Destination  Size  Service  Process  Application
// with a colour per protocol, a compact one-line form, and the payload as hex and ASCII.
import { dnsMessage } from "../app/dns/message.ts";
import { appName } from "../app/names.ts";
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import type { PacketRecord } from "../decoder/records.ts";
import { tcpFlagLetters } from "../decoder/names.ts";
import { serviceName } from "../flows/services.ts";
import { type ProcessInfo, processLabel } from "../proc/process.ts";
import { formatEndpoint } from "../base/address.ts";
import { printable } from "../base/format.ts";

export interface PrinterOptions {
  color: boolean;
  compact: boolean;
  verbose: boolean;
  /** Payload bytes shown under each line (0: none). */
  payload: number;
}

const COLORS: Record<string, string> = {
  TCP: "34",
  UDP: "32",
  ICMP: "33",
  ICMPv6: "33",
  ARP: "36",
  DNS: "35",
  TLS: "95",
  QUIC: "95",
  HTTP: "94",
};

/** Local time of day with microseconds, as tcpdump prints it. */
function time(sec: number, nsec: number): string {
  const d = new Date(sec * 1000);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.` +
    String(Math.floor(nsec / 1000)).padStart(6, "0");
}

/** What an application message says, in a few words ("DNS A? example.com", "HTTP 200"). */
export function appLabel(e: AppEvent): string {
  const name = appName(e.app)?.toUpperCase() ?? "";
  let text = name;
  if (e.kind === abi.AK_DNS) {
    const m = dnsMessage(e);
    const q = m.questions[0];
    text = `DNS ${m.response ? `${m.rcode} ` : ""}${q ? `${q.type}? ${q.name}` : ""}`.trim();
  } else if (e.kind === abi.AK_HTTP_REQUEST) {
    text = `HTTP ${e.str(abi.F_HTTP_METHOD) ?? ""} ${e.str(abi.F_HTTP_HOST) ?? ""}${
      e.str(abi.F_HTTP_URI) ?? ""
    }`;
  } else if (e.kind === abi.AK_HTTP_RESPONSE) {
    text = `HTTP ${e.num(abi.F_HTTP_STATUS) ?? ""}`;
  } else if (e.kind === abi.AK_TLS_CLIENT_HELLO) {
    text = `TLS ClientHello ${e.str(abi.F_TLS_SNI) ?? ""}`.trim();
  }
  // Names, hosts and URIs come from the wire: nothing in them may drive the terminal.
  return printable(text);
}

/** The service a packet's ports name: the lower port's when both name one (servers have low ports). */
function portService(ipProto: number, a: number, b: number): string {
  const [low, high] = a < b ? [a, b] : [b, a];
  return serviceName(ipProto, low) ?? serviceName(ipProto, high) ?? "-";
}

export class PacketPrinter {
  constructor(private readonly o: PrinterOptions) {}

  #paint(code: string | undefined, s: string): string {
    return this.o.color && code ? `\x1b[${code}m${s}\x1b[0m` : s;
  }

  /**
   * The packet's line(s); `app` is the application protocol or message summary, if known; `peer`
   * the receiving process when both ends are on this machine (shown as "sender>receiver").
   */
  format(
    p: PacketRecord,
    dir: string,
    owner: ProcessInfo | null | undefined,
    app: string | null,
    peer: ProcessInfo | null = null,
  ): string {
    const who = peer ? `${processLabel(owner)}>${processLabel(peer)}` : processLabel(owner);
    const proto = app?.split(" ")[0] && COLORS[app.split(" ")[0]] ? app.split(" ")[0] : p.protocol;
    const color = COLORS[proto] ?? COLORS[p.protocol];
    const src = formatEndpoint(p.src, p.srcPort), dst = formatEndpoint(p.dst, p.dstPort);
    const flags = p.ipProto === 6 && p.srcPort !== null ? `[${tcpFlagLetters(p.tcpFlags)}]` : "";
    const service = p.srcPort === null ? "-" : portService(p.ipProto, p.srcPort, p.dstPort!);
    if (this.o.compact) {
      const line = [
        time(p.tsSec, p.tsNsec).slice(0, 12),
        dir.toUpperCase(),
        p.protocol,
        flags,
        `${src} > ${dst}`,
        String(p.wirelen),
        service,
        who,
        app ?? "",
      ].filter((c) => c !== "").join(" ");
      return this.#paint(color, line) + this.#payload(p);
    }
    const cols = [
      time(p.tsSec, p.tsNsec),
      dir.toUpperCase().padEnd(5),
      p.protocol.padEnd(6),
      flags.padEnd(8),
      src.padEnd(22),
      dst.padEnd(22),
      String(p.wirelen).padStart(6),
      service.padEnd(10),
      who.padEnd(20),
      app ?? "",
    ];
    let line = this.#paint(color, cols.join(" ").trimEnd());
    if (this.o.verbose) {
      const extra = [`flow ${p.flowId}`, `ttl ${p.ttl}`, `len ${p.ipLength}`, `payload ${p.payloadLength}`];
      if (p.ipProto === 6) extra.push(`seq ${p.tcpSeq}`, `ack ${p.tcpAck}`, `win ${p.tcpWindow}`);
      if (owner?.exe) extra.push(`exe ${printable(owner.exe, 200)}`);
      if (owner?.user) extra.push(`user ${printable(owner.user)}`);
      if (owner?.container) extra.push(`container ${printable(owner.container)}`);
      if (owner?.unit) extra.push(`unit ${printable(owner.unit)}`);
      if (p.malformed) extra.push(`malformed ${p.malformed}`);
      line += `\n    ${extra.join("  ")}`;
    }
    return line + this.#payload(p);
  }

  #payload(p: PacketRecord): string {
    if (!this.o.payload || p.payload.length === 0) return "";
    return "\n" + hexdump(p.payload.subarray(0, this.o.payload));
  }
}

/** Offset, 16 bytes in hex, then the printable ones as ASCII (as tcpdump -X prints). */
export function hexdump(b: Uint8Array): string {
  const lines: string[] = [];
  for (let off = 0; off < b.length; off += 16) {
    const row = b.subarray(off, off + 16);
    const hex = [...row].map((x) => x.toString(16).padStart(2, "0")).join(" ").padEnd(47);
    const ascii = [...row].map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : ".")).join("");
    lines.push(`    ${off.toString(16).padStart(4, "0")}  ${hex}  ${ascii}`);
  }
  return lines.join("\n");
}
