// The socket tables of Windows' IP Helper (iphlpapi.dll) with each socket's owning process:
// GetExtendedTcpTable / GetExtendedUdpTable with the OWNER_PID classes, IPv4 and IPv6. Layouts
// and prototypes from mingw-w64's headers (mirror/mingw-w64@93f3505 mingw-w64-headers/include/,
// file:line at each); untested on a real Windows system.

export const IPHLPAPI_SYMBOLS = {
  // iphlpapi.h:31 DWORD GetExtendedTcpTable(PVOID pTcpTable, PDWORD pdwSize, WINBOOL bOrder,
  //   ULONG ulAf, TCP_TABLE_CLASS TableClass, ULONG Reserved)
  GetExtendedTcpTable: { parameters: ["buffer", "buffer", "i32", "u32", "i32", "u32"], result: "u32" },
  // iphlpapi.h:34 the same for UDP_TABLE_CLASS
  GetExtendedUdpTable: { parameters: ["buffer", "buffer", "i32", "u32", "i32", "u32"], result: "u32" },
} as const;

/** iprtrmib.h:288 TCP_TABLE_OWNER_PID_ALL (listeners and connections); :761 UDP_TABLE_OWNER_PID. */
export const TCP_TABLE_OWNER_PID_ALL = 5;
export const UDP_TABLE_OWNER_PID = 1;
/** Windows' AF_INET6 (ws2def.h). */
const WINDOWS_AF_INET6 = 23;
const AF_INET = 2;
/** iprtrmib.h:349 MIB_TCP_STATE_LISTEN. */
export const MIB_TCP_STATE_LISTEN = 2;

/** One row of an OWNER_PID table. */
export interface OwnerRow {
  proto: "tcp" | "udp";
  /** Network-order address bytes: 4 or 16. */
  local: Uint8Array;
  localPort: number;
  /** Null for UDP (its tables have no remote end). */
  remote: Uint8Array | null;
  remotePort: number;
  /** MIB_TCP_STATE_* for TCP, null for UDP. */
  state: number | null;
  pid: number;
}

/**
 * The row layouts (all DWORD-aligned, no padding). A DWORD port holds the port in network order
 * in its first two bytes; a DWORD address is the address's four bytes in network order.
 */
export const OWNER_ROWS = {
  /** iprtrmib.h:304-311 MIB_TCPROW_OWNER_PID: state, local addr, local port, remote addr and port, pid. */
  tcp4: {
    bytes: 24,
    proto: "tcp",
    addr: 4,
    local: 4,
    localPort: 8,
    remote: 12,
    remotePort: 16,
    state: 0,
    pid: 20,
  },
  /**
   * iprtrmib.h:324-333 MIB_TCP6ROW_OWNER_PID: ucLocalAddr[16], scope, port, ucRemoteAddr[16],
   * scope, port, state, pid.
   */
  tcp6: {
    bytes: 56,
    proto: "tcp",
    addr: 16,
    local: 0,
    localPort: 20,
    remote: 24,
    remotePort: 44,
    state: 48,
    pid: 52,
  },
  /** iprtrmib.h:177-181 MIB_UDPROW_OWNER_PID: local addr, port, pid. */
  udp4: {
    bytes: 12,
    proto: "udp",
    addr: 4,
    local: 0,
    localPort: 4,
    remote: -1,
    remotePort: -1,
    state: -1,
    pid: 8,
  },
  /** iprtrmib.h:197-202 MIB_UDP6ROW_OWNER_PID: ucLocalAddr[16], scope, port, pid. */
  udp6: {
    bytes: 28,
    proto: "udp",
    addr: 16,
    local: 0,
    localPort: 20,
    remote: -1,
    remotePort: -1,
    state: -1,
    pid: 24,
  },
} as const;

export type OwnerTableKind = keyof typeof OWNER_ROWS;

/**
 * The rows of a MIB_*TABLE_OWNER_PID (iprtrmib.h:371-374 and alike: DWORD dwNumEntries, then
 * the rows); rows past the buffer's end are not read.
 */
export function decodeOwnerTable(bytes: Uint8Array, kind: OwnerTableKind): OwnerRow[] {
  const r = OWNER_ROWS[kind];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) return [];
  const count = Math.min(view.getUint32(0, true), Math.floor((bytes.length - 4) / r.bytes));
  const rows: OwnerRow[] = [];
  for (let i = 0, at = 4; i < count; i++, at += r.bytes) {
    rows.push({
      proto: r.proto,
      local: bytes.slice(at + r.local, at + r.local + r.addr),
      localPort: view.getUint16(at + r.localPort, false),
      remote: r.remote < 0 ? null : bytes.slice(at + r.remote, at + r.remote + r.addr),
      remotePort: r.remotePort < 0 ? 0 : view.getUint16(at + r.remotePort, false),
      state: r.state < 0 ? null : view.getUint32(at + r.state, true),
      pid: view.getUint32(at + r.pid, true),
    });
  }
  return rows;
}

type Iphlpapi = Deno.DynamicLibrary<typeof IPHLPAPI_SYMBOLS>["symbols"];
let loaded: Iphlpapi | undefined;

const NO_ERROR = 0;
const ERROR_INSUFFICIENT_BUFFER = 122;

/** This machine's sockets of one kind with their owners (Windows only). */
export function ownerTable(kind: OwnerTableKind): OwnerRow[] {
  loaded ??= Deno.dlopen("iphlpapi.dll", IPHLPAPI_SYMBOLS).symbols;
  const r = OWNER_ROWS[kind];
  const family = r.addr === 4 ? AF_INET : WINDOWS_AF_INET6;
  const size = new Uint32Array([64 * 1024]);
  // The table may grow between the size query and the read: a few tries.
  for (let tries = 0; tries < 4; tries++) {
    const buffer = new Uint8Array(size[0]);
    const sizeBytes = new Uint8Array(size.buffer);
    const rc = r.proto === "tcp"
      ? loaded.GetExtendedTcpTable(buffer, sizeBytes, 0, family, TCP_TABLE_OWNER_PID_ALL, 0)
      : loaded.GetExtendedUdpTable(buffer, sizeBytes, 0, family, UDP_TABLE_OWNER_PID, 0);
    if (rc === NO_ERROR) return decodeOwnerTable(buffer, kind);
    if (rc !== ERROR_INSUFFICIENT_BUFFER) {
      throw new Error(`GetExtended${r.proto === "tcp" ? "Tcp" : "Udp"}Table failed (${rc})`);
    }
  }
  throw new Error(`the ${kind} socket table kept growing`);
}
