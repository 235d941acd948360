// tshark as the oracle: per-frame fields and the TCP/UDP conversation tables of one capture,
// read in a single tshark run. IP reassembly is off so each frame counts as itself (wiresight
// counts packets, not reassembled datagrams).
import { runTool } from "./tool.ts";

export interface TsharkFrame {
  number: number;
  len: number;
  protocols: string[];
  /** Outermost network-layer source/destination. */
  src: string;
  dst: string;
  /** Outer transport ports, when the outer upper layer is TCP or UDP. */
  srcPort?: number;
  dstPort?: number;
  /** IP fragmentation (outer header): id, offset in bytes, more-fragments flag. */
  fragId?: string;
  fragOffset: number;
  moreFragments: boolean;
  /** Seconds since the epoch, to the nanosecond ("1084443427.311224000"). */
  timeEpoch: string;
}

export interface TsharkConversation {
  a: string;
  b: string;
  framesAtoB: number;
  bytesAtoB: string;
  framesBtoA: number;
  bytesBtoA: string;
}

export interface TsharkView {
  frames: TsharkFrame[];
  tcp: TsharkConversation[];
  udp: TsharkConversation[];
}

export const TSHARK_PREFS = ["-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"];

const FIELDS = [
  "frame.number",
  "frame.len",
  "frame.protocols",
  "ip.src",
  "ip.dst",
  "ipv6.src",
  "ipv6.dst",
  "tcp.srcport",
  "tcp.dstport",
  "udp.srcport",
  "udp.dstport",
  "ip.id",
  "ip.frag_offset",
  "ip.flags.mf",
  "ipv6.fraghdr.ident",
  "ipv6.fraghdr.offset",
  "ipv6.fraghdr.more",
  "frame.time_epoch",
];

const first = (v: string | undefined) => (v ?? "").split(",")[0];
const truthy = (v: string) => v === "1" || v === "True";

export async function tsharkView(path: string): Promise<TsharkView> {
  const args = [
    "-n",
    "-r",
    path,
    ...TSHARK_PREFS,
    "-T",
    "fields",
    "-E",
    "separator=\t",
    "-E",
    "occurrence=a",
  ];
  for (const f of FIELDS) args.push("-e", f);
  args.push("-z", "conv,tcp", "-z", "conv,udp");
  const text = (await runTool("tshark", args)).stdout;
  const frames: TsharkFrame[] = [];
  const tcp: TsharkConversation[] = [];
  const udp: TsharkConversation[] = [];
  let section: TsharkConversation[] | null = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("TCP Conversations")) section = tcp;
    else if (line.startsWith("UDP Conversations")) section = udp;
    else if (section) {
      // "<-" is B to A, "->" is A to B.
      const m = line.match(
        /^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+(\d+ (?:bytes|[kMGT]B))\s+(\d+)\s+(\d+ (?:bytes|[kMGT]B))/,
      );
      if (m) {
        section.push({
          a: m[1],
          b: m[2],
          framesBtoA: Number(m[3]),
          bytesBtoA: m[4],
          framesAtoB: Number(m[5]),
          bytesAtoB: m[6],
        });
      }
    } else if (/^\d+\t/.test(line)) frames.push(parseFrame(line.split("\t")));
  }
  return { frames, tcp, udp };
}

function parseFrame(c: string[]): TsharkFrame {
  const [num, len, protos, ipSrc, ipDst, ip6Src, ip6Dst, tSport, tDport, uSport, uDport] = c;
  const [ipId, ipOff, ipMf, ip6Id, ip6Off, ip6More, timeEpoch] = c.slice(11);
  const protocols = protos ? protos.split(":") : [];
  const { l3, l4 } = outerProtocols(protocols);
  const v6 = l3 === "ipv6";
  const frame: TsharkFrame = {
    number: Number(num),
    len: Number(len),
    protocols,
    src: first(v6 ? ip6Src : ipSrc),
    dst: first(v6 ? ip6Dst : ipDst),
    fragOffset: Number(first(v6 ? ip6Off : ipOff) || 0),
    moreFragments: truthy(first(v6 ? ip6More : ipMf)),
    fragId: first(v6 ? ip6Id : ipId) || undefined,
    timeEpoch,
  };
  if (l4 === "tcp" || l4 === "udp") {
    frame.srcPort = Number(first(l4 === "tcp" ? tSport : uSport));
    frame.dstPort = Number(first(l4 === "tcp" ? tDport : uDport));
  }
  return frame;
}

/** The byte range a tshark 4.0 size string stands for (format_size truncates to whole units). */
export function sizeRange(s: string): [number, number] {
  const m = s.match(/^(\d+) (bytes|kB|MB|GB|TB)$/);
  if (!m) throw new Error(`not a tshark size: ${s}`);
  const unit = { bytes: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 }[m[2]]!;
  const n = Number(m[1]);
  return [n * unit, (n + 1) * unit - 1];
}

const L3 = new Set(["ip", "ipv6", "arp"]);
/** Extension headers tshark lists between IPv6 (or IPv4 with AH) and the upper layer. */
const SKIPPED = new Set(["ipv6.hopopts", "ipv6.routing", "ipv6.fraghdr", "ipv6.dstopts", "ah", "ipv6.shim6"]);

/** The first network protocol of a frame and the upper-layer protocol right after it. */
/**
 * The network and upper layer wiresight counts a frame by: the innermost network layer (tunnels
 * are decapsulated), short of a packet quoted in an ICMP error.
 */
export function innermostProtocols(protocols: string[]): { l3?: string; l4?: string } {
  const icmp = protocols.findIndex((p) => p === "icmp" || p === "icmpv6");
  const upTo = icmp < 0 ? protocols : protocols.slice(0, icmp + 1);
  const last = upTo.findLastIndex((p) => L3.has(p));
  return last < 0 ? {} : outerProtocols(upTo.slice(last));
}

export function outerProtocols(protocols: string[]): { l3?: string; l4?: string } {
  const i = protocols.findIndex((p) => L3.has(p));
  if (i < 0) return {};
  let j = i + 1;
  while (j < protocols.length && SKIPPED.has(protocols[j])) j++;
  return { l3: protocols[i], l4: protocols[j] };
}
