// Community ID v1 (github.com/corelight/community-id-spec): a flow's direction-free hash, the key
// that joins wiresight's records with Zeek's, Suricata's and others'. SHA-1 over seed, addresses,
// protocol and ports in network byte order, the smaller endpoint first.
import { createHash } from "node:crypto";
import { parseCidr } from "../base/address.ts";
import { icmpOneWay } from "./icmp_ports.ts";

const PORT_PROTOS = new Set([1, 6, 17, 58, 132]);

/** A flow's endpoints as Zeek keys them: for ICMP the ports are the type and its counterpart type
 * (or the code for a one-way message), see icmp_ports.ts. */
export interface FlowEnds {
  ipProto: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
}

function addressBytes(text: string): Uint8Array {
  const parsed = parseCidr(text);
  if (!parsed) throw new Error(`community id: not an IP address: ${text}`);
  return parsed.ipVersion === 4 ? parsed.bytes.subarray(0, 4) : parsed.bytes;
}

function lessThan(a: Uint8Array, aPort: number, b: Uint8Array, bPort: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return aPort < bPort;
}

/** "1:" and the base64 (or, with `base64` false, hex) SHA-1 of the flow's tuple. */
export function communityId(f: FlowEnds, seed = 0, base64 = true): string {
  let a = addressBytes(f.src), b = addressBytes(f.dst);
  let aPort = f.srcPort, bPort = f.dstPort;
  const ports = PORT_PROTOS.has(f.ipProto);
  // A one-way ICMP message keeps its direction: its "ports" (type, code) are not a pair to order.
  const oneWay = (f.ipProto === 1 || f.ipProto === 58) && icmpOneWay(f.ipProto, f.srcPort);
  if (!oneWay && !lessThan(a, aPort, b, bPort)) [a, b, aPort, bPort] = [b, a, bPort, aPort];
  const input = new Uint8Array(2 + 2 * a.length + 2 + (ports ? 4 : 0));
  const dv = new DataView(input.buffer);
  dv.setUint16(0, seed);
  input.set(a, 2);
  input.set(b, 2 + a.length);
  let o = 2 + 2 * a.length;
  input[o++] = f.ipProto;
  input[o++] = 0;
  if (ports) {
    dv.setUint16(o, aPort);
    dv.setUint16(o + 2, bPort);
  }
  const digest = createHash("sha1").update(input).digest(base64 ? "base64" : "hex");
  return `1:${digest}`;
}
