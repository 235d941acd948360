// `wiresight capture`: live traffic, packet by packet, with the program behind each connection.
import { CaptureError, listInterfaces } from "../../ffi/libpcap.ts";
import { colorWanted, style } from "../base/format.ts";
import { linktypeName } from "../decoder/names.ts";
import { Session, type SessionResult } from "../pipeline/session.ts";
import { processMatcher } from "../pipeline/live_select.ts";
import { ATTRIBUTION_METHODS, METHOD_TEXT } from "../proc/attribution.ts";
import { openLive } from "../pipeline/live.ts";
import { renderText } from "../report/text.ts";
import { CaptureTerminal } from "../sinks/capture_terminal.ts";
import { Exporter } from "../sinks/export.ts";
import { CaptureWriter, PcapngWriter } from "../sinks/pcapng.ts";
import { PacketPrinter } from "../sinks/terminal.ts";
import { choice, intOption, type Options, parse, secondsOption } from "./args.ts";
import {
  decoderConfigFrom,
  EXPORT_OPTIONS,
  exportFrom,
  FILTER_OPTIONS,
  FLOW_OPTIONS,
  memoryPlanFrom,
} from "./common.ts";
import { EXIT_OK, EXIT_RUNTIME, UsageError } from "./errors.ts";
import { writeErr, writeOut } from "./output.ts";
import { DETECT_HELP, DETECT_OPTIONS, detectFrom, DetectSession } from "./detect.ts";
import { captureServeCommand, SERVE_OPTIONS } from "./serve.ts";

export const CAPTURE_HELP = `Usage: wiresight capture [options]

Capture live traffic and show which program talks to whom: a line per packet, live statistics,
periodic reports of active sockets, a final report (Ctrl+C stops and flushes everything).
Needs root, or the capabilities CAP_NET_RAW and CAP_NET_ADMIN.

Capture:
  -i, --interface IFACE        device to capture on (default: the first up, non-loopback interface
                               'wiresight interfaces' lists, else 'any', as tcpdump picks it)
  -c, --count N                stop after N packets
  -t, --duration S             stop after S seconds
  -s, --snaplen N              bytes kept per packet (default 262144)
      --promisc                promiscuous mode
      --buffer-size MIB        kernel capture buffer (default 8)
      --attribution METHOD     how processes are found: ebpf (default: the kernel reports every socket
                               and process; needs root or CAP_BPF and CAP_PERFMON), netlink (sock_diag
                               and /proc; misses sockets that live a few ms), off
      --refresh S              with netlink: full rescan of /proc at most every S seconds (default 1)

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

Flows: --tcp-timeout S, --udp-timeout S, --active-timeout S, --max-flows N, --memory MIB, --no-app
       (as for read)

Web view:
      --serve                  show the capture live in the web view, kept in its history (see
                               'wiresight serve --help': --listen, --token, --db, --retain ...)

${DETECT_HELP}

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
  attribution: { type: "string" },
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
  ...DETECT_OPTIONS,
  serve: { type: "boolean" },
  ...SERVE_OPTIONS,
};

/**
 * The default device, as tcpdump picks it: the first up, non-loopback one in libpcap's order
 * (which lists working interfaces first, then "any", then loopback and those that are down).
 */
export function defaultInterface(): string {
  return listInterfaces().find((i) => i.up && !i.loopback)?.name ?? "any";
}

/** --process paths, absolute and with symlinks resolved (/proc gives the real executable). */
function processPaths(paths: string[]): string[] {
  return paths.map((p) => {
    try {
      return Deno.realPathSync(p);
    } catch {
      throw new UsageError(`--process: no such file or directory: '${p}'`);
    }
  });
}

export async function captureCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, CAPTURE_OPTIONS, "capture");
  if (v.help) {
    await writeOut(CAPTURE_HELP);
    return EXIT_OK;
  }
  if (positionals.length) throw new UsageError(`capture takes no file arguments (did you mean 'read'?)`);
  if (v.serve) return await captureServeCommand(v, (v.interface as string | undefined) ?? defaultInterface());
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
  const attribution = choice(v.attribution as string | undefined, "attribution", ATTRIBUTION_METHODS) ??
    "ebpf";
  const processRule = processMatcher(
    processPaths((v.process as string[] | undefined) ?? []),
    (v["process-name"] as string[] | undefined) ?? [],
  );
  const detectChoice = detectFrom(v);
  const plan = memoryPlanFrom(v, detectChoice !== undefined);
  const decoder = decoderConfigFrom(v, plan);
  decoder.packets = {
    payloadMax: Math.max(
      maxPayload,
      intOption(v["export-payload"] as string | undefined, "export-payload", 0, 65535) ?? 0,
    ),
  };
  const exp = exportFrom(v);
  // Detection: its config is checked before capture starts; alert lines go out with the packet lines.
  const alertLines: string[] = [];
  const detect = detectChoice
    ? await DetectSession.open(
      detectChoice,
      (line) => alertLines.push(line),
      colorWanted(Deno.stdout, Boolean(v["no-color"])),
      plan,
    )
    : undefined;
  const device = (v.interface as string | undefined) ?? defaultInterface();

  let live: Awaited<ReturnType<typeof openLive>>;
  try {
    live = await openLive({
      device,
      snaplen: intOption(v.snaplen as string | undefined, "snaplen", 64, 262144),
      promiscuous: Boolean(v.promisc),
      bufferBytes: (intOption(v["buffer-size"] as string | undefined, "buffer-size", 1, 4096) ?? 8) << 20,
      filter: v.filter as string | undefined,
      attribution,
      refreshMs: refresh * 1000,
    });
  } catch (e) {
    if (e instanceof CaptureError && e.usage) throw new UsageError(e.message);
    throw e;
  }
  const { capture, owners } = live;
  for (const w of live.warnings) console.error(`wiresight: warning: ${w}`);
  // As tcpdump does: say where capture runs (scripts wait for this line), and how processes are found.
  console.error(
    `wiresight: capturing on ${device}, link type ${linktypeName(capture.linktype)}, snapshot length ` +
      `${capture.snaplen} bytes, process attribution: ${METHOD_TEXT[owners.method]} ` +
      `(Ctrl+C to stop)`,
  );

  const color = colorWanted(Deno.stdout, Boolean(v["no-color"]));
  const st = style(color);
  const printer = v.quiet ? null : new PacketPrinter({
    color,
    compact: Boolean(v.compact),
    verbose: Boolean(v.verbose),
    payload: maxPayload,
  });
  const terminal = new CaptureTerminal(
    printer,
    intOption(v["dns-count"] as string | undefined, "dns-count", 0, 1000) ?? 10,
  );
  const exporter = exp ? await Exporter.open(exp.path, exp.format, exp.type) : undefined;
  const writer = v.write
    ? new CaptureWriter(
      await PcapngWriter.create(v.write as string, capture.linktype, capture.snaplen, device),
      capture.nanoseconds,
    )
    : undefined;
  const stopAll = () => capture.stop();
  const session = await Session.open({
    live: {
      capture,
      owners,
      // Direction, process and count need the decoded packet: a classifier picks the packets first.
      select: direction || processRule || count !== undefined
        ? { direction, process: processRule, count }
        : undefined,
    },
    decoder,
    top,
    detection: detect?.engine,
    sinks: [terminal, ...(exporter ? [exporter.sink()] : []), ...(writer ? [writer] : [])],
    lateSinks: detect?.eveSinks,
  });
  /** Panels drawn when capture ends, before the flows still open are closed. */
  const finalPanels: string[] = [];
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, stopAll);
  const timer = duration ? setTimeout(stopAll, duration * 1000) : undefined;

  capture.onEnd = () => {
    terminal.ended = true;
    // The last stretch's panel (so the panels add up to the whole capture), the last socket table.
    if (statsEvery && terminal.traffic.pending) finalPanels.push(terminal.traffic.panel(st, top));
    if (socketsEvery) {
      finalPanels.push(terminal.traffic.socketsReport(st, top, Boolean(v["group-by-process"])));
    }
  };
  // Panels and flushes keep their rhythm when no packet comes.
  capture.tickMs = TICK_MS;
  const stats = new Every(statsEvery);
  const sockets = new Every(socketsEvery);
  const flushes = new Every(FLUSH_S);
  let result: SessionResult;
  try {
    const steps = session.steps();
    for (;;) {
      const step = await steps.next();
      const lines = terminal.takeLines();
      if (lines.length) await writeOut(lines.join("\n") + "\n");
      if (alertLines.length) await writeOut(alertLines.splice(0).join("\n") + "\n");
      if (step.done) {
        result = step.value;
        break;
      }
      if (stats.due()) await writeOut(terminal.traffic.panel(st, top) + "\n");
      if (sockets.due()) {
        await writeOut(terminal.traffic.socketsReport(st, top, Boolean(v["group-by-process"])) + "\n");
      }
      // Exports and the pcapng stream: what was captured is on disk within a second.
      if (flushes.due()) {
        exporter?.flush();
        writer?.flush();
      }
    }
  } finally {
    clearTimeout(timer);
    for (const s of signals) Deno.removeSignalListener(s, stopAll);
  }
  if (alertLines.length) await writeOut(alertLines.splice(0).join("\n") + "\n");
  if (finalPanels.length) await writeOut(finalPanels.join("\n") + "\n");

  const { report, decoded } = result;
  detect?.decoderStats(decoded.stats);
  await detect?.writeOutdir(report);
  const out = exp?.path === "-" ? writeErr : writeOut;
  if (reportFormat === "json") {
    await out(JSON.stringify(detect ? detect.report(report) : report, null, 2) + "\n");
  } else if (reportFormat === "text") {
    await out(
      "\n" + renderText(report, st, session.apps) + (detect ? "\n" + detect.summaryText(st, top) : ""),
    );
  }
  if (decoded.capture?.error) {
    console.error(`wiresight: error: ${decoded.capture.error}`);
    return EXIT_RUNTIME;
  }
  return EXIT_OK;
}

const TICK_MS = 100;
const FLUSH_S = 1;

/** A wall-clock rhythm: `due()` is true once per period (never with period 0), without drift. */
class Every {
  #next: number;
  constructor(private readonly seconds: number) {
    this.#next = performance.now() + seconds * 1000;
  }

  due(): boolean {
    if (!this.seconds || performance.now() < this.#next) return false;
    this.#next += this.seconds * 1000;
    // After a stall, start again from now rather than firing once per missed period.
    if (this.#next <= performance.now()) this.#next = performance.now() + this.seconds * 1000;
    return true;
  }
}
