// tshark as the oracle for application filters: a packet belongs to its flow's application, so
// the packets of an application are those of the TCP/UDP streams in which tshark dissects it.
import { TSHARK_PREFS } from "./tshark.ts";
import { runTool } from "./tool.ts";

export interface Frame {
  tcp: string;
  udp: string;
}

/** Each frame's TCP and UDP stream (empty when it has none), and the frames `filter` matches. */
async function tsharkStreams(path: string, decodeAs: string[], filter?: string): Promise<Frame[]> {
  const args = ["-n", "-r", path, ...TSHARK_PREFS, ...decodeAs.flatMap((d) => ["-d", d])];
  if (filter) args.push("-Y", filter);
  args.push("-T", "fields", "-E", "occurrence=f", "-e", "tcp.stream", "-e", "udp.stream");
  const out = await runTool("tshark", args);
  return out.stdout.split("\n").filter((l) => l !== "").map((l) => {
    const [tcp, udp] = l.split("\t");
    return { tcp, udp };
  });
}

/** A display filter for the frames of these streams. */
function streamFilter(tcp: Set<string>, udp: Set<string>): string {
  const clauses = [];
  if (tcp.size) clauses.push(`tcp.stream in {${[...tcp].join(", ")}}`);
  if (udp.size) clauses.push(`udp.stream in {${[...udp].join(", ")}}`);
  return clauses.length ? `(${clauses.join(" or ")})` : "frame.number == 0";
}

/**
 * The oracle: every frame's streams, whether a frame is in a stream that carries `filter`, and a
 * display filter for those frames.
 */
export async function streamPackets(path: string, filter: string, decodeAs: string[] = []) {
  const [all, matching] = await Promise.all([
    tsharkStreams(path, decodeAs),
    tsharkStreams(path, decodeAs, filter),
  ]);
  const tcp = new Set(matching.map((f) => f.tcp).filter((s) => s !== ""));
  const udp = new Set(matching.map((f) => f.udp).filter((s) => s !== ""));
  const inStreams = (f: Frame) => (f.tcp !== "" && tcp.has(f.tcp)) || (f.udp !== "" && udp.has(f.udp));
  return { all, inStreams, streams: tcp.size + udp.size, filter: streamFilter(tcp, udp) };
}
