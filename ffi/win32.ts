// Windows system calls through Deno FFI: kernel32 (events, waits, processes, the DLL search
// path) and advapi32 (a process's user from its token). Prototypes as in mingw-w64's headers
// (mirror/mingw-w64@93f3505 mingw-w64-headers/include/: file:line at each symbol). Loaded only on
// Windows, when capture or attribution needs them; untested on a real Windows system.

export const KERNEL32_SYMBOLS = {
  // winbase.h:2169 WINBOOL SetDllDirectoryW(LPCWSTR lpPathName)
  SetDllDirectoryW: { parameters: ["buffer"], result: "i32" },
  // synchapi.h:115 DWORD WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds)
  WaitForSingleObject: { parameters: ["pointer", "u32"], result: "u32" },
  // synchapi.h:120 HANDLE CreateEventW(LPSECURITY_ATTRIBUTES, WINBOOL bManualReset,
  //   WINBOOL bInitialState, LPCWSTR lpName)
  CreateEventW: { parameters: ["pointer", "i32", "i32", "pointer"], result: "pointer" },
  // ioapiset.h:18 WINBOOL GetOverlappedResult(HANDLE, LPOVERLAPPED, LPDWORD, WINBOOL bWait)
  GetOverlappedResult: { parameters: ["pointer", "buffer", "buffer", "i32"], result: "i32" },
  // errhandlingapi.h:49 DWORD GetLastError(VOID)
  GetLastError: { parameters: [], result: "u32" },
  // processthreadsapi.h:24 HANDLE OpenProcess(DWORD dwDesiredAccess, WINBOOL, DWORD dwProcessId)
  OpenProcess: { parameters: ["u32", "i32", "u32"], result: "pointer" },
  // winbase.h:1678 WINBOOL QueryFullProcessImageNameW(HANDLE, DWORD dwFlags, LPWSTR, PDWORD)
  QueryFullProcessImageNameW: { parameters: ["pointer", "u32", "buffer", "buffer"], result: "i32" },
  // handleapi.h:19 WINBOOL CloseHandle(HANDLE hObject)
  CloseHandle: { parameters: ["pointer"], result: "i32" },
  // profileapi.h:16-17 WINBOOL QueryPerformanceCounter/Frequency(LARGE_INTEGER *)
  QueryPerformanceCounter: { parameters: ["buffer"], result: "i32" },
  QueryPerformanceFrequency: { parameters: ["buffer"], result: "i32" },
} as const;

export const ADVAPI32_SYMBOLS = {
  // processthreadsapi.h:35 WINBOOL OpenProcessToken(HANDLE, DWORD DesiredAccess, PHANDLE)
  OpenProcessToken: { parameters: ["pointer", "u32", "buffer"], result: "i32" },
  // securitybaseapi.h:167 WINBOOL GetTokenInformation(HANDLE, TOKEN_INFORMATION_CLASS, LPVOID,
  //   DWORD TokenInformationLength, PDWORD ReturnLength)
  GetTokenInformation: { parameters: ["pointer", "i32", "buffer", "u32", "buffer"], result: "i32" },
  // winbase.h:2784 WINBOOL LookupAccountSidW(LPCWSTR lpSystemName, PSID, LPWSTR Name, LPDWORD,
  //   LPWSTR ReferencedDomainName, LPDWORD, PSID_NAME_USE)
  LookupAccountSidW: {
    parameters: ["pointer", "pointer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
} as const;

type Kernel32 = Deno.DynamicLibrary<typeof KERNEL32_SYMBOLS>["symbols"];
type Advapi32 = Deno.DynamicLibrary<typeof ADVAPI32_SYMBOLS>["symbols"];

let kernel: Kernel32 | undefined;
let advapi: Advapi32 | undefined;

export function kernel32(): Kernel32 {
  kernel ??= Deno.dlopen("kernel32.dll", KERNEL32_SYMBOLS).symbols;
  return kernel;
}

function advapi32(): Advapi32 {
  advapi ??= Deno.dlopen("advapi32.dll", ADVAPI32_SYMBOLS).symbols;
  return advapi;
}

/** A NUL-terminated UTF-16LE string, as the W functions take. */
export function wideString(s: string): Uint8Array {
  const out = new Uint8Array((s.length + 1) * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < s.length; i++) view.setUint16(i * 2, s.charCodeAt(i), true);
  return out;
}

/** The first `chars` UTF-16LE code units of `bytes`. */
export function fromWide(bytes: Uint8Array, chars: number): string {
  return new TextDecoder("utf-16le").decode(bytes.subarray(0, chars * 2));
}

/** WaitForSingleObject's WAIT_OBJECT_0: the handle is signalled. */
const WAIT_OBJECT_0 = 0;

/** Waits up to `ms` for an event handle (pcap_getevent's); true when it was signalled. */
export function waitForEvent(event: Deno.PointerObject, ms: number): boolean {
  return kernel32().WaitForSingleObject(event, ms) === WAIT_OBJECT_0;
}

/** The performance counter's ticks now and per second (WinDivert's packet timestamps count them). */
export function performanceCounter(): { ticks: bigint; perSecond: bigint } {
  const k = kernel32();
  const ticks = new BigInt64Array(1), perSecond = new BigInt64Array(1);
  k.QueryPerformanceCounter(new Uint8Array(ticks.buffer));
  k.QueryPerformanceFrequency(new Uint8Array(perSecond.buffer));
  return { ticks: ticks[0], perSecond: perSecond[0] };
}

/** Adds `folder` to the DLL search path (for the DLLs a library loads beside itself). */
export function addDllDirectory(folder: string): void {
  kernel32().SetDllDirectoryW(wideString(folder));
}

// processthreadsapi.h / winnt.h access rights.
const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
const TOKEN_QUERY = 0x0008;
/** TOKEN_INFORMATION_CLASS TokenUser (winnt.h). */
const TOKEN_USER_CLASS = 1;
const MAX_PATH_CHARS = 32768;

/**
 * A process's executable path (QueryFullProcessImageNameW) and "DOMAIN\user" (its token's SID
 * through LookupAccountSidW); null where Windows refuses (protected or exited processes).
 */
export function processImageAndUser(pid: number): { exe: string | null; user: string | null } {
  const k = kernel32();
  const h = k.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
  if (!h) return { exe: null, user: null };
  try {
    const name = new Uint8Array(MAX_PATH_CHARS * 2);
    const size = new Uint32Array([MAX_PATH_CHARS]);
    const exe = k.QueryFullProcessImageNameW(h, 0, name, new Uint8Array(size.buffer))
      ? fromWide(name, size[0])
      : null;
    return { exe, user: tokenUser(h) };
  } finally {
    k.CloseHandle(h);
  }
}

function tokenUser(process: Deno.PointerObject): string | null {
  const a = advapi32();
  const tokenOut = new BigUint64Array(1);
  if (!a.OpenProcessToken(process, TOKEN_QUERY, new Uint8Array(tokenOut.buffer))) return null;
  const token = Deno.UnsafePointer.create(tokenOut[0]);
  if (!token) return null;
  try {
    // TOKEN_USER { SID_AND_ATTRIBUTES User { PSID Sid; DWORD Attributes } }: the SID pointer
    // first, pointing into the same buffer.
    const info = new BigUint64Array(64);
    const infoBytes = new Uint8Array(info.buffer);
    const needed = new Uint32Array(1);
    if (
      !a.GetTokenInformation(
        token,
        TOKEN_USER_CLASS,
        infoBytes,
        infoBytes.length,
        new Uint8Array(needed.buffer),
      )
    ) return null;
    const sid = Deno.UnsafePointer.create(info[0]);
    const name = new Uint8Array(512), domain = new Uint8Array(512);
    const nameChars = new Uint32Array([256]), domainChars = new Uint32Array([256]);
    const use = new Uint32Array(1);
    const ok = a.LookupAccountSidW(
      null,
      sid,
      name,
      new Uint8Array(nameChars.buffer),
      domain,
      new Uint8Array(domainChars.buffer),
      new Uint8Array(use.buffer),
    );
    if (!ok) return null;
    const d = fromWide(domain, domainChars[0]);
    const n = fromWide(name, nameChars[0]);
    return d ? `${d}\\${n}` : n;
  } finally {
    kernel32().CloseHandle(token);
  }
}
