// `wiresight capture`: live traffic, packet by packet, with the program behind each connection.
import { CaptureError, listInterfaces } from "../../ffi/libpcap.ts";
import { colorWanted, style } from "../base/format.ts";
import { linktypeName } from "../decoder/names.ts";
import { ZeekLogs } from "../sinks/zeek_logs.ts";
import { Session, type SessionResult } from "../pipeline/session.ts";
import { processMatcher } from "../pipeline/live_select.ts";
import { ATTRIBUTION_METHODS, METHOD_TEXT } from "../proc/attribution.ts";
import { openLive } from "../pipeline/live.ts";
import { LIVE_INPUT_BYTES } from "../source/live.ts";
import { renderText } from "../report/text.ts";
import { CaptureTerminal } from "../sinks/capture_terminal.ts";
import { Exporter } from "../sinks/export.ts";
import { CaptureWriter, PcapngWriter } from "../sinks/pcapng.ts";
import { PacketPrinter } from "../sinks/terminal.ts";
import { choice, intervalOption, intOption, type Options, parse, secondsOption } from "./args.ts";
import {
  decoderConfigFrom,
  EXPORT_OPTIONS,
  exportFrom,
  FILTER_OPTIONS,
  FLOW_OPTIONS,
  geoFrom,
  GEOIP_HELP,
  GEOIP_OPTIONS,
  memoryPlanFrom,
  NUMERIC_OPTION,
  ZEEK_HELP,
  ZEEK_OPTIONS,
  zeekFrom,
} from "./common.ts";
import { EXIT_OK, EXIT_RUNTIME, UsageError } from "./errors.ts";
import { LINE_HELP, LINE_OPTIONS, printerOptionsFrom } from "./lines.ts";
import { stdoutPlan, writeOut, writeTo } from "./output.ts";
import { callerPath } from "./paths.ts";
import { interfacesCommand } from "./interfaces.ts";
import { DETECT_HELP, DETECT_OPTIONS, detectFrom, DetectSession } from "./detect.ts";
import { captureServeCommand, SERVE_OPTIONS } from "./serve.ts";
import { IPFIX_HELP, IPFIX_OPTIONS, ipfixFrom, openIpfix } from "./ipfix.ts";
import { STORE_HELP, STORE_OPTIONS, storeFrom, StoreRecording } from "./store.ts";

export const CAPTURE_HELP = `Usage: wiresight capture [options] [BPF EXPRESSION]

Capture live traffic and show which program talks to whom: a line per packet, live statistics,
periodic reports of active sockets, a final report (Ctrl+C stops and flushes everything).
Needs root, or the capabilities CAP_NET_RAW and CAP_NET_ADMIN. On a terminal a header row names
the columns (see 'wiresight read --help' for them).

A trailing expression is a BPF filter, as tcpdump takes it ('capture -i lo tcp port 80'; its
words are joined); it is -f's, so give one or the other. tcpdump's -w (writing pcapng), -n and
-D work as there; -p is protocol (as in ProcShark), not tcpdump's -p: capture is not promiscuous
unless --promisc.

Capture:
  -i, --interface IFACE        device to capture on (default: the first up, non-loopback interface
                               'wiresight interfaces' lists, else 'any', as tcpdump picks it); on macOS
                               'pktap,en0' (or 'pktap') names each packet's process
  -D, --list-interfaces        list the interfaces (as 'wiresight interfaces') and exit
  -n, --numeric                accepted for tcpdump's habit: wiresight never resolves names
  -c, --count N                stop after N packets
  -t, --duration S             stop after S seconds (above 0)
  -s, --snaplen N              bytes kept per packet (default 262144)
      --promisc                promiscuous mode
      --buffer-size MIB        kernel capture buffer (default 8)
      --attribution METHOD     how processes are found: ebpf (default: the kernel reports every socket
                               and process; needs root or CAP_BPF and CAP_PERFMON), netlink (sock_diag
                               and /proc; misses sockets that live a few ms), off; Windows (WinDivert
                               flow events, IP Helper tables) and macOS (libproc) have one method each
      --refresh S              with netlink: full rescan of /proc at most every S seconds (default 1)
      --backend NAME           libpcap (default; Npcap on Windows), or windivert: on Windows without
                               Npcap, every interface's IP packets through WinDivert (no --filter)

Filters (a packet must pass all that are given):
  -f, --filter EXPR            BPF expression, applied in the kernel
  -p, --protocol LIST          keep only these: tcp udp icmp icmpv6 arp ipv4 ipv6 other, or applications
                               (dns http tls quic ssh dhcp ntp smtp ...: every packet of their flows)
      --exclude-protocol LIST  drop these
      --host ADDR[/PREFIX]     keep packets to or from these addresses
      --port N                 keep packets with this source or destination port
      --no-loopback            drop packets to or from 127.0.0.0/8 and ::1
      --direction in|out       only packets coming in or going out of this machine
      --process PATH           only packets of this executable (or of executables under this directory)
      --process-name NAME      only packets of processes with this name

Terminal:
  -q, --quiet                  no packet lines (use with --stats or --report-interval)
${LINE_HELP} (default 64)
      --no-color               no colour (also: NO_COLOR=1)
      --stats                  a statistics panel every --stats-interval seconds (default 2)
      --stats-interval S       the panel's period (above 0; implies --stats)
      --report-interval S      every S seconds, the active sockets by bytes (and recent DNS answers)
  -g, --group-by-process       group that report by process
      --top N                  rows in each report table (default 10)
      --dns-count N            recent DNS answers shown in those reports (default 10)
      --report text|json|none  final report (default text); with json, stdout holds only the
                               report: packet lines, alert lines and panels go to stderr

Output:
  -w, --write FILE.pcapng      save the packets as pcapng, with each packet's process in its comment
      --export PATH            stream records (json, ndjson, csv; see 'wiresight read --help')
      --export-format FMT, --export-type TYPE, --export-payload N

Flows: --tcp-timeout S, --udp-timeout S, --closed-timeout S, --active-timeout S, --max-flows N, --memory MIB, --no-app
       (as for read)

Web view:
      --serve                  show the capture live in the web view, kept in its history (see
                               'wiresight serve --help': --listen, --token, --db, --retain ...)

${IPFIX_HELP}

${STORE_HELP}
  With --store the session's counts are rewritten every 2 s (its heartbeat): a capture killed before
  it could close its session shows as stale after 30 s, not as running.

${ZEEK_HELP}

${GEOIP_HELP}
      --zeek-rotate S          every S seconds, close each Zeek log and rename it <log>.<open time>.log

${DETECT_HELP}

Examples:
  sudo wiresight capture -i eth0 --compact
  sudo wiresight capture -q --stats --report-interval 10 -g
  sudo wiresight capture -i any --process-name curl --write curl.pcapng
  sudo wiresight capture -i lo -n -w web.pcapng tcp port 80
  sudo wiresight capture -i eth0 -q --ipfix tcp://collector.example:4739
  sudo DATABASE_URL=postgres://ws@db/ws wiresight capture -i eth0 -q --store --sensor edge-1
`;

export const CAPTURE_OPTIONS: Options = {
  help: { type: "boolean", short: "h" },
  "list-interfaces": { type: "boolean", short: "D" },
  ...NUMERIC_OPTION,
  interface: { type: "string", short: "i" },
  count: { type: "string", short: "c" },
  duration: { type: "string", short: "t" },
  snaplen: { type: "string", short: "s" },
  promisc: { type: "boolean" },
  "buffer-size": { type: "string" },
  refresh: { type: "string" },
  attribution: { type: "string" },
  backend: { type: "string" },
  direction: { type: "string" },
  process: { type: "string", multiple: true },
  "process-name": { type: "string", multiple: true },
  quiet: { type: "boolean", short: "q" },
  ...LINE_OPTIONS,
  "no-color": { type: "boolean" },
  stats: { type: "boolean" },
  "stats-interval": { type: "string" },
  "report-interval": { type: "string" },
  "group-by-process": { type: "boolean", short: "g" },
  top: { type: "string" },
  "dns-count": { type: "string" },
  report: { type: "string" },
  write: { type: "string", short: "w" },
  ...EXPORT_OPTIONS,
  ...FILTER_OPTIONS,
  ...FLOW_OPTIONS,
  ...DETECT_OPTIONS,
  ...ZEEK_OPTIONS,
  "zeek-rotate": { type: "string" },
  serve: { type: "boolean" },
  ...SERVE_OPTIONS,
  ...IPFIX_OPTIONS,
  ...STORE_OPTIONS,
  ...GEOIP_OPTIONS,
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
      return Deno.realPathSync(callerPath(p));
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
  if (v["list-interfaces"]) return await interfacesCommand([]);
  const filter = captureFilter(v.filter as string | undefined, positionals);
  if (v.serve) {
    if (v.ipfix !== undefined) throw new UsageError("--ipfix does not combine with --serve yet");
    if (v.store) {
      throw new UsageError("--store does not go with --serve (serve keeps the session in its history)");
    }
    return await captureServeCommand(v, (v.interface as string | undefined) ?? defaultInterface(), filter);
  }
  const count = intOption(v.count as string | undefined, "count", 1, Number.MAX_SAFE_INTEGER);
  const duration = intervalOption(v.duration as string | undefined, "duration");
  const top = intOption(v.top as string | undefined, "top", 1, 1000) ?? 10;
  const direction = choice(v.direction as string | undefined, "direction", ["in", "out"]);
  const reportFormat = choice(v.report as string | undefined, "report", ["text", "json", "none"]) ?? "text";
  const statsInterval = intervalOption(v["stats-interval"] as string | undefined, "stats-interval");
  const statsEvery = v.stats || statsInterval ? (statsInterval ?? 2) : 0;
  const socketsEvery = intervalOption(v["report-interval"] as string | undefined, "report-interval") ?? 0;
  // Validated now; the colour depends on where the lines go (decided below).
  const lineOptions = printerOptionsFrom(v, false, 64);
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
  if (decoder.apps && (direction || processRule || count !== undefined)) {
    throw new UsageError(
      "application protocols in --protocol/--exclude-protocol do not combine with --direction, --process, " +
        "--process-name or --count yet",
    );
  }
  decoder.inputBytes = LIVE_INPUT_BYTES;
  decoder.packets = {
    payloadMax: Math.max(
      v.quiet ? 0 : lineOptions.payload,
      intOption(v["export-payload"] as string | undefined, "export-payload", 0, 65535) ?? 0,
    ),
  };
  const exp = exportFrom(v);
  const ipfixChoice = ipfixFrom(v);
  const storeTarget = storeFrom(v);
  const zeek = zeekFrom(v);
  const geo = geoFrom(v);
  if (zeek.dir !== undefined) Object.assign(decoder, { connTracking: true, zeekChecksums: zeek.checksums });
  const rotateEvery = secondsOption(v["zeek-rotate"] as string | undefined, "zeek-rotate") ?? 0;
  if (rotateEvery && zeek.dir === undefined) throw new UsageError("--zeek-rotate needs --zeek-logs DIR");
  // Detection: its config is checked before capture starts; alert lines go out with the packet lines.
  const alertLines: string[] = [];
  const out = stdoutPlan(reportFormat, exp?.path, detectChoice?.alertsPath);
  const detect = detectChoice
    ? await DetectSession.open(
      detectChoice,
      (line) => alertLines.push(line),
      colorWanted(out.lines, Boolean(v["no-color"])),
      plan,
    )
    : undefined;
  const backend = choice(v.backend as string | undefined, "backend", ["libpcap", "windivert"]) ?? "libpcap";
  // WinDivert sees every interface, and needs no libpcap to pick one.
  const device = (v.interface as string | undefined) ??
    (backend === "windivert" ? "windivert" : defaultInterface());

  let live: Awaited<ReturnType<typeof openLive>>;
  try {
    live = await openLive({
      device,
      snaplen: intOption(v.snaplen as string | undefined, "snaplen", 64, 262144),
      promiscuous: Boolean(v.promisc),
      bufferBytes: (intOption(v["buffer-size"] as string | undefined, "buffer-size", 1, 4096) ?? 8) << 20,
      filter,
      backend,
      attribution,
      refreshMs: refresh * 1000,
    });
  } catch (e) {
    if (e instanceof CaptureError && e.usage) throw new UsageError(e.message);
    throw e;
  }
  const { capture, owners } = live;
  for (const w of live.warnings) console.error(`wiresight: warning: ${w}`);
  // The session exists before the "capturing on" line (that scripts wait for).
  const stored = storeTarget &&
    await StoreRecording.open(storeTarget, { kind: "capture", name: `capture on ${device}` }, detect?.engine)
      .catch((e) => {
        capture.stop();
        owners.close();
        throw e;
      });
  // As tcpdump does: say where capture runs (scripts wait for this line), and how processes are found.
  console.error(
    `wiresight: capturing on ${device}, link type ${linktypeName(capture.linktype)}, snapshot length ` +
      `${capture.snaplen} bytes, process attribution: ${METHOD_TEXT[owners.method]} ` +
      `(Ctrl+C to stop)`,
  );

  const color = colorWanted(out.lines, Boolean(v["no-color"]));
  const st = style(color);
  const printer = v.quiet ? null : new PacketPrinter({ ...lineOptions, color });
  const terminal = new CaptureTerminal(
    printer,
    intOption(v["dns-count"] as string | undefined, "dns-count", 0, 1000) ?? 10,
  );
  detect?.setCommunityIdSeed(zeek.communityIdSeed);
  const exporter = exp ? await Exporter.open(exp.path, exp.format, exp.type) : undefined;
  const ipfix = ipfixChoice && await openIpfix(ipfixChoice, decoder);
  const zeekLogs = zeek.dir !== undefined ? new ZeekLogs(zeek.dir, zeek.json) : undefined;
  const writer = v.write
    ? new CaptureWriter(
      await PcapngWriter.create(callerPath(v.write as string), capture.linktype, capture.snaplen, device),
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
    sinks: [
      terminal,
      ...(exporter ? [exporter.sink()] : []),
      ...(writer ? [writer] : []),
      ...(ipfix ? [ipfix] : []),
      ...(zeekLogs?.sinks() ?? []),
      ...(stored ? [stored.recorder] : []),
    ],
    lateSinks: detect?.eveSinks,
    communityIdSeed: zeek.communityIdSeed,
    geo,
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
  const rotations = new Every(rotateEvery);
  let result: SessionResult;
  // Column names for a reader, not for a program reading the lines.
  if (printer && !lineOptions.compact && out.lines.isTerminal()) {
    await writeTo(out.lines, printer.header() + "\n");
  }
  try {
    const steps = session.steps();
    for (;;) {
      const step = await steps.next();
      const lines = terminal.takeLines();
      if (lines.length) await writeTo(out.lines, lines);
      if (alertLines.length) await writeTo(out.lines, alertLines.splice(0).join("\n") + "\n");
      if (step.done) {
        result = step.value;
        break;
      }
      if (stats.due()) await writeTo(out.lines, terminal.traffic.panel(st, top) + "\n");
      if (sockets.due()) {
        await writeTo(
          out.lines,
          terminal.traffic.socketsReport(st, top, Boolean(v["group-by-process"])) + "\n",
        );
      }
      // Exports and the pcapng stream: what was captured is on disk within a second.
      if (flushes.due()) {
        exporter?.flush();
        writer?.flush();
        zeekLogs?.flush();
      }
      if (rotations.due()) zeekLogs?.rotate();
      await stored?.step();
    }
  } catch (e) {
    await stored?.fail(e);
    throw e;
  } finally {
    clearTimeout(timer);
    for (const s of signals) Deno.removeSignalListener(s, stopAll);
    await ipfix?.finished();
  }
  if (alertLines.length) await writeTo(out.lines, alertLines.splice(0).join("\n") + "\n");
  if (finalPanels.length) await writeTo(out.lines, finalPanels.join("\n") + "\n");

  const { report, decoded } = result;
  const captureError = decoded.capture?.error ?? null;
  await stored?.finish(report, captureError ? "failed" : "done", captureError);
  detect?.decoderStats(decoded.stats);
  await detect?.writeOutdir(report);
  if (reportFormat === "json") {
    await writeTo(out.report, JSON.stringify(detect ? detect.report(report) : report, null, 2) + "\n");
  } else if (reportFormat === "text") {
    await writeTo(
      out.report,
      "\n" + renderText(report, st, session.apps) + (detect ? "\n" + detect.summaryText(st, top) : ""),
    );
  }
  if (decoded.capture?.error) {
    console.error(`wiresight: error: ${decoded.capture.error}`);
    return EXIT_RUNTIME;
  }
  return EXIT_OK;
}

/**
 * The BPF filter: -f's, or the trailing words joined as tcpdump joins them. A lone word naming
 * a file is a capture mistaken for capture's argument.
 */
function captureFilter(flag: string | undefined, words: string[]): string | undefined {
  if (words.length === 0) return flag;
  if (flag !== undefined) {
    throw new UsageError(
      `two BPF filters: -f '${flag}' and the trailing '${words.join(" ")}': give one of them`,
    );
  }
  if (words.length === 1 && isFile(callerPath(words[0]))) {
    throw new UsageError(
      `capture reads no files: to analyse '${words[0]}', run 'wiresight read ${words[0]}'`,
    );
  }
  return words.join(" ");
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
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
