// Apple's PKTAP header (DLT_PKTAP, libpcap's `-i pktap,en0` on macOS): before each packet, the
// interface, the packet's own link type and the process that sent or received it. Layout from
// apple-oss-distributions/xnu@e3723e1 bsd/net/pktap.h:89-114 (struct pktap_header, host order,
// little-endian on every Mac); pth_length says where the packet starts, so shorter headers of
// older systems read as well. Untested on a real macOS system.

/** LINKTYPE_PKTAP in files (libpcap@f26ae49 pcap/dlt.h:1408); on macOS DLT_PKTAP is DLT_USER2, 149 (:1406). */
export const LINKTYPE_PKTAP = 258;
export const DLT_PKTAP_DARWIN = 149;
/** pktap.h:124 PTH_TYPE_PACKET: a packet follows the header. */
export const PTH_TYPE_PACKET = 1;

/** What a PKTAP header says of its packet. */
export interface PktapHeader {
  /** Where the packet starts (pth_length). */
  length: number;
  typeNext: number;
  /** The packet's link type (a DLT). */
  dlt: number;
  ifname: string;
  pid: number;
  /** The process's short name (pth_comm, MAXCOMLEN 16). */
  comm: string;
  /** The effective process (for one acting on another's behalf). */
  epid: number;
  ecomm: string;
}

/**
 * Offsets in struct pktap_header: pth_length 0, pth_type_next 4, pth_dlt 8, pth_ifname[24] 12
 * (PKTAP_IFXNAMESIZE, IF_NAMESIZE + 8), pth_flags 36, family 40, pre 44, post 48, pth_pid 52,
 * pth_comm[17] 56, ipproto 73, trace_tag 74, svc 76, iftype 80, ifunit 82, pth_epid 84,
 * pth_ecomm[17] 88 (MAXCOMLEN + 1 each).
 */
const AT = { length: 0, typeNext: 4, dlt: 8, ifname: 12, pid: 52, comm: 56, epid: 84, ecomm: 88 } as const;
const IFNAME_BYTES = 24, COMM_BYTES = 17;
/** The header up to pth_ecomm: the least a header with a process can be. */
const MIN_BYTES = AT.ecomm + COMM_BYTES;

function cString(bytes: Uint8Array, at: number, size: number): string {
  const field = bytes.subarray(at, at + size);
  const end = field.indexOf(0);
  return new TextDecoder().decode(end < 0 ? field : field.subarray(0, end));
}

/** The PKTAP header at `off` of `bytes` (`len` bytes captured); null when it is cut or malformed. */
export function decodePktapHeader(bytes: Uint8Array, off: number, len: number): PktapHeader | null {
  if (len < MIN_BYTES) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset + off, len);
  const length = v.getUint32(AT.length, true);
  if (length < MIN_BYTES || length > len) return null;
  const at = bytes.subarray(off, off + len);
  return {
    length,
    typeNext: v.getUint32(AT.typeNext, true),
    dlt: v.getUint32(AT.dlt, true),
    ifname: cString(at, AT.ifname, IFNAME_BYTES),
    pid: v.getInt32(AT.pid, true),
    comm: cString(at, AT.comm, COMM_BYTES),
    epid: v.getInt32(AT.epid, true),
    ecomm: cString(at, AT.ecomm, COMM_BYTES),
  };
}
