// libpcap through Deno FFI. Loaded lazily: wiresight reads files without libpcap unless a BPF
// filter (or, later, live capture) needs it.

/** libpcap is not installed or could not be loaded. */
export class LibpcapMissingError extends Error {
  constructor(detail: string) {
    super(
      `libpcap is not available (${detail}). Install it: Debian/Ubuntu 'apt-get install libpcap0.8', ` +
        `Fedora/RHEL 'dnf install libpcap', Alpine 'apk add libpcap', Windows: install Npcap. ` +
        `Or set WIRESIGHT_LIBPCAP to the library's path.`,
    );
  }
}

/** The BPF expression did not compile. */
export class BpfCompileError extends Error {}

const CANDIDATES: Record<string, string[]> = {
  linux: ["libpcap.so.1", "libpcap.so.0.8", "libpcap.so"],
  darwin: ["libpcap.A.dylib", "libpcap.dylib"],
  windows: ["C:\\Windows\\System32\\Npcap\\wpcap.dll", "wpcap.dll"],
};

const SYMBOLS = {
  pcap_lib_version: { parameters: [], result: "pointer" },
  pcap_open_offline: { parameters: ["buffer", "buffer"], result: "pointer" },
  pcap_compile: { parameters: ["pointer", "buffer", "buffer", "i32", "u32"], result: "i32" },
  pcap_freecode: { parameters: ["buffer"], result: "void" },
  pcap_geterr: { parameters: ["pointer"], result: "pointer" },
  pcap_close: { parameters: ["pointer"], result: "void" },
} as const;

type Libpcap = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let loaded: Libpcap | undefined;

export function libpcap(): Libpcap {
  if (loaded) return loaded;
  const override = Deno.env.get("WIRESIGHT_LIBPCAP");
  const names = override ? [override] : CANDIDATES[Deno.build.os] ?? CANDIDATES.linux;
  const failures: string[] = [];
  for (const name of names) {
    try {
      loaded = Deno.dlopen(name, SYMBOLS).symbols;
      return loaded;
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  throw new LibpcapMissingError(failures.join("; "));
}

export function libpcapVersion(): string {
  const p = libpcap().pcap_lib_version();
  return p ? Deno.UnsafePointerView.getCString(p) : "unknown";
}

const PCAP_NETMASK_UNKNOWN = 0xffffffff;
const PCAP_ERRBUF_SIZE = 256;
/** struct bpf_program on 64-bit: u32 bf_len, 4 bytes padding, bf_insns pointer. */
const PROGRAM_SIZE = 16;

const cstring = (s: string) => new TextEncoder().encode(s + "\0");

/**
 * A libpcap handle reading an empty savefile of this link type. Compiling on a savefile handle,
 * not on pcap_open_dead's, gives tcpdump's code for files: libpcap maps the LINKTYPE to its DLT
 * (LINKTYPE_RAW 101 is DLT_RAW 12 on Linux) and matches every BSD AF_INET6 value on NULL links.
 */
function savefileHandle(lib: Libpcap, linktype: number, snaplen: number): Deno.PointerValue {
  const path = Deno.makeTempFileSync({ prefix: "wiresight-bpf-", suffix: ".pcap" });
  try {
    const header = new DataView(new ArrayBuffer(24));
    header.setUint32(0, 0xa1b2c3d4, true);
    header.setUint16(4, 2, true);
    header.setUint16(6, 4, true);
    header.setUint32(16, snaplen, true);
    header.setUint32(20, linktype, true);
    Deno.writeFileSync(path, new Uint8Array(header.buffer));
    const errbuf = new Uint8Array(PCAP_ERRBUF_SIZE);
    const handle = lib.pcap_open_offline(cstring(path), errbuf);
    if (!handle) {
      const why = new TextDecoder().decode(errbuf.subarray(0, errbuf.indexOf(0)));
      throw new BpfCompileError(`libpcap cannot compile filters for link type ${linktype}: ${why}`);
    }
    return handle;
  } finally {
    Deno.removeSync(path);
  }
}

/**
 * Compiles a filter expression for a link type as tcpdump would for a file (optimised, unknown
 * netmask) and returns the program as 8-byte `struct bpf_insn` records.
 */
export function compileBpf(expression: string, linktype: number, snaplen = 262144): Uint8Array {
  const lib = libpcap();
  const handle = savefileHandle(lib, linktype, snaplen);
  try {
    const program = new Uint8Array(PROGRAM_SIZE);
    if (lib.pcap_compile(handle, program, cstring(expression), 1, PCAP_NETMASK_UNKNOWN) !== 0) {
      const err = lib.pcap_geterr(handle);
      const why = err ? Deno.UnsafePointerView.getCString(err) : "syntax error";
      throw new BpfCompileError(`invalid BPF filter '${expression}' for link type ${linktype}: ${why}`);
    }
    try {
      const view = new DataView(program.buffer);
      const count = view.getUint32(0, true);
      const insns = Deno.UnsafePointer.create(view.getBigUint64(8, true));
      if (!insns || count === 0) return new Uint8Array(0);
      return new Uint8Array(new Deno.UnsafePointerView(insns).getArrayBuffer(count * 8)).slice();
    } finally {
      lib.pcap_freecode(program);
    }
  } finally {
    lib.pcap_close(handle);
  }
}
