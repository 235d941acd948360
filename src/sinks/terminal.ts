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
import { printable } from "../base/format.ts";
import { LineBuffer } from "./line_buffer.ts";

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

/** Local time of day with microseconds, as tcpdump prints it; `digits` 12 stops at milliseconds. */
function writeTime(out: LineBuffer, sec: number, nsec: number, digits = 15): void {
  if (sec !== lastSecond) {
    const d = new Date(sec * 1000);
    const two = (n: number) => String(n).padStart(2, "0");
    lastSecond = sec;
    lastClock = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.`;
  }
  out.text(lastClock);
  const fraction = Math.floor(nsec / 1000);
  out.digits(digits === 15 ? fraction : Math.floor(fraction / 1000), digits - 9, true);
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

/** "[SA]" and the like for each combination of TCP flag bits (9 of them), made once. */
const FLAG_TEXT: string[] = [];

function flagText(flags: number): string {
  return FLAG_TEXT[flags & 0x1ff] ??= `[${tcpFlagLetters(flags & 0x1ff)}]`;
}

/** The Dir column's text for each direction ("in" -> "IN"). */
const DIR_TEXT = new Map<string, string>();

function dirText(dir: string): string {
  let t = DIR_TEXT.get(dir);
  if (t === undefined) DIR_TEXT.set(dir, t = dir.toUpperCase());
  return t;
}

/** As formatEndpoint (base/address.ts) writes it: "addr:port", "[v6]:port", the address alone, "-". */
function writeEndpoint(out: LineBuffer, addr: string, port: number | null, width: number): void {
  const start = out.length;
  if (port === null) out.text(addr || "-");
  else {
    const v6 = addr.includes(":");
    if (v6) out.byte(0x5b);
    out.text(addr);
    if (v6) out.byte(0x5d);
    out.byte(0x3a);
    out.digits(port);
  }
  // Addresses and ports are ASCII: bytes and characters agree.
  out.spaces(width - (out.length - start));
}

const ESC_OPEN = new Map<string, Uint8Array>();
const ESC_RESET = new TextEncoder().encode("\x1b[0m");

function colorOpen(code: string): Uint8Array {
  let b = ESC_OPEN.get(code);
  if (!b) ESC_OPEN.set(code, b = new TextEncoder().encode(`\x1b[${code}m`));
  return b;
}

export class PacketPrinter {
  /** For `format`, which returns one packet's text. */
  readonly #one = new LineBuffer(1 << 12);

  constructor(private readonly o: PrinterOptions) {}

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
    this.write(this.#one, p, dir, owner, app, peer);
    const text = this.#one.takeText();
    return text.slice(0, -1);
  }

  /** As `format`, the line(s) and a newline appended to `out`. */
  write(
    out: LineBuffer,
    p: PacketRecord,
    dir: string,
    owner: LineProcess | null | undefined,
    app: string | null,
    peer: ProcessNote | null = null,
  ): void {
    const who = peer ? `${processLabel(owner)}>${processLabel(peer)}` : processLabel(owner);
    const space = app === null ? -1 : app.indexOf(" ");
    const first = app === null ? "" : space < 0 ? app : app.slice(0, space);
    const color = this.o.color ? COLORS[first] ?? COLORS[p.protocol] : undefined;
    const tcp = p.ipProto === 6 && p.srcPort !== null;
    const service = p.srcPort === null ? "-" : portService(p.ipProto, p.srcPort, p.dstPort!);
    if (color) out.bytes(colorOpen(color));
    const start = out.length;
    if (this.o.compact) {
      // The columns joined by single spaces, an empty one left out with its space.
      writeTime(out, p.tsSec, p.tsNsec, 12);
      for (const column of [dirText(dir), p.protocol, tcp ? flagText(p.tcpFlags) : ""]) {
        if (column === "") continue;
        out.byte(SPACE);
        out.text(column);
      }
      out.byte(SPACE);
      writeEndpoint(out, p.src, p.srcPort, 0);
      out.text(" > ");
      writeEndpoint(out, p.dst, p.dstPort, 0);
      out.byte(SPACE);
      out.digits(p.wirelen);
      for (const column of [service, who, app ?? ""]) {
        if (column === "") continue;
        out.byte(SPACE);
        out.text(column);
      }
      if (color) out.bytes(ESC_RESET);
      this.#payload(out, p);
      out.byte(NL);
      return;
    }
    writeTime(out, p.tsSec, p.tsNsec);
    out.byte(SPACE);
    out.padEnd(dirText(dir), 5);
    out.byte(SPACE);
    out.padEnd(p.protocol, 6);
    out.byte(SPACE);
    out.padEnd(tcp ? flagText(p.tcpFlags) : "-", 8);
    out.byte(SPACE);
    writeEndpoint(out, p.src, p.srcPort, 22);
    out.byte(SPACE);
    writeEndpoint(out, p.dst, p.dstPort, 22);
    out.byte(SPACE);
    out.digits(p.wirelen, 6);
    out.byte(SPACE);
    out.padEnd(service, 10);
    out.byte(SPACE);
    out.padEnd(who, 20);
    out.byte(SPACE);
    // As the columns joined and trimmed at the end: no trailing padding or blank.
    if (app !== null) out.text(app.trimEnd());
    out.trimSpaces(start);
    if (color) out.bytes(ESC_RESET);
    if (this.o.verbose) {
      const extra = [`flow ${p.flowId}`, `ttl ${p.ttl}`, `len ${p.ipLength}`, `payload ${p.payloadLength}`];
      if (p.ipProto === 6) extra.push(`seq ${p.tcpSeq}`, `ack ${p.tcpAck}`, `win ${p.tcpWindow}`);
      if (owner?.exe) extra.push(`exe ${printable(owner.exe, 200)}`);
      if (owner?.user) extra.push(`user ${printable(owner.user)}`);
      if (owner?.container) extra.push(`container ${printable(owner.container)}`);
      if (owner?.unit) extra.push(`unit ${printable(owner.unit)}`);
      if (p.malformed) extra.push(`malformed ${p.malformed}`);
      out.text(`\n    ${extra.join("  ")}`);
    }
    this.#payload(out, p);
    out.byte(NL);
  }

  /** The row of column names above full lines (compact lines have none). */
  header(): string {
    return HEADER;
  }

  #payload(out: LineBuffer, p: PacketRecord): void {
    if (!this.o.payload || p.payload.length === 0) return;
    const bytes = p.payload.subarray(0, this.o.payload);
    if (this.o.dump === "ascii") {
      out.byte(NL);
      asciiDump(out, bytes);
    } else hexAsciiDump(out, bytes);
  }
}

// The dumps are written byte by byte into the line buffer: building them a character at a time
// as strings costs ten times more, in time and memory.
const DOT = 0x2e, SPACE = 0x20, TAB = 0x09, NL = 0x0a, CR = 0x0d;
const DIGITS = new TextEncoder().encode("0123456789abcdef");

/** Graphic ASCII (no space): what tcpdump shows as itself in its dumps. */
const isGraph = (b: number) => b > 0x20 && b < 0x7f;

/** "\n\t0x0010: " + 40 columns of hex + two spaces + 16 of ASCII. */
const ROW = 2 + 8 + 40 + 2 + 16;

/**
 * tcpdump -X: each row of 16 bytes on its own line after a tab, "0x0010:", the bytes in groups of
 * two, then the graphic ones as ASCII (others as "."); each line starts with its newline.
 */
export function hexAsciiDump(into: LineBuffer, b: Uint8Array): void {
  const out = into.open(Math.ceil(b.length / 16) * ROW);
  let o = into.length;
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
  into.close(o);
}

/**
 * tcpdump -A: the bytes as text, graphic ASCII, space, tab and newline as themselves, others as
 * "."; a carriage return before a newline (or among the last two bytes) is dropped.
 */
export function asciiDump(into: LineBuffer, b: Uint8Array): void {
  const out = into.open(b.length);
  let o = into.length;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === CR) {
      if (b.length - i - 1 > 1 && b[i + 1] !== NL) out[o++] = DOT;
    } else out[o++] = isGraph(c) || c === SPACE || c === TAB || c === NL ? c : DOT;
  }
  into.close(o);
}
