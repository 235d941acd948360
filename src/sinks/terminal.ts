// Packet lines for the terminal and `read --lines`, in ProcShark's columns:
//   Time  Dir  Proto  Flags  Source  Destination  Size  Service  Process  Application
// with a colour per protocol, a compact one-line form, and the payload as tcpdump -X or -A prints it.
// The first eight columns never hold a space ("-" when empty), so `awk '{print $5}'` is the source.
import { dnsMessage } from "../app/dns/message.ts";
import { appName } from "../app/names.ts";
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import type { PacketRecord } from "../decoder/records.ts";
import { tcpFlagLetters } from "../decoder/names.ts";
import { serviceName } from "../flows/services.ts";
import { type ProcessInfo, processLabel, type ProcessNote } from "../proc/process.ts";
import { formatEndpoint } from "../base/address.ts";
import { printable } from "../base/format.ts";

export interface PrinterOptions {
  color: boolean;
  compact: boolean;
  verbose: boolean;
  /** Payload bytes shown under each line (0: none)... */
  payload: number;
  /** ...as hex and ASCII (tcpdump -X) or as ASCII only (tcpdump -A). */
  dump: "hex" | "ascii";
}

/** A packet's process as a line shows it: live attribution's, or what a pcapng comment noted. */
export type LineProcess = ProcessNote & Partial<Pick<ProcessInfo, "container" | "unit">>;

/** The column names, in the widths of a full line. */
const HEADER = [
  "Time".padEnd(15),
  "Dir".padEnd(5),
  "Proto".padEnd(6),
  "Flags".padEnd(8),
  "Source".padEnd(22),
  "Destination".padEnd(22),
  "Size".padStart(6),
  "Service".padEnd(10),
  "Process".padEnd(20),
  "Application",
].join(" ");

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

/** The last second's "HH:MM:SS." (local time costs a time zone lookup; packets come many a second). */
let lastSecond = NaN, lastClock = "";

/** Local time of day with microseconds, as tcpdump prints it. */
function time(sec: number, nsec: number): string {
  if (sec !== lastSecond) {
    const d = new Date(sec * 1000);
    const two = (n: number) => String(n).padStart(2, "0");
    lastSecond = sec;
    lastClock = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.`;
  }
  return lastClock + String(Math.floor(nsec / 1000)).padStart(6, "0");
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
    owner: LineProcess | null | undefined,
    app: string | null,
    peer: ProcessNote | null = null,
  ): string {
    const who = peer ? `${processLabel(owner)}>${processLabel(peer)}` : processLabel(owner);
    const proto = app?.split(" ")[0] && COLORS[app.split(" ")[0]] ? app.split(" ")[0] : p.protocol;
    const color = COLORS[proto] ?? COLORS[p.protocol];
    const src = formatEndpoint(p.src, p.srcPort), dst = formatEndpoint(p.dst, p.dstPort);
    const flags = p.ipProto === 6 && p.srcPort !== null ? `[${tcpFlagLetters(p.tcpFlags)}]` : "-";
    const service = p.srcPort === null ? "-" : portService(p.ipProto, p.srcPort, p.dstPort!);
    if (this.o.compact) {
      const line = [
        time(p.tsSec, p.tsNsec).slice(0, 12),
        dir.toUpperCase(),
        p.protocol,
        flags === "-" ? "" : flags,
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

  /** The row of column names above full lines (compact lines have none). */
  header(): string {
    return HEADER;
  }

  #payload(p: PacketRecord): string {
    if (!this.o.payload || p.payload.length === 0) return "";
    const bytes = p.payload.subarray(0, this.o.payload);
    return this.o.dump === "ascii" ? "\n" + asciiDump(bytes) : hexAsciiDump(bytes);
  }
}

// The dumps are written as bytes into one scratch buffer and made a string once: building them a
// character at a time costs ten times more, in time and memory.
const DOT = 0x2e, SPACE = 0x20, TAB = 0x09, NL = 0x0a, CR = 0x0d;
const DIGITS = new TextEncoder().encode("0123456789abcdef");
/** Every byte written is ASCII, which UTF-8 decodes fastest. */
const ascii = new TextDecoder();
let scratch = new Uint8Array(1 << 16);

function room(n: number): Uint8Array {
  if (scratch.length < n) scratch = new Uint8Array(n);
  return scratch;
}

/** Graphic ASCII (no space): what tcpdump shows as itself in its dumps. */
const isGraph = (b: number) => b > 0x20 && b < 0x7f;

/** "\n\t0x0010: " + 40 columns of hex + two spaces + 16 of ASCII. */
const ROW = 2 + 8 + 40 + 2 + 16;

/**
 * tcpdump -X: each row of 16 bytes on its own line after a tab, "0x0010:", the bytes in groups of
 * two, then the graphic ones as ASCII (others as "."); each line starts with its newline.
 */
export function hexAsciiDump(b: Uint8Array): string {
  const out = room(Math.ceil(b.length / 16) * ROW);
  let o = 0;
  for (let off = 0; off < b.length; off += 16) {
    out[o++] = NL, out[o++] = TAB, out[o++] = 0x30, out[o++] = 0x78;
    for (let shift = 12; shift >= 0; shift -= 4) out[o++] = DIGITS[(off >> shift) & 15];
    out[o++] = 0x3a, out[o++] = SPACE;
    const end = Math.min(off + 16, b.length), hexEnd = o + 40;
    for (let i = off; i < end; i++) {
      if ((i - off) % 2 === 0) out[o++] = SPACE;
      out[o++] = DIGITS[b[i] >> 4], out[o++] = DIGITS[b[i] & 15];
    }
    while (o < hexEnd + 2) out[o++] = SPACE;
    for (let i = off; i < end; i++) out[o++] = isGraph(b[i]) ? b[i] : DOT;
  }
  return ascii.decode(out.subarray(0, o));
}

/**
 * tcpdump -A: the bytes as text, graphic ASCII, space, tab and newline as themselves, others as
 * "."; a carriage return before a newline (or among the last two bytes) is dropped.
 */
export function asciiDump(b: Uint8Array): string {
  const out = room(b.length);
  let o = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === CR) {
      if (b.length - i - 1 > 1 && b[i + 1] !== NL) out[o++] = DOT;
    } else out[o++] = isGraph(c) || c === SPACE || c === TAB || c === NL ? c : DOT;
  }
  return ascii.decode(out.subarray(0, o));
}
