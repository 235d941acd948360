// The Windows and macOS structures read across FFI, decoded from bytes laid out here from the
// official headers' declarations (file:line cited; offsets computed by C's alignment rules in
// helpers/c_abi.ts, not taken from the decoders).
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { decodeWinDivertAddress, WINDIVERT_ADDRESS_BYTES } from "../ffi/windivert.ts";
import { decodeOwnerTable, OWNER_ROWS } from "../ffi/iphlpapi.ts";
import {
  decodeBsdShortInfo,
  decodeSocketFdinfo,
  SOCKET_FDINFO_BYTES,
  socketDescriptors,
} from "../ffi/libproc.ts";
import { type CField, cLayout } from "./helpers/c_abi.ts";

const u32 = (n: string): CField => [n, 4, 4];
const u64 = (n: string): CField => [n, 8, 8];
const u16 = (n: string): CField => [n, 2, 2];
const bytesOf = (n: string, size: number): CField => [n, size, 1];

// basil00/WinDivert@9710107 include/windivert.h:96-106 WINDIVERT_DATA_FLOW, :142-165 WINDIVERT_ADDRESS.
const FLOW = cLayout([
  u64("EndpointId"),
  u64("ParentEndpointId"),
  u32("ProcessId"),
  ["LocalAddr", 16, 4],
  ["RemoteAddr", 16, 4],
  u16("LocalPort"),
  u16("RemotePort"),
  bytesOf("Protocol", 1),
]);
const ADDRESS = cLayout([u64("Timestamp"), u32("bits"), u32("Reserved2"), ["union", 64, 8]]);

Deno.test("WINDIVERT_ADDRESS of a FLOW_ESTABLISHED event (IPv4 and IPv6)", () => {
  assertEquals(ADDRESS.size, WINDIVERT_ADDRESS_BYTES);
  const bytes = new Uint8Array(ADDRESS.size * 2);
  const v = new DataView(bytes.buffer);
  const put = (at: number, ipv6: boolean, local: number[], remote: number[]) => {
    v.setBigInt64(at + ADDRESS.offsets.Timestamp, 123456789n, true);
    // Bit-fields from the lowest bit (windivert.h:145-153): Layer 2 (FLOW), Event 1, Sniffed,
    // Outbound, IPv6 bit 20.
    v.setUint32(at + ADDRESS.offsets.bits, 2 | (1 << 8) | (1 << 16) | (1 << 17) | (ipv6 ? 1 << 20 : 0), true);
    const f = at + ADDRESS.offsets.union;
    v.setBigUint64(f + FLOW.offsets.EndpointId, 77n, true);
    v.setUint32(f + FLOW.offsets.ProcessId, 4242, true);
    local.forEach((w, i) => v.setUint32(f + FLOW.offsets.LocalAddr + i * 4, w, true));
    remote.forEach((w, i) => v.setUint32(f + FLOW.offsets.RemoteAddr + i * 4, w, true));
    v.setUint16(f + FLOW.offsets.LocalPort, 50123, true);
    v.setUint16(f + FLOW.offsets.RemotePort, 443, true);
    v.setUint8(f + FLOW.offsets.Protocol, 6);
  };
  // IPv4 as ::ffff:a.b.c.d, UINT32 words of a little-endian 128-bit number (windivert_helper.c:3591):
  // 192.168.1.10 -> Addr[0] = 0xC0A8010A, Addr[1] = 0x0000FFFF.
  put(0, false, [0xc0a8010a, 0xffff, 0, 0], [0x5db8d822, 0xffff, 0, 0]);
  // 2001:db8::1 -> Addr[3] = 0x20010DB8 (most significant), Addr[0] = 1.
  put(ADDRESS.size, true, [1, 0, 0, 0x20010db8], [0x2, 0, 0, 0x20010db8]);
  const a = decodeWinDivertAddress(v, 0);
  assertEquals([a.timestamp, a.layer, a.event, a.outbound, a.loopback, a.ipv6], [
    123456789n,
    2,
    1,
    true,
    false,
    false,
  ]);
  assertEquals(a.flow, {
    endpointId: 77n,
    processId: 4242,
    local: Uint8Array.of(192, 168, 1, 10),
    remote: Uint8Array.of(93, 184, 216, 34),
    localPort: 50123,
    remotePort: 443,
    protocol: 6,
  });
  const b = decodeWinDivertAddress(v, ADDRESS.size);
  assertEquals(b.ipv6, true);
  assertEquals([...b.flow!.local], [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]);
  assertEquals([...b.flow!.remote], [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 2]);
});

// mirror/mingw-w64@93f3505 mingw-w64-headers/include/iprtrmib.h
const TCP4 = cLayout(
  ["dwState", "dwLocalAddr", "dwLocalPort", "dwRemoteAddr", "dwRemotePort", "dwOwningPid"].map(u32),
); // :304-311
const TCP6 = cLayout([ // :324-333
  bytesOf("ucLocalAddr", 16),
  u32("dwLocalScopeId"),
  u32("dwLocalPort"),
  bytesOf("ucRemoteAddr", 16),
  u32("dwRemoteScopeId"),
  u32("dwRemotePort"),
  u32("dwState"),
  u32("dwOwningPid"),
]);
const UDP4 = cLayout(["dwLocalAddr", "dwLocalPort", "dwOwningPid"].map(u32)); // :177-181
const UDP6 = cLayout([
  bytesOf("ucLocalAddr", 16),
  u32("dwLocalScopeId"),
  u32("dwLocalPort"),
  u32("dwOwningPid"),
]); // :197-202

/** A port as Windows keeps it in a DWORD: htons(port) in the low 16 bits (little-endian host). */
const dwordPort = (p: number) => ((p & 0xff) << 8) | (p >> 8);

/** A table: dwNumEntries, then rows written by `row` (iprtrmib.h:371-374 and alike). */
function table(size: number, rows: ((v: DataView, at: number) => void)[]): Uint8Array {
  const bytes = new Uint8Array(4 + size * rows.length);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, rows.length, true);
  rows.forEach((r, i) => r(v, 4 + i * size));
  return bytes;
}

Deno.test("MIB_TCPROW_OWNER_PID, MIB_TCP6ROW_OWNER_PID, MIB_UDPROW_OWNER_PID, MIB_UDP6ROW_OWNER_PID tables", () => {
  assertEquals(
    [TCP4.size, TCP6.size, UDP4.size, UDP6.size],
    [OWNER_ROWS.tcp4.bytes, OWNER_ROWS.tcp6.bytes, OWNER_ROWS.udp4.bytes, OWNER_ROWS.udp6.bytes],
  );
  const tcp4 = table(TCP4.size, [(v, at) => {
    const o = TCP4.offsets;
    v.setUint32(at + o.dwState, 5, true); // MIB_TCP_STATE_ESTAB (iprtrmib.h:352)
    v.setUint32(at + o.dwLocalAddr, 0x0a01a8c0, true); // 192.168.1.10 in network order
    v.setUint32(at + o.dwLocalPort, dwordPort(50123), true);
    v.setUint32(at + o.dwRemoteAddr, 0x22d8b85d, true); // 93.184.216.34
    v.setUint32(at + o.dwRemotePort, dwordPort(443), true);
    v.setUint32(at + o.dwOwningPid, 4242, true);
  }]);
  assertEquals(decodeOwnerTable(tcp4, "tcp4"), [{
    proto: "tcp",
    local: Uint8Array.of(192, 168, 1, 10),
    localPort: 50123,
    remote: Uint8Array.of(93, 184, 216, 34),
    remotePort: 443,
    state: 5,
    pid: 4242,
  }]);
  const six = Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7);
  const tcp6 = table(TCP6.size, [(v, at) => {
    const o = TCP6.offsets;
    new Uint8Array(v.buffer).set(six, at + o.ucLocalAddr);
    v.setUint32(at + o.dwLocalPort, dwordPort(8443), true);
    v.setUint32(at + o.dwState, 2, true); // MIB_TCP_STATE_LISTEN
    v.setUint32(at + o.dwOwningPid, 900, true);
  }]);
  assertEquals(decodeOwnerTable(tcp6, "tcp6")[0], {
    proto: "tcp",
    local: six,
    localPort: 8443,
    remote: new Uint8Array(16),
    remotePort: 0,
    state: 2,
    pid: 900,
  });
  const udp4 = table(UDP4.size, [(v, at) => {
    v.setUint32(at + UDP4.offsets.dwLocalAddr, 0, true);
    v.setUint32(at + UDP4.offsets.dwLocalPort, dwordPort(53), true);
    v.setUint32(at + UDP4.offsets.dwOwningPid, 1234, true);
  }, (v, at) => {
    v.setUint32(at + UDP4.offsets.dwLocalAddr, 0x0100007f, true);
    v.setUint32(at + UDP4.offsets.dwLocalPort, dwordPort(5353), true);
    v.setUint32(at + UDP4.offsets.dwOwningPid, 99, true);
  }]);
  assertEquals(
    decodeOwnerTable(udp4, "udp4").map((
      r,
    ) => [[...r.local].join("."), r.localPort, r.pid, r.remote, r.state]),
    [["0.0.0.0", 53, 1234, null, null], ["127.0.0.1", 5353, 99, null, null]],
  );
  const udp6 = table(UDP6.size, [(v, at) => {
    new Uint8Array(v.buffer).set(six, at + UDP6.offsets.ucLocalAddr);
    v.setUint32(at + UDP6.offsets.dwLocalPort, dwordPort(443), true);
    v.setUint32(at + UDP6.offsets.dwOwningPid, 31337, true);
  }]);
  assertEquals(decodeOwnerTable(udp6, "udp6")[0].pid, 31337);
  assertEquals(decodeOwnerTable(udp6, "udp6")[0].localPort, 443);
  // A count larger than the buffer holds reads only the rows present.
  new DataView(udp6.buffer).setUint32(0, 1000, true);
  assertEquals(decodeOwnerTable(udp6, "udp6").length, 1);
});

// apple-oss-distributions/xnu@e3723e1 bsd/sys/proc_info.h, 64-bit.
const i32 = u32, i16 = u16;
const FILEINFO = cLayout([
  u32("fi_openflags"),
  u32("fi_status"),
  u64("fi_offset"),
  i32("fi_type"),
  u32("fi_guardflags"),
]); // :251-257
const VINFO_STAT = cLayout([ // :288-310
  u32("vst_dev"),
  u16("vst_mode"),
  u16("vst_nlink"),
  u64("vst_ino"),
  u32("vst_uid"),
  u32("vst_gid"),
  ...[
    "atime",
    "atimensec",
    "mtime",
    "mtimensec",
    "ctime",
    "ctimensec",
    "birthtime",
    "birthtimensec",
    "size",
    "blocks",
  ]
    .map((n) => u64(`vst_${n}`)),
  i32("vst_blksize"),
  u32("vst_flags"),
  u32("vst_gen"),
  u32("vst_rdev"),
  ["vst_qspare", 16, 8],
]);
const SOCKBUF = cLayout([
  ...["cc", "hiwat", "mbcnt", "mbmax", "lowat"].map((n) => u32(n)),
  i16("flags"),
  i16("timeo"),
]); // :515-523
const IN_SOCKINFO = cLayout([ // :372-400
  i32("insi_fport"),
  i32("insi_lport"),
  u64("insi_gencnt"),
  u32("insi_flags"),
  u32("insi_flow"),
  bytesOf("insi_vflag", 1),
  bytesOf("insi_ip_ttl", 1),
  u32("rfu_1"),
  ["insi_faddr", 16, 4],
  ["insi_laddr", 16, 4],
  bytesOf("insi_v4", 1),
  ["insi_v6", 12, 4],
]);
const TCP_SOCKINFO = cLayout([
  ["tcpsi_ini", IN_SOCKINFO.size, 8],
  i32("tcpsi_state"),
  ["tcpsi_timer", 16, 4],
  i32("tcpsi_mss"),
  u32("tcpsi_flags"),
  u32("rfu_1"),
  u64("tcpsi_tp"),
]); // :425-433
// :440-450 un_sockinfo, the union's largest member: two u64, two 255-byte (SOCK_MAXADDRLEN) addresses.
const UN_SOCKINFO = cLayout([u64("conn_so"), u64("conn_pcb"), bytesOf("addr", 255), bytesOf("caddr", 255)]);
const SOCKET_INFO = cLayout([ // :536-565
  ["soi_stat", VINFO_STAT.size, 8],
  u64("soi_so"),
  u64("soi_pcb"),
  i32("soi_type"),
  i32("soi_protocol"),
  i32("soi_family"),
  ...["options", "linger", "state", "qlen", "incqlen", "qlimit", "timeo", "error"].map((n) =>
    i16(`soi_${n}`)
  ),
  u32("soi_oobmark"),
  ["soi_rcv", SOCKBUF.size, 4],
  ["soi_snd", SOCKBUF.size, 4],
  i32("soi_kind"),
  u32("rfu_1"),
  ["soi_proto", Math.max(UN_SOCKINFO.size, TCP_SOCKINFO.size), 8],
]);
const SOCKET_FDINFO = cLayout([["pfi", FILEINFO.size, 8], ["psi", SOCKET_INFO.size, 8]]); // :567-570

function socketFdinfo(kind: number, protocol: number, v6: boolean, state: number): Uint8Array {
  const bytes = new Uint8Array(SOCKET_FDINFO.size);
  const v = new DataView(bytes.buffer);
  const psi = SOCKET_FDINFO.offsets.psi, s = SOCKET_INFO.offsets;
  v.setInt32(psi + s.soi_protocol, protocol, true);
  v.setInt32(psi + s.soi_family, v6 ? 30 : 2, true);
  v.setInt32(psi + s.soi_kind, kind, true);
  const ini = psi + s.soi_proto, o = IN_SOCKINFO.offsets;
  // Ports in network order in the int (callers ntohs() them).
  bytes.set([0x01, 0xbb], ini + o.insi_fport);
  bytes.set([0xc3, 0xcb], ini + o.insi_lport); // 50123
  v.setUint8(ini + o.insi_vflag, v6 ? 0x2 : 0x1); // INI_IPV6 / INI_IPV4 (:364-365)
  if (v6) {
    bytes.set([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 9], ini + o.insi_faddr);
    bytes.set([0xfe, 0x80, ...new Array(13).fill(0), 1], ini + o.insi_laddr);
  } else {
    // in4in6_addr (:367-370): three padding words, then the address.
    bytes.set([93, 184, 216, 34], ini + o.insi_faddr + 12);
    bytes.set([10, 0, 0, 5], ini + o.insi_laddr + 12);
  }
  v.setInt32(ini + TCP_SOCKINFO.offsets.tcpsi_state, state, true);
  return bytes;
}

Deno.test("socket_fdinfo of TCP (SOCKINFO_TCP) and UDP (SOCKINFO_IN) sockets, IPv4 and IPv6", () => {
  assertEquals(SOCKET_FDINFO.size, SOCKET_FDINFO_BYTES);
  // TSI_S_ESTABLISHED is 4 (proc_info.h:416).
  assertEquals(decodeSocketFdinfo(socketFdinfo(2, 6, false, 4)), {
    proto: "tcp",
    local: Uint8Array.of(10, 0, 0, 5),
    localPort: 50123,
    remote: Uint8Array.of(93, 184, 216, 34),
    remotePort: 443,
    tcpState: 4,
  });
  const udp6 = decodeSocketFdinfo(socketFdinfo(1, 17, true, 0))!;
  assertEquals([udp6.proto, udp6.local[0], udp6.local[15], udp6.remote[15], udp6.tcpState], [
    "udp",
    0xfe,
    1,
    9,
    null,
  ]);
  // A Unix socket (SOCKINFO_UN 3) and a raw one are not connections.
  assertEquals(decodeSocketFdinfo(socketFdinfo(3, 0, false, 0)), null);
  assertEquals(decodeSocketFdinfo(socketFdinfo(1, 1, false, 0)), null);
  assertEquals(decodeSocketFdinfo(new Uint8Array(100)), null);
});

Deno.test("proc_fdinfo lists and proc_bsdshortinfo", () => {
  // :673-676 { int32_t proc_fd; uint32_t proc_fdtype; }, PROX_FDTYPE_VNODE 1, _SOCKET 2 (:662-663).
  const list = new DataView(new ArrayBuffer(32));
  [[0, 1], [3, 2], [4, 1], [7, 2]].forEach(([fd, type], i) => {
    list.setInt32(i * 8, fd, true);
    list.setUint32(i * 8 + 4, type, true);
  });
  assertEquals(socketDescriptors(new Uint8Array(list.buffer), 32), [3, 7]);
  assertEquals(socketDescriptors(new Uint8Array(list.buffer), 16), [3]);
  // :85-99 four u32, pbsi_comm[MAXCOMLEN 16], pbsi_flags, pbsi_uid ...
  const info = cLayout([
    ...["pid", "ppid", "pgid", "status"].map(u32),
    bytesOf("comm", 16),
    u32("flags"),
    u32("uid"),
    ...["gid", "ruid", "rgid", "svuid", "svgid", "rfu"].map(u32),
  ]);
  assertEquals(info.size, 64);
  const b = new Uint8Array(info.size);
  b.set(new TextEncoder().encode("Safari"), info.offsets.comm);
  new DataView(b.buffer).setUint32(info.offsets.uid, 501, true);
  assertEquals(decodeBsdShortInfo(b), { comm: "Safari", uid: 501 });
});
