// ICMP "ports" as Zeek gives them (its ICMP4_counterpart/ICMP6_counterpart, mirrored by the
// decoder's flow keys in wasm/src/flow.rs): the source port is the message type, the destination
// port the type of its reply or request (echo 8 <-> 0, ICMPv6 echo 128 <-> 129, neighbour
// discovery 135 <-> 136, ...), or the message's code when the message has no counterpart.

const ICMP4_PAIRS: Record<number, number> = {
  0: 8,
  8: 0,
  9: 10,
  10: 9,
  13: 14,
  14: 13,
  15: 16,
  16: 15,
  17: 18,
  18: 17,
};
const ICMP6_PAIRS: Record<number, number> = {
  128: 129,
  129: 128,
  130: 131,
  131: 130,
  133: 134,
  134: 133,
  135: 136,
  136: 135,
  139: 140,
  140: 139,
  144: 145,
  145: 144,
};

const pairs = (ipProto: number) => ipProto === 58 ? ICMP6_PAIRS : ICMP4_PAIRS;

/** Whether a message of this type has no request/reply counterpart. */
export function icmpOneWay(ipProto: number, type: number): boolean {
  return pairs(ipProto)[type] === undefined;
}
