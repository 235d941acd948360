// tshark as the oracle: per-frame fields and the conversation tables of one capture, read in a
// single tshark run. IP reassembly is off so that each frame counts as itself (wiresight counts
// packets, not reassembled datagrams).

export interface TsharkFrame {
  number: number;
  len: number;
  protocols: string[];
  fragOffset: number;
  moreFragments: boolean;
}

export interface TsharkConversation {
  a: string;
  b: string;
  /** Frames and formatted bytes B->A ("<-") and A->B ("->"), as tshark prints them. */
  framesBtoA: number;
  bytesBtoA: string;
  framesAtoB: number;
  bytesAtoB: string;
}

export interface TsharkView {
  frames: TsharkFrame[];
  tcp: TsharkConversation[];
  udp: TsharkConversation[];
}

export const TSHARK_PREFS = ["-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"];

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
    "-e",
    "frame.number",
    "-e",
    "frame.len",
    "-e",
    "frame.protocols",
    "-e",
    "ip.frag_offset",
    "-e",
    "ip.flags.mf",
    "-z",
    "conv,tcp",
    "-z",
    "conv,udp",
  ];
  const out = await new Deno.Command("tshark", { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  const frames: TsharkFrame[] = [];
  const tcp: TsharkConversation[] = [];
  const udp: TsharkConversation[] = [];
  let section: TsharkConversation[] | null = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("TCP Conversations")) section = tcp;
    else if (line.startsWith("UDP Conversations")) section = udp;
    else if (section) {
      const m = line.match(
        /^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+(\d+ \S*bytes|\d+ [kMGT]B)\s+(\d+)\s+(\d+ \S*bytes|\d+ [kMGT]B)/,
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
    } else if (/^\d+\t/.test(line)) {
      const [num, len, protos, fragOff, mf] = line.split("\t");
      frames.push({
        number: Number(num),
        len: Number(len),
        protocols: protos ? protos.split(":") : [],
        // Encapsulated headers repeat fields comma-separated; the outer one comes first.
        fragOffset: Number((fragOff ?? "").split(",")[0] || 0),
        moreFragments: (mf ?? "").split(",")[0] === "1" || (mf ?? "").split(",")[0] === "True",
      });
    }
  }
  if (
    !out.success && frames.length === 0 && !/cut short|appears to be damaged|isn't a capture/.test(
      new TextDecoder().decode(out.stderr),
    )
  ) {
    throw new Error(`tshark failed on ${path}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return { frames, tcp, udp };
}

/** tshark 4.0's format_size(): exact bytes below 10000, then whole units of 1000 (truncated). */
export function tsharkSize(bytes: number): string {
  const prefixes = ["k", "M", "G", "T"];
  let unit = -1, v = bytes;
  while (v / 1000 >= 10 && unit < prefixes.length - 1) {
    v = Math.floor(v / 1000);
    unit++;
  }
  return unit < 0 ? `${bytes} bytes` : `${v} ${prefixes[unit]}B`;
}

const L3 = new Set(["ip", "ipv6", "arp"]);
/** Extension headers tshark lists between IPv6 and the upper layer. */
const SKIPPED = new Set(["ipv6.hopopts", "ipv6.routing", "ipv6.fraghdr", "ipv6.dstopts", "ah", "ipv6.shim6"]);

/** The first network protocol of a frame and the upper-layer protocol right after it. */
export function outerProtocols(protocols: string[]): { l3?: string; l4?: string } {
  const i = protocols.findIndex((p) => L3.has(p));
  if (i < 0) return {};
  let j = i + 1;
  while (j < protocols.length && SKIPPED.has(protocols[j])) j++;
  return { l3: protocols[i], l4: protocols[j] };
}
