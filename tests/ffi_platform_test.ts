// The OS seam's choices for each OS value (linux, windows, darwin), and every FFI symbol table
// against its C prototypes: libpcap's against the installed pcap/pcap.h, the Windows and macOS
// ones against the headers' declarations quoted below (file:line of the public repositories).
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
  throws as assertThrows,
} from "node:assert/strict";
import { platformFor } from "../ffi/platform.ts";
import { LIBPCAP_SYMBOLS, LibpcapMissingError } from "../ffi/libpcap.ts";
import { ADVAPI32_SYMBOLS, KERNEL32_SYMBOLS } from "../ffi/win32.ts";
import { IPHLPAPI_SYMBOLS } from "../ffi/iphlpapi.ts";
import { WINDIVERT_SYMBOLS, winDivertPath } from "../ffi/windivert.ts";
import { LIBPROC_SYMBOLS } from "../ffi/libproc.ts";
import { attributionFamily } from "../src/proc/attribution.ts";
import { assertMatchesPrototypes, parsePrototype } from "./helpers/c_abi.ts";

const PCAP_H = "/usr/include/pcap/pcap.h";

/** Every `PCAP_API type name(args);` of the installed pcap.h, _WIN32 ones included. */
function pcapPrototypes(): Map<string, string> {
  const text = Deno.readTextFileSync(PCAP_H).replace(/\/\*[\s\S]*?\*\//g, "").replace(/\s+/g, " ");
  const out = new Map<string, string>();
  for (const m of text.matchAll(/PCAP_API ([^;{}#]*?\))\s*;/g)) {
    const proto = m[1].replace(/PCAP_(DEPRECATED|AVAILABLE)\w*(\([^)]*\))?/g, "").trim();
    out.set(parsePrototype(proto).name, proto);
  }
  return out;
}

Deno.test("libpcap's symbol table matches the installed pcap.h, Npcap's pcap_getevent included", () => {
  const prototypes = pcapPrototypes();
  // The header declares pcap_getevent under _WIN32 (pcap/pcap.h:800): the same as Npcap's.
  assertMatch(prototypes.get("pcap_getevent")!, /HANDLE pcap_getevent/);
  assertMatchesPrototypes(LIBPCAP_SYMBOLS, prototypes);
});

Deno.test("the prototype check fails on a wrong binding", () => {
  const prototypes = pcapPrototypes();
  assertThrows(() =>
    assertMatchesPrototypes(
      { pcap_set_snaplen: { parameters: ["pointer", "u64"], result: "i32" } },
      prototypes,
    )
  );
  assertThrows(() =>
    assertMatchesPrototypes({ pcap_close: { parameters: ["pointer"], result: "i32" } }, prototypes)
  );
  assert(prototypes.size > 60);
});

Deno.test("libpcap names, DLL folder, waiting and pcap_pkthdr layout per OS", () => {
  const linux = platformFor("linux"),
    windows = platformFor("windows", "D:\\Win"),
    mac = platformFor("darwin");
  assertEquals(linux.libpcapNames, ["libpcap.so.1", "libpcap.so.0.8", "libpcap.so"]);
  assertEquals(linux.waitSymbol, "pcap_get_selectable_fd");
  assertEquals(linux.libpcapDllDirectory, null);
  // Npcap's documented location under %SystemRoot%, added to the DLL search path first.
  assertEquals(windows.libpcapNames, ["D:\\Win\\System32\\Npcap\\wpcap.dll", "wpcap.dll"]);
  assertEquals(windows.libpcapDllDirectory, "D:\\Win\\System32\\Npcap");
  assertEquals(platformFor("windows").libpcapDllDirectory, "C:\\Windows\\System32\\Npcap");
  assertEquals(windows.waitSymbol, "pcap_getevent");
  assertEquals(windows.libcName, null);
  assertEquals(mac.libpcapNames, ["libpcap.A.dylib", "libpcap.dylib"]);
  assertEquals(mac.libcName, "libSystem.B.dylib");
  assertEquals(mac.waitSymbol, "pcap_get_selectable_fd");
  assertEquals([linux.afInet6, windows.afInet6, mac.afInet6], [10, 23, 30]);
  assertEquals([linux.sockaddrHasLen, windows.sockaddrHasLen, mac.sockaddrHasLen], [false, false, true]);
  assertEquals([linux.pcapStatBytes, windows.pcapStatBytes, mac.pcapStatBytes], [12, 24, 12]);
  assertEquals([linux.hasSockDiag, windows.hasSockDiag, mac.hasSockDiag], [true, false, false]);
  // The installed pcap/dlt.h: DLT_PKTAP is DLT_USER2 (149) on Apple systems, 258 elsewhere.
  const dlt = Deno.readTextFileSync("/usr/include/pcap/dlt.h");
  const user2 = Number(dlt.match(/#define DLT_USER2\s+(\d+)/)![1]);
  assertMatch(dlt, /#ifdef __APPLE__\s+#define DLT_PKTAP\s+DLT_USER2\s+#else\s+#define DLT_PKTAP\s+258/);
  assertEquals([linux.pktapDlt, windows.pktapDlt, mac.pktapDlt], [258, 258, user2]);
});

Deno.test("pcap_pkthdr per OS: bytes laid out as each system's struct timeval puts them", () => {
  // pcap/pcap.h:245 struct pcap_pkthdr { struct timeval ts; bpf_u_int32 caplen; bpf_u_int32 len; }.
  // Windows (LLP64): long tv_sec, long tv_usec, 4 bytes each.
  const win = new DataView(new ArrayBuffer(16));
  win.setInt32(0, 1700000000, true);
  win.setInt32(4, 123456, true);
  win.setUint32(8, 60, true);
  win.setUint32(12, 1514, true);
  // 64-bit Linux: long tv_sec, long tv_usec (8 each); macOS: long tv_sec, int tv_usec + padding.
  const lp64 = new DataView(new ArrayBuffer(24));
  lp64.setBigInt64(0, 1700000000n, true);
  lp64.setInt32(8, 123456, true);
  lp64.setUint32(16, 60, true);
  lp64.setUint32(20, 1514, true);
  for (const [os, view] of [["windows", win], ["linux", lp64], ["darwin", lp64]] as const) {
    const h = platformFor(os).pkthdr;
    assertEquals(h.size, view.byteLength, os);
    assertEquals(
      [
        view.getUint32(h.tsSec, true),
        view.getUint32(h.tsFrac, true),
        view.getUint32(h.caplen, true),
        view.getUint32(h.len, true),
      ],
      [1700000000, 123456, 60, 1514],
      os,
    );
  }
});

Deno.test("a missing libpcap says what to install on each OS", () => {
  assertMatch(new LibpcapMissingError("x", undefined, "windows").message, /npcap\.com.*Administrator/);
  assertMatch(new LibpcapMissingError("x", undefined, "linux").message, /apt-get install libpcap0\.8/);
  assertMatch(new LibpcapMissingError("x", undefined, "darwin").message, /libpcap\.A\.dylib/);
  assertMatch(
    new LibpcapMissingError("/no/such", "/no/such", "windows").message,
    /WIRESIGHT_LIBPCAP=\/no\/such.*Npcap/,
  );
});

Deno.test("WinDivert.dll: WIRESIGHT_WINDIVERT as a folder or the DLL, else the search path", () => {
  assertEquals(winDivertPath(undefined), "WinDivert.dll");
  assertEquals(
    winDivertPath("C:\\tools\\WinDivert-2.2.2-A\\x64\\"),
    "C:\\tools\\WinDivert-2.2.2-A\\x64\\WinDivert.dll",
  );
  assertEquals(winDivertPath("D:\\wd\\WinDivert.DLL"), "D:\\wd\\WinDivert.DLL");
});

Deno.test("attribution's family per OS", () => {
  assertEquals(attributionFamily("linux", "ebpf"), "linux");
  assertEquals(attributionFamily("windows", "netlink"), "windows");
  assertEquals(attributionFamily("darwin", "netlink"), "darwin");
  assertEquals(attributionFamily("darwin", "off"), "off");
  assertEquals(attributionFamily("freebsd", "netlink"), null);
});

// Declarations as the headers write them (whitespace joined).
const WINDOWS_PROTOTYPES = new Map([
  // mirror/mingw-w64@93f3505 mingw-w64-headers/include/
  ["SetDllDirectoryW", "WINBOOL WINAPI SetDllDirectoryW (LPCWSTR lpPathName)"], // winbase.h:2169
  ["WaitForSingleObject", "DWORD WINAPI WaitForSingleObject (HANDLE hHandle, DWORD dwMilliseconds)"], // synchapi.h:115
  [
    "CreateEventW", // synchapi.h:120
    "HANDLE WINAPI CreateEventW (LPSECURITY_ATTRIBUTES lpEventAttributes, WINBOOL bManualReset, WINBOOL bInitialState, LPCWSTR lpName)",
  ],
  [
    "GetOverlappedResult", // ioapiset.h:18
    "WINBOOL WINAPI GetOverlappedResult (HANDLE hFile, LPOVERLAPPED lpOverlapped, LPDWORD lpNumberOfBytesTransferred, WINBOOL bWait)",
  ],
  ["GetLastError", "DWORD WINAPI GetLastError (VOID)"], // errhandlingapi.h:49
  [
    "OpenProcess",
    "HANDLE WINAPI OpenProcess (DWORD dwDesiredAccess, WINBOOL bInheritHandle, DWORD dwProcessId)",
  ], // processthreadsapi.h:24
  [
    "QueryFullProcessImageNameW", // winbase.h:1678
    "WINBOOL WINAPI QueryFullProcessImageNameW (HANDLE hProcess, DWORD dwFlags, LPWSTR lpExeName, PDWORD lpdwSize)",
  ],
  ["CloseHandle", "WINBOOL WINAPI CloseHandle (HANDLE hObject)"], // handleapi.h:19
  ["QueryPerformanceCounter", "WINBOOL WINAPI QueryPerformanceCounter (LARGE_INTEGER *lpPerformanceCount)"], // profileapi.h:16
  ["QueryPerformanceFrequency", "WINBOOL WINAPI QueryPerformanceFrequency (LARGE_INTEGER *lpFrequency)"], // profileapi.h:17
  [
    "OpenProcessToken",
    "WINBOOL WINAPI OpenProcessToken (HANDLE ProcessHandle, DWORD DesiredAccess, PHANDLE TokenHandle)",
  ], // processthreadsapi.h:35
  [
    "GetTokenInformation", // securitybaseapi.h:167
    "WINBOOL WINAPI GetTokenInformation (HANDLE TokenHandle, TOKEN_INFORMATION_CLASS TokenInformationClass, LPVOID TokenInformation, DWORD TokenInformationLength, PDWORD ReturnLength)",
  ],
  [
    "LookupAccountSidW", // winbase.h:2784
    "WINBOOL WINAPI LookupAccountSidW (LPCWSTR lpSystemName, PSID Sid, LPWSTR Name, LPDWORD cchName, LPWSTR ReferencedDomainName, LPDWORD cchReferencedDomainName, PSID_NAME_USE peUse)",
  ],
  [
    "GetExtendedTcpTable", // iphlpapi.h:31
    "DWORD WINAPI GetExtendedTcpTable (PVOID pTcpTable, PDWORD pdwSize, WINBOOL bOrder, ULONG ulAf, TCP_TABLE_CLASS TableClass, ULONG Reserved)",
  ],
  [
    "GetExtendedUdpTable", // iphlpapi.h:34
    "DWORD WINAPI GetExtendedUdpTable (PVOID pUdpTable, PDWORD pdwSize, WINBOOL bOrder, ULONG ulAf, UDP_TABLE_CLASS TableClass, ULONG Reserved)",
  ],
  // basil00/WinDivert@9710107 include/windivert.h
  [
    "WinDivertOpen", // :229
    "HANDLE WinDivertOpen(const char *filter, WINDIVERT_LAYER layer, INT16 priority, UINT64 flags)",
  ],
  [
    "WinDivertRecvEx", // :248
    "BOOL WinDivertRecvEx(HANDLE handle, VOID *pPacket, UINT packetLen, UINT *pRecvLen, UINT64 flags, WINDIVERT_ADDRESS *pAddr, UINT *pAddrLen, LPOVERLAPPED lpOverlapped)",
  ],
  ["WinDivertClose", "BOOL WinDivertClose(HANDLE handle)"], // :291
]);

Deno.test("Windows symbol tables match kernel32, advapi32, iphlpapi and WinDivert prototypes", () => {
  assertMatchesPrototypes(KERNEL32_SYMBOLS, WINDOWS_PROTOTYPES);
  assertMatchesPrototypes(ADVAPI32_SYMBOLS, WINDOWS_PROTOTYPES);
  assertMatchesPrototypes(IPHLPAPI_SYMBOLS, WINDOWS_PROTOTYPES);
  assertMatchesPrototypes(WINDIVERT_SYMBOLS, WINDOWS_PROTOTYPES);
});

Deno.test("libproc's symbol table matches libproc.h", () => {
  // apple-oss-distributions/xnu@e3723e1 libsyscall/wrappers/libproc/libproc.h; getpwuid: <pwd.h>.
  assertMatchesPrototypes(
    LIBPROC_SYMBOLS,
    new Map([
      ["proc_listpids", "int proc_listpids(uint32_t type, uint32_t typeinfo, void *buffer, int buffersize)"], // :92
      ["proc_pidinfo", "int proc_pidinfo(int pid, int flavor, uint64_t arg, void *buffer, int buffersize)"], // :96
      ["proc_pidfdinfo", "int proc_pidfdinfo(int pid, int fd, int flavor, void * buffer, int buffersize)"], // :97
      ["proc_pidpath", "int proc_pidpath(int pid, void * buffer, uint32_t buffersize)"], // :102
      ["getpwuid", "struct passwd *getpwuid(uid_t uid)"],
    ]),
  );
});
