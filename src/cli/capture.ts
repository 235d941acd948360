// `wiresight capture`: live traffic, packet by packet, with the program behind each connection.
import { listInterfaces } from "../../ffi/libpcap.ts";
import { CaptureError } from "../../ffi/libpcap.ts";
import { AppSummary } from "../app/summary.ts";
import { dnsMessage } from "../app/dns.ts";
import { appName } from "../app/names.ts";
import * as abi from "../decoder/abi.ts";
import { linktypeName } from "../decoder/names.ts";
import type { EventHandlers } from "../decoder/records.ts";
import { type PipelineResult, pipelineSteps } from "../pipeline/pipeline.ts";
import type { ProcessInfo } from "../proc/linux.ts";
import { FlowOwners, localAddresses, type PacketOwner } from "../proc/owners.ts";
import { colorWanted, style } from "../report/format.ts";
import { LiveView } from "../report/live.ts";
import { buildReport } from "../report/report.ts";
import { renderText } from "../report/text.ts";
import { Exporter } from "../sinks/export.ts";
import { PcapngWriter, processComment } from "../sinks/pcapng.ts";
import { PacketPrinter } from "../sinks/terminal.ts";
import { LiveCapture } from "../source/live.ts";
import { choice, intOption, type Options, parse, secondsOption } from "./args.ts";
import { decoderConfigFrom, EXPORT_OPTIONS, exportFrom, FILTER_OPTIONS, FLOW_OPTIONS } from "./common.ts";
import { EXIT_OK, EXIT_RUNTIME, UsageError } from "./errors.ts";
import { writeErr, writeOut } from "./output.ts";

export const CAPTURE_HELP = `Usage: wiresight capture [options]

Capture live traffic and show which program talks to whom: a line per packet, live statistics,
periodic reports of active sockets, a final report (Ctrl+C stops and flushes everything).
Needs root, or the capabilities CAP_NET_RAW and CAP_NET_ADMIN.

Capture:
  -i, --interface IFACE        device to capture on (default: the first up, non-loopback interface
                               with an address, else 'any'; 'wiresight interfaces' lists them)
  -c, --count N                stop after N packets
  -t, --duration S             stop after S seconds
  -s, --snaplen N              bytes kept per packet (default 262144)
      --promisc                promiscuous mode
      --buffer-size MIB        kernel capture buffer (default 8)
      --refresh S              full rescan of the process table at most every S seconds (default 1)

Filters (a packet must pass all that are given):
  -f, --filter EXPR            BPF expression, applied in the kernel
  -p, --protocol LIST          keep only these: tcp udp icmp icmpv6 arp ipv4 ipv6 other
      --exclude-protocol LIST  drop these
      --host ADDR[/PREFIX]     keep packets to or from these addresses
      --port N                 keep packets with this source or destination port
      --no-loopback            drop packets to or from 127.0.0.0/8 and ::1
      --direction in|out       only packets coming in or going out of this machine
      --process PATH           only packets of this executable (or of executables under this directory)
      --process-name NAME      only packets of processes with this name

Terminal:
  -q, --quiet                  no packet lines (use with --stats or --report-interval)
      --compact                one short line per packet
  -v, --verbose                more detail per packet (flow, TTL, TCP numbers, executable, user)
      --no-payload             no payload dump
      --max-payload N          payload bytes shown per packet (default 64)
      --no-color               no colour (also: NO_COLOR=1)
      --stats                  a statistics panel every --stats-interval seconds (default 2)
      --stats-interval S
      --report-interval N      every N seconds, the active sockets by bytes (and recent DNS answers)
  -g, --group-by-process       group that report by process
      --top N                  rows in each report table (default 10)
      --dns-count N            recent DNS answers shown in those reports (default 10)
      --report text|json|none  final report (default text)

Output:
      --write FILE.pcapng      save the packets as pcapng, with each packet's process in its comment
      --export PATH            stream records (json, ndjson, csv; see 'wiresight read --help')
      --export-format FMT, --export-type TYPE, --export-payload N

Flows: --tcp-timeout S, --udp-timeout S, --active-timeout S, --max-flows N, --no-app (as for read)

Examples:
  sudo wiresight capture -i eth0 --compact
  sudo wiresight capture -q --stats --report-interval 10 -g
  sudo wiresight capture -i any --process-name curl --write curl.pcapng
`;

export const CAPTURE_OPTIONS: Options = {
  help: { type: "boolean", short: "h" },
  interface: { type: "string", short: "i" },
  count: { type: "string", short: "c" },
  duration: { type: "string", short: "t" },
  snaplen: { type: "string", short: "s" },
  promisc: { type: "boolean" },
  "buffer-size": { type: "string" },
  refresh: { type: "string" },
  direction: { type: "string" },
  process: { type: "string", multiple: true },
  "process-name": { type: "string", multiple: true },
  quiet: { type: "boolean", short: "q" },
  compact: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  "no-payload": { type: "boolean" },
  "max-payload": { type: "string" },
  "no-color": { type: "boolean" },
  stats: { type: "boolean" },
  "stats-interval": { type: "string" },
  "report-interval": { type: "string" },
  "group-by-process": { type: "boolean", short: "g" },
  top: { type: "string" },
  "dns-count": { type: "string" },
  report: { type: "string" },
  write: { type: "string" },
  ...EXPORT_OPTIONS,
  ...FILTER_OPTIONS,
  ...FLOW_OPTIONS,
};

/** The default device: first up, non-loopback, with an address; else "any". */
export function defaultInterface(): string {
  const candidate = listInterfaces().find((i) => i.up && !i.loopback && i.addresses.length > 0);
  return candidate?.name ?? "any";
}

/** Whether a process matches --process (an executable, or a directory of them) and --process-name. */
function processFilter(paths: string[], names: string[]): ((p: ProcessInfo | null) => boolean) | null {
  if (!paths.length && !names.length) return null;
  const dirs = paths.map((p) => p.replace(/\/+$/, "") + "/");
  return (p) =>
    p !== null &&
    (!names.length || names.includes(p.name)) &&
    (!paths.length || (p.exe !== null && (paths.includes(p.exe) || dirs.some((d) => p.exe!.startsWith(d)))));
}

export async function captureCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, CAPTURE_OPTIONS, "capture");
  if (v.help) {
    await writeOut(CAPTURE_HELP);
    return EXIT_OK;
  }
  if (positionals.length) throw new UsageError(`capture takes no file arguments (did you mean 'read'?)`);
  const count = intOption(v.count as string | undefined, "count", 1, Number.MAX_SAFE_INTEGER);
  const duration = secondsOption(v.duration as string | undefined, "duration");
  const top = intOption(v.top as string | undefined, "top", 1, 1000) ?? 10;
  const direction = choice(v.direction as string | undefined, "direction", ["in", "out"]);
  const reportFormat = choice(v.report as string | undefined, "report", ["text", "json", "none"]) ?? "text";
  const statsEvery = v.stats
    ? (secondsOption(v["stats-interval"] as string | undefined, "stats-interval") ?? 2)
    : 0;
  const socketsEvery = secondsOption(v["report-interval"] as string | undefined, "report-interval") ?? 0;
  const maxPayload = v["no-payload"]
    ? 0
    : intOption(v["max-payload"] as string | undefined, "max-payload", 0, 65535) ?? 64;
  const refresh = secondsOption(v.refresh as string | undefined, "refresh") ?? 1;
  const owned = processFilter(
    (v.process as string[] | undefined) ?? [],
    (v["process-name"] as string[] | undefined) ?? [],
  );
  const decoder = decoderConfigFrom(v);
  decoder.packets = {
    payloadMax: Math.max(
      maxPayload,
      intOption(v["export-payload"] as string | undefined, "export-payload", 0, 65535) ?? 0,
    ),
  };
  const exp = exportFrom(v);
  const device = (v.interface as string | undefined) ?? defaultInterface();

  const local = localAddresses();
  let capture: LiveCapture;
  try {
    capture = await LiveCapture.open(
      {
        device,
        snaplen: intOption(v.snaplen as string | undefined, "snaplen", 64, 262144),
        promiscuous: Boolean(v.promisc),
        bufferBytes: (intOption(v["buffer-size"] as string | undefined, "buffer-size", 1, 4096) ?? 8) << 20,
        filter: v.filter as string | undefined,
      },
      Infinity,
      { localAddresses: [...local], refreshMs: refresh * 1000 },
    );
  } catch (e) {
    if (e instanceof CaptureError && e.usage) throw new UsageError(e.message);
    throw e;
  }
  for (const w of capture.warnings) console.error(`wiresight: warning: ${w}`);
  // As tcpdump does: say where capture runs (scripts wait for this line).
  console.error(
    `wiresight: capturing on ${device}, link type ${linktypeName(capture.linktype)}, snapshot length ` +
      `${capture.snaplen} bytes (Ctrl+C to stop)`,
  );

  const st = style(colorWanted(Deno.stdout, Boolean(v["no-color"])));
  const printer = v.quiet ? null : new PacketPrinter({
    color: colorWanted(Deno.stdout, Boolean(v["no-color"])),
    compact: Boolean(v.compact),
    verbose: Boolean(v.verbose),
    payload: maxPayload,
  });
  const exporter = exp ? await Exporter.open(exp.path, exp.format, exp.type) : undefined;
  const writer = v.write
    ? await PcapngWriter.create(v.write as string, capture.linktype, capture.snaplen, device)
    : undefined;
  const owners = new FlowOwners(refresh * 1000, local);
  capture.onOwners = (hints) => owners.hint(hints);
  const apps = new AppSummary();
  apps.flowNames.enabled = exp?.type === "flows";
  const live = new LiveView(intOption(v["dns-count"] as string | undefined, "dns-count", 0, 1000) ?? 10);
  /** The latest application message per flow, shown on the packet that carried it. */
  const labels = new Map<number, { frame: number; text: string; app: string }>();
  /** Frames kept (shown) in the current batch, with their process, for --write. */
  const kept = new Map<number, PacketOwner | null>();
  let frame = 0;
  let shown = 0;
  const lines: string[] = [];

  const stopAll = () => capture.stop();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, stopAll);
  const timer = duration ? setTimeout(stopAll, duration * 1000) : undefined;

  const handlers: EventHandlers = {
    packet: (p) => {
      if (count !== undefined && shown >= count) return;
      const dir = owners.direction(p);
      const owner = owners.owner(p);
      if (direction && dir !== direction) return;
      if (owned && !owned(owner?.process ?? owners.of(p.flowId) ?? null)) return;
      shown++;
      const label = labels.get(p.flowId);
      const app = label ? (label.frame === p.frame ? label.text : label.app) : null;
      live.add(p, dir, owner, app?.split(" ")[0] ?? null);
      printer && lines.push(printer.format(p, dir, owner?.process, app));
      if (exp?.type === "packets") exporter?.packet(p);
      kept.set(p.frame, owner);
      if (count !== undefined && shown >= count) stopAll();
    },
    flow: (f) => {
      if (exp?.type === "flows") exporter?.flow(f, apps.flowName(f), owners.of(f.id) ?? null);
      owners.forget(f.id);
      labels.delete(f.id);
      live.endFlow(f.id);
    },
    app: (e) => {
      apps.add(e);
      exporter?.app(e);
      const name = appName(e.app)?.toUpperCase() ?? "";
      let text = name;
      if (e.kind === abi.AK_DNS) {
        const m = dnsMessage(e);
        live.dns(m);
        const q = m.questions[0];
        text = `DNS ${m.response ? `${m.rcode} ` : ""}${q ? `${q.type}? ${q.name}` : ""}`.trim();
      } else if (e.kind === abi.AK_HTTP_REQUEST) {
        text = `HTTP ${e.str(abi.F_HTTP_METHOD) ?? ""} ${e.str(abi.F_HTTP_HOST) ?? ""}${
          e.str(abi.F_HTTP_URI) ?? ""
        }`;
      } else if (e.kind === abi.AK_HTTP_RESPONSE) {
        text = `HTTP ${e.num(abi.F_HTTP_STATUS) ?? ""}`;
      } else if (e.kind === abi.AK_TLS_CLIENT_HELLO) {
        text = `TLS ClientHello ${e.str(abi.F_TLS_SNI) ?? ""}`.trim();
      }
      if (labels.size < 100_000 || labels.has(e.flowId)) {
        labels.set(e.flowId, { frame: e.frame, text, app: name });
      }
    },
  };

  // Everything the decoder has not yet seen waits in libpcap's buffer; writing happens per batch.
  const onBatch = writer
    ? (records: Uint8Array) => {
      const view = new DataView(records.buffer, records.byteOffset, records.length);
      for (let off = 0; off + 16 <= records.length;) {
        const caplen = view.getUint32(off + 8, true);
        frame++;
        if (kept.has(frame)) {
          const owner = kept.get(frame);
          const frac = view.getUint32(off + 4, true);
          writer.packet(
            view.getUint32(off, true),
            capture.nanoseconds ? frac : frac * 1000,
            view.getUint32(off + 12, true),
            records.subarray(off + 16, off + 16 + caplen),
            owner ? processComment(owner.process, owner.sent) : undefined,
          );
        }
        off += 16 + caplen;
      }
      kept.clear();
    }
    : () => kept.clear();

  let result: PipelineResult;
  let nextStats = performance.now() + statsEvery * 1000;
  let nextSockets = performance.now() + socketsEvery * 1000;
  try {
    const steps = pipelineSteps({ files: [], live: capture, decoder, onBatch }, handlers);
    for (;;) {
      const step = await steps.next();
      if (lines.length) await writeOut(lines.splice(0).join("\n") + "\n");
      const now = performance.now();
      if (statsEvery && now >= nextStats) {
        await writeOut(live.panel(st, top) + "\n");
        nextStats = now + statsEvery * 1000;
      }
      if (socketsEvery && now >= nextSockets) {
        await writeOut(live.socketsReport(st, top, Boolean(v["group-by-process"])) + "\n");
        nextSockets = now + socketsEvery * 1000;
      }
      if (step.done) {
        result = step.value;
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    for (const s of signals) Deno.removeSignalListener(s, stopAll);
    exporter?.close();
    writer?.close();
  }

  const report = {
    ...buildReport(result, apps, top),
    processes: live.processes.top(top),
    capture: { interface: device, ...result.capture },
  };
  const out = exp?.path === "-" ? writeErr : writeOut;
  if (reportFormat === "json") await out(JSON.stringify(report, null, 2) + "\n");
  else if (reportFormat === "text") await out("\n" + renderText(report, st, apps));
  if (result.capture?.error) {
    console.error(`wiresight: error: ${result.capture.error}`);
    return EXIT_RUNTIME;
  }
  return EXIT_OK;
}
