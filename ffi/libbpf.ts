// libbpf (libbpf.so.1) through Deno FFI: open a BPF object from bytes, load it, attach its
// programs and read a BPF ring buffer in place, without blocking. Generic: what the events mean is the
// caller's business (src/proc/ebpf/). libbpf's own messages (the verifier's log on a failed load)
// are collected instead of printed, so a failure becomes one error the caller can word.

import { type Mapping, mapShared, pageSize } from "./libc.ts";

/**
 * The process tracker's BPF object (ffi/bpf/attribution.bpf.c, built by ffi/bpf/build.sh). A URL
 * beside this module, so `deno compile --include ffi/bpf/attribution.bpf.o` embeds it.
 */
export const ATTRIBUTION_OBJECT = new URL("./bpf/attribution.bpf.o", import.meta.url);

/** Why a BPF object could not be used; `code` lets the caller choose its advice. */
export class BpfError extends Error {
  constructor(
    message: string,
    readonly code: "no-libbpf" | "no-btf" | "open-failed" | "load-failed" | "attach-failed",
    readonly errno = 0,
    readonly log: string[] = [],
  ) {
    super(message);
  }
}

const SYMBOLS = {
  libbpf_get_error: { parameters: ["pointer"], result: "i64" },
  libbpf_set_print: { parameters: ["function"], result: "pointer" },
  bpf_object__open_mem: { parameters: ["buffer", "usize", "pointer"], result: "pointer" },
  bpf_object__load: { parameters: ["pointer"], result: "i32" },
  bpf_object__close: { parameters: ["pointer"], result: "void" },
  bpf_object__next_program: { parameters: ["pointer", "pointer"], result: "pointer" },
  bpf_object__find_map_by_name: { parameters: ["pointer", "buffer"], result: "pointer" },
  bpf_program__name: { parameters: ["pointer"], result: "pointer" },
  bpf_program__section_name: { parameters: ["pointer"], result: "pointer" },
  bpf_program__set_autoload: { parameters: ["pointer", "bool"], result: "i32" },
  bpf_program__attach: { parameters: ["pointer"], result: "pointer" },
  bpf_link__destroy: { parameters: ["pointer"], result: "i32" },
  bpf_map__fd: { parameters: ["pointer"], result: "i32" },
  bpf_map__initial_value: { parameters: ["pointer", "buffer"], result: "pointer" },
  bpf_map__max_entries: { parameters: ["pointer"], result: "u32" },
  btf__load_vmlinux_btf: { parameters: [], result: "pointer" },
  btf__find_by_name_kind: { parameters: ["pointer", "buffer", "u32"], result: "i32" },
  btf__free: { parameters: ["pointer"], result: "void" },
} as const;

// vsnprintf formats libbpf's messages: a va_list arrives in the callback as a pointer (x86-64
// and arm64 both pass it by reference) and is handed on as such.
const LIBC = { vsnprintf: { parameters: ["buffer", "usize", "pointer", "pointer"], result: "i32" } } as const;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
type Libc = Deno.DynamicLibrary<typeof LIBC>["symbols"];

let loaded: { lib: Lib; libc: Libc } | undefined;

function libbpf(): { lib: Lib; libc: Libc } {
  if (loaded) return loaded;
  try {
    loaded = {
      lib: Deno.dlopen("libbpf.so.1", SYMBOLS).symbols,
      libc: Deno.dlopen("libc.so.6", LIBC).symbols,
    };
    return loaded;
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) throw e;
    throw new BpfError(`libbpf 1.x could not be loaded (${(e as Error).message})`, "no-libbpf");
  }
}

const enc = new TextEncoder();
const cstr = (s: string) => enc.encode(`${s}\0`);
const BTF_KIND_TYPEDEF = 8;
/** Messages kept from libbpf while opening, loading and attaching (the verifier log's tail). */
const LOG_LINES = 40;

function text(p: Deno.PointerValue): string {
  return p ? Deno.UnsafePointerView.getCString(p) : "";
}

/** errno of the last libbpf call that returned a null pointer (or a negative number). */
function errnoOf(lib: Lib, p: Deno.PointerValue | number): number {
  if (typeof p === "number") return -p;
  return -Number(lib.libbpf_get_error(p));
}

/**
 * Collects libbpf's messages while `fn` runs, instead of libbpf printing them to stderr. The
 * previous printer is restored afterwards, so nothing calls back into a closed callback.
 */
function collectingLog<T>(log: string[], fn: () => T): T {
  const { lib, libc } = libbpf();
  const buf = new Uint8Array(4096);
  const printer = new Deno.UnsafeCallback(
    { parameters: ["i32", "pointer", "pointer"], result: "i32" } as const,
    (_level, fmt, args) => {
      const n = libc.vsnprintf(buf, BigInt(buf.length), fmt, args);
      const line = new TextDecoder().decode(buf.subarray(0, Math.max(0, Math.min(n, buf.length - 1))));
      log.push(...line.split("\n").filter((l) => l.trim()));
      if (log.length > LOG_LINES) log.splice(0, log.length - LOG_LINES);
      return 0;
    },
  );
  const previous = lib.libbpf_set_print(printer.pointer);
  try {
    return fn();
  } finally {
    lib.libbpf_set_print(previous as Deno.PointerObject<Deno.UnsafeCallbackDefinition>);
    printer.close();
  }
}

/** Whether the running kernel has this BTF tracepoint (its `btf_trace_<name>` type). */
function kernelHasTracepoint(lib: Lib, btf: Deno.PointerValue, name: string): boolean {
  return lib.btf__find_by_name_kind(btf, cstr(`btf_trace_${name}`), BTF_KIND_TYPEDEF) > 0;
}

export interface BpfProgram {
  name: string;
  section: string;
  /** Attached; false when the kernel lacks its tracepoint (see `BpfObject.open`). */
  attached: boolean;
}

/** A loaded BPF object with all its programs attached. */
export class BpfObject {
  readonly #lib: Lib;
  #obj: Deno.PointerValue;
  readonly #links: Deno.PointerValue[] = [];
  readonly #rings: RingBuffer[] = [];
  readonly programs: BpfProgram[] = [];

  private constructor(lib: Lib, obj: Deno.PointerValue) {
    this.#lib = lib;
    this.#obj = obj;
  }

  /**
   * Opens `bytes` (an ELF BPF object), loads it and attaches every program. A `tp_btf/`
   * program whose tracepoint this kernel does not have is left out when it is in `optional`
   * (it shows as not attached); any other failure throws a BpfError with libbpf's messages.
   */
  static open(bytes: Uint8Array<ArrayBuffer>, optional: string[] = []): BpfObject {
    const { lib } = libbpf();
    if (!existsSync("/sys/kernel/btf/vmlinux")) {
      throw new BpfError("the kernel has no BTF (/sys/kernel/btf/vmlinux; CONFIG_DEBUG_INFO_BTF)", "no-btf");
    }
    const log: string[] = [];
    const fail = (what: string, code: BpfError["code"], errno: number): never => {
      const detail = log.filter((l) => !/^libbpf: (CO-RE|sec |elf|prog '\w+': relo)/.test(l)).slice(-8);
      throw new BpfError(
        `${what}: ${errnoName(errno)}${detail.length ? `\n${detail.join("\n")}` : ""}`,
        code,
        errno,
        log,
      );
    };
    return collectingLog(log, () => {
      const obj = lib.bpf_object__open_mem(bytes, BigInt(bytes.length), null);
      if (!obj) fail("opening the BPF object failed", "open-failed", errnoOf(lib, obj));
      const self = new BpfObject(lib, obj);
      try {
        const btf = lib.btf__load_vmlinux_btf();
        try {
          for (let p = lib.bpf_object__next_program(obj, null); p; p = lib.bpf_object__next_program(obj, p)) {
            const prog = {
              name: text(lib.bpf_program__name(p)),
              section: text(lib.bpf_program__section_name(p)),
            };
            const tp = prog.section.match(/^tp_btf\/(\w+)$/)?.[1];
            const attached = !(btf && tp && optional.includes(tp) && !kernelHasTracepoint(lib, btf, tp));
            if (!attached) lib.bpf_program__set_autoload(p, false);
            self.programs.push({ ...prog, attached });
          }
        } finally {
          if (btf) lib.btf__free(btf);
        }
        const err = lib.bpf_object__load(obj);
        if (err < 0) fail("loading the BPF programs failed", "load-failed", -err);
        let i = 0;
        for (
          let p = lib.bpf_object__next_program(obj, null);
          p;
          p = lib.bpf_object__next_program(obj, p), i++
        ) {
          if (!self.programs[i].attached) continue;
          const link = lib.bpf_program__attach(p);
          if (!link) {
            fail(`attaching ${self.programs[i].section} failed`, "attach-failed", errnoOf(lib, link));
          }
          self.#links.push(link);
        }
        return self;
      } catch (e) {
        self.close();
        throw e;
      }
    });
  }

  #map(name: string): Deno.PointerValue {
    const map = this.#lib.bpf_object__find_map_by_name(this.#obj, cstr(name));
    if (!map) throw new Error(`the BPF object has no map ${name}`);
    return map;
  }

  /**
   * A live view of a global-data map (".bss", ".data"): libbpf keeps it mapped, so reading it
   * reads what the programs write.
   */
  globals(name: string): DataView<ArrayBuffer> {
    const size = new BigUint64Array(1);
    const p = this.#lib.bpf_map__initial_value(this.#map(name), new Uint8Array(size.buffer));
    if (!p) throw new Error(`map ${name} is not mapped`);
    return new DataView(Deno.UnsafePointerView.getArrayBuffer(p, Number(size[0])));
  }

  /**
   * Reads ring buffer map `name`: `consume()` hands each record to `onRecord` (a view of a
   * reused buffer, valid during the call only) and returns how many it handed.
   */
  ringBuffer(
    name: string,
    onRecord: (record: Uint8Array, size: number) => void,
    maxRecord = 4096,
  ): RingBuffer {
    const map = this.#map(name);
    const ring = new RingBuffer(
      this.#lib.bpf_map__fd(map),
      this.#lib.bpf_map__max_entries(map),
      onRecord,
      maxRecord,
    );
    this.#rings.push(ring);
    return ring;
  }

  /** Detaches the programs and frees everything (idempotent). */
  close(): void {
    for (const r of this.#rings.splice(0)) r.close();
    for (const l of this.#links.splice(0)) this.#lib.bpf_link__destroy(l);
    if (this.#obj) this.#lib.bpf_object__close(this.#obj);
    this.#obj = null;
  }
}

/** A record's header: its length, with these two flags in the top bits (kernel/bpf/ringbuf.c). */
const RINGBUF_BUSY = 0x8000_0000;
const RINGBUF_DISCARD = 0x4000_0000;
const RINGBUF_HEADER = 8;

/**
 * A BPF ring buffer read in place, as libbpf's ring_buffer__consume does it but without a foreign
 * callback per record: the consumer page (writable) and the producer page with the data area
 * (mapped twice by the kernel, so a record that wraps reads as one piece) are mapped once, and
 * `consume()` walks every committed record in one JavaScript loop.
 */
export class RingBuffer {
  readonly #consumer: Mapping;
  readonly #producer: Mapping;
  readonly #consumerPos: BigUint64Array<ArrayBuffer>;
  readonly #producerPos: BigUint64Array<ArrayBuffer>;
  readonly #headers: Uint32Array<ArrayBuffer>;
  readonly #page: number;
  readonly #mask: number;
  readonly #buf: Uint8Array<ArrayBuffer>;
  #closed = false;

  constructor(
    fd: number,
    size: number,
    private readonly onRecord: (record: Uint8Array, size: number) => void,
    maxRecord: number,
  ) {
    this.#page = pageSize();
    try {
      this.#consumer = mapShared(fd, this.#page, 0, true);
      this.#producer = mapShared(fd, this.#page + 2 * size, this.#page, false);
    } catch (e) {
      throw new BpfError(`cannot map the ring buffer: ${(e as Error).message}`, "load-failed");
    }
    this.#consumerPos = new BigUint64Array(this.#consumer.bytes.buffer, 0, 1);
    this.#producerPos = new BigUint64Array(this.#producer.bytes.buffer, 0, 1);
    this.#headers = new Uint32Array(this.#producer.bytes.buffer);
    // The kernel makes the data area a power of two.
    this.#mask = size - 1;
    this.#buf = new Uint8Array(maxRecord);
  }

  /** Hands every record committed to the ring to `onRecord`, without blocking (no system call). */
  consume(): number {
    if (this.#closed) return 0;
    let cons = Number(Atomics.load(this.#consumerPos, 0));
    const prod = Number(Atomics.load(this.#producerPos, 0));
    let n = 0;
    while (cons < prod) {
      const at = this.#page + (cons & this.#mask);
      const header = Atomics.load(this.#headers, at / 4);
      // Reserved but not yet committed: the records after it wait for it.
      if (header & RINGBUF_BUSY) break;
      const len = header & ~(RINGBUF_BUSY | RINGBUF_DISCARD);
      if (!(header & RINGBUF_DISCARD)) {
        const size = Math.min(len, this.#buf.length);
        this.#buf.set(this.#producer.bytes.subarray(at + RINGBUF_HEADER, at + RINGBUF_HEADER + size));
        this.onRecord(this.#buf, size);
        n++;
      }
      cons += (len + RINGBUF_HEADER + 7) & ~7;
    }
    // The kernel may reuse the space once the consumer position passes it.
    Atomics.store(this.#consumerPos, 0, BigInt(cons));
    return n;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#consumer.unmap();
    this.#producer.unmap();
  }
}

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const ERRNO: Record<number, string> = {
  1: "EPERM (operation not permitted)",
  2: "ENOENT (not found)",
  7: "E2BIG (too big)",
  12: "ENOMEM (out of memory, or the locked-memory limit)",
  13: "EACCES (permission denied, or the verifier refused a program)",
  22: "EINVAL (invalid argument)",
  95: "EOPNOTSUPP (not supported by this kernel)",
  524: "ENOTSUPP (not supported by this kernel)",
};

function errnoName(errno: number): string {
  return ERRNO[errno] ?? `errno ${errno}`;
}
