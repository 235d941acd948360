// `wiresight read FILE...`: analyse captures, print the report, stream exports.
import { DEFAULT_TIMEOUTS } from "../decoder/decoder.ts";
import { DEFAULT_MEMORY_MIB, planMemory } from "../detect/budget.ts";
import { Session, type SessionResult } from "../pipeline/session.ts";
import { renderText } from "../report/text.ts";
import { colorWanted, style } from "../base/format.ts";
import { Exporter } from "../sinks/export.ts";
import { FileLines } from "../sinks/file_lines.ts";
import { PacketPrinter, type PrinterOptions } from "../sinks/terminal.ts";
import { openCapture } from "../source/file.ts";
import { BpfCompileError } from "../../ffi/libpcap.ts";
import { choice, intOption, type Options, parse } from "./args.ts";
import {
  checkBpf,
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
import { ZeekLogs } from "../sinks/zeek_logs.ts";
import { EXIT_OK, EXIT_RUNTIME, UsageError } from "./errors.ts";
import { LINE_HELP, LINE_OPTIONS, lineOptionsGiven, printerOptionsFrom } from "./lines.ts";
import { ProgressBar } from "./progress.ts";
import { stdoutPlan, writeOut, writeTo } from "./output.ts";
import { callerPath } from "./paths.ts";
import { DETECT_HELP, DETECT_OPTIONS, detectFrom, DetectSession } from "./detect.ts";
import { IPFIX_HELP, IPFIX_OPTIONS, ipfixFrom, openIpfix } from "./ipfix.ts";
import { STORE_HELP, STORE_OPTIONS, storeFrom, StoreRecording } from "./store.ts";

export const READ_HELP = `Usage: wiresight read FILE... [options]
       wiresight read -r FILE [options]      (also 'wiresight -r FILE ...', as tcpdump)

Analyse pcap/pcapng captures: decode every packet, track flows, print a traffic report
(duration, rates, protocol distribution, top talkers, conversations, ports, malformed packets).
Several files are read in order as one capture. With --lines, a line per packet instead (as
tshark -r or tcpdump -r list them).

  -r, --file FILE              a capture to read, as tcpdump's -r (repeatable; same as FILE)
  -n, --numeric                accepted for tcpdump's habit: wiresight never resolves names
  -h, --help                   this help

Report:
      --report text|json|none  report format on stdout (default text); with json, stdout holds
                               only the report: alert lines go to stderr
      --top N                  entries in each top list (default 10)
  -q, --quiet                  no report (same as --report none), no alert lines
      --no-progress            no progress bar (it is drawn only when stderr is a terminal)
      --no-color               no colour (also: NO_COLOR=1)

Packet lines (stdout; the report, only if --report asks for it, then goes to stderr):
      --lines                  a line per packet, with the columns of 'capture' under a header row:
                               Time (local, microseconds) Dir Proto Flags Source Destination Size
                               Service Process Application; the first eight never hold a space
                               ("-" when empty); Dir and Process come from a wiresight pcapng's
                               packet comments (out, in, local), else "-"
  -c, --count N                stop after N packets (with --lines)
${LINE_HELP} (default: none)

Export (streamed, any capture size):
      --export PATH            write records to PATH (- for stdout; the report then goes to stderr);
                               format from its extension (.json .ndjson .jsonl .csv)
      --export-format FMT      json, ndjson or csv (overrides the extension; in CSV, text a spreadsheet
                               would run as a formula, such as =cmd..., is written as '=cmd...)
      --export-type TYPE       packets (default), flows, or application records: dns, http, tls, ftp
      --export-payload N       include up to N payload bytes per packet, as hex (default 0)

Filters (a packet must pass all that are given):
  -p, --protocol LIST          keep only these: tcp udp icmp icmpv6 arp ipv4 ipv6 other, or applications
                               (dns http tls quic ssh dhcp ntp smtp ...: every packet of their flows);
                               -p is protocol, as in ProcShark, not tcpdump's -p
      --exclude-protocol LIST  drop these
      --host ADDR[/PREFIX]     keep packets to or from these addresses (repeat or comma-separate)
      --port N                 keep packets with this source or destination port (repeatable)
      --no-loopback            drop packets to or from 127.0.0.0/8 and ::1
  -f, --filter EXPR            BPF expression, as tcpdump's (compiled by libpcap)

Flows:
      --tcp-timeout S          end TCP flows idle this long (default ${DEFAULT_TIMEOUTS.tcpIdle}; 0 = never)
      --udp-timeout S          end UDP and other flows idle this long (default ${DEFAULT_TIMEOUTS.udpIdle})
      --closed-timeout S       end TCP flows this long after their FIN or RST: later packets start a
                               new flow (default ${DEFAULT_TIMEOUTS.closedLinger}; Suricata's is 60)
      --active-timeout S       split flows active this long into records (default ${DEFAULT_TIMEOUTS.active})
      --max-flows N            flows tracked at once; the least recent is ended beyond (default: from
                               --memory, ${planMemory(DEFAULT_MEMORY_MIB, false).maxFlows}, or ${
  planMemory(DEFAULT_MEMORY_MIB, true).maxFlows
} with --detect)
      --memory MIB             memory for the flow table and the detectors' tables, the process included:
                               peak resident memory stays about under it (default ${DEFAULT_MEMORY_MIB})

Application layer:
      --no-app                 skip application-layer decoding (DNS, HTTP, TLS, QUIC ...): L2-L4 only

Parallel decoding:
      --workers N              decode over N worker threads, each taking a share of the flows; the
                               report is the same for any N (default 1: no worker threads). Lines,
                               exports, IPFIX, Zeek logs and detection run on one decoder for now

${IPFIX_HELP}
                               Flows go with their capture times; the message header's export
                               time is the wall clock.

${ZEEK_HELP}

${STORE_HELP}

${GEOIP_HELP}

${DETECT_HELP}

Examples:
  wiresight read capture.pcapng
  wiresight read capture.pcapng --lines -c 20 --no-color | awk 'NR > 1 && $3 == "TCP" {print $5, $6}'
  wiresight read http.pcap --lines -A -f 'tcp port 80'
  wiresight read a.pcap b.pcap --report json | jq .top_talkers
  wiresight read big.pcap -f 'tcp port 443' --export flows.csv --export-type flows
  wiresight read capture.pcap --detect --alerts eve.ndjson --config detect.toml
  wiresight read capture.pcap -q --ipfix 127.0.0.1:9995
  wiresight read capture.pcap --zeek-logs zeek/ -q
  wiresight read capture.pcap -q --store --sensor lab --db history.sqlite
`;

export const READ_OPTIONS: Options = {
  help: { type: "boolean", short: "h" },
  file: { type: "string", short: "r", multiple: true },
  ...NUMERIC_OPTION,
  report: { type: "string" },
  top: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  "no-progress": { type: "boolean" },
  "no-color": { type: "boolean" },
  lines: { type: "boolean" },
  count: { type: "string", short: "c" },
  ...LINE_OPTIONS,
  ...EXPORT_OPTIONS,
  ...FILTER_OPTIONS,
  ...FLOW_OPTIONS,
  ...DETECT_OPTIONS,
  ...IPFIX_OPTIONS,
  ...ZEEK_OPTIONS,
  ...STORE_OPTIONS,
  ...GEOIP_OPTIONS,
  workers: { type: "string" },
};

export async function readCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, READ_OPTIONS, "read");
  if (v.help) {
    await writeOut(READ_HELP);
    return EXIT_OK;
  }
  const files = [...((v.file as string[] | undefined) ?? []), ...positionals].map((f) => callerPath(f));
  if (files.length === 0) throw new UsageError("read: give at least one capture file (FILE or -r FILE)");
  const lines = linesFrom(v);
  // With --lines stdout is the lines: a report only when asked for.
  const reportFormat = v.quiet
    ? "none"
    : choice(v.report as string | undefined, "report", ["text", "json", "none"]) ?? (lines ? "none" : "text");
  const top = intOption(v.top as string | undefined, "top", 1, 10000) ?? 10;
  const detectChoice = detectFrom(v);
  const plan = memoryPlanFrom(v, detectChoice !== undefined);
  const decoder = decoderConfigFrom(v, plan);
  const exp = exportFrom(v);
  const ipfixChoice = ipfixFrom(v);
  const storeTarget = storeFrom(v);
  const exportPath = exp?.path;
  const payloadMax = Math.max(exp?.type === "packets" ? exp.payloadMax : 0, lines?.printer.payload ?? 0);
  if (exp?.type === "packets" || lines) decoder.packets = { payloadMax };
  const bpf = v.filter as string | undefined;
  if (bpf !== undefined) checkBpf(bpf);
  const zeek = zeekFrom(v);
  const geo = geoFrom(v);
  if (zeek.dir !== undefined) Object.assign(decoder, { connTracking: true, zeekChecksums: zeek.checksums });
  const out = stdoutPlan(reportFormat, exportPath, detectChoice?.alertsPath, lines !== undefined);
  if (lines?.count !== undefined && (reportFormat !== "none" || exp || detectChoice || storeTarget)) {
    throw new UsageError(
      "-c stops reading after N packets: a report, an export, detection or --store would cover more, drop -c",
    );
  }

  let total = 0;
  for (const f of files) {
    const { file, size } = await openCapture(f);
    file.close();
    total += size;
  }

  // The lines show the progress (and would share the terminal with the bar).
  const bar = new ProgressBar(total, !v["no-progress"] && !lines && Deno.stderr.isTerminal());
  const enc = new TextEncoder();
  const detect = detectChoice
    ? await DetectSession.open(
      detectChoice,
      // -q: no report and no alert lines (--alerts and --outdir still get everything). The bar
      // shares the terminal: it is erased first, else the alert would start mid-line.
      (line) => {
        if (v.quiet) return;
        bar.clear();
        out.lines.writeSync(enc.encode(line + "\n"));
      },
      colorWanted(out.lines, Boolean(v["no-color"])),
      plan,
    )
    : undefined;
  detect?.setCommunityIdSeed(zeek.communityIdSeed);
  const exporter = exp ? await Exporter.open(exp.path, exp.format, exp.type) : undefined;
  const ipfix = ipfixChoice && await openIpfix(ipfixChoice, decoder);
  const zeekLogs = zeek.dir !== undefined ? new ZeekLogs(zeek.dir, zeek.json) : undefined;
  const stored = storeTarget &&
    await StoreRecording.open(storeTarget, { kind: "file", name: files.join(", ") }, detect?.engine);
  const printer = lines && new PacketPrinter(lines.printer);
  const fileLines = printer && new FileLines(printer, !lines.printer.compact, lines.count);
  const session = await Session.open({
    files,
    decoder,
    bpf,
    top,
    detection: detect?.engine,
    sinks: [
      ...(fileLines ? [fileLines] : []),
      ...(exporter ? [exporter.sink()] : []),
      ...(ipfix ? [ipfix] : []),
      ...(zeekLogs?.sinks() ?? []),
      ...(stored ? [stored.recorder] : []),
    ],
    lateSinks: detect?.eveSinks,
    progress: (done, _total, path) => bar.update(done, path),
    communityIdSeed: zeek.communityIdSeed,
    geo,
    workers: intOption(v.workers as string | undefined, "workers", 1, 64) ?? 1,
  });
  const outcome = await (async () => {
    try {
      const between = () => stored?.step();
      return fileLines ? await writeLines(session, fileLines, between) : await runSteps(session, between);
    } catch (e) {
      await stored?.fail(e);
      // An expression valid for Ethernet may not be for a link type met later (vlan on SLL).
      if (e instanceof BpfCompileError) throw new UsageError(e.message);
      throw e;
    } finally {
      bar.done();
      await ipfix?.finished();
    }
  })();
  // -c (or the reader) stopped reading: what was asked for is written.
  if (!outcome) {
    await stored?.fail(new Error("reading stopped early: the reader of the lines went away"));
    return EXIT_OK;
  }
  const { report, decoded: result } = outcome;

  // Problems go to stderr whatever the report format; a file's fatal problem is an error.
  for (const f of result.files) {
    if (f.problem) console.error(`wiresight: ${f.problem.fatal ? "error" : "warning"}: ${f.problem.message}`);
  }
  detect?.decoderStats(result.stats);
  const written = await detect?.writeOutdir(report);
  if (written) console.error(`wiresight: report written to ${written}`);
  // report.warnings starts with those file problems; print the rest.
  for (const w of report.warnings.slice(result.files.filter((f) => f.problem).length)) {
    console.error(`wiresight: warning: ${w}`);
  }
  const failed = result.files.some((f) => f.problem?.fatal);
  const decodedNothing = result.files.every((f) => f.problem?.fatal && !f.format);
  await stored?.finish(
    report,
    decodedNothing ? "failed" : "done",
    result.files.find((f) => f.problem?.fatal)?.problem?.message ?? null,
  );
  if (!decodedNothing) {
    // With an export, EVE or the lines on stdout, the report (if asked for) goes to stderr.
    const st = style(colorWanted(out.report, Boolean(v["no-color"])));
    if (reportFormat === "json") {
      await writeTo(out.report, JSON.stringify(detect ? detect.report(report) : report, null, 2) + "\n");
    } else if (reportFormat === "text") {
      await writeTo(
        out.report,
        renderText(report, st, session.apps) + (detect ? "\n" + detect.summaryText(st, top) : ""),
      );
    }
  }
  return failed ? EXIT_RUNTIME : EXIT_OK;
}

/** --lines and its options, validated (undefined without --lines; its options then are errors). */
function linesFrom(v: Record<string, unknown>): { printer: PrinterOptions; count?: number } | undefined {
  if (!v.lines) {
    const given = [...lineOptionsGiven(v), ...(v.count !== undefined ? ["-c"] : [])];
    if (given.length) throw new UsageError(`${given.join(", ")}: only with --lines`);
    return undefined;
  }
  return {
    printer: printerOptionsFrom(v, colorWanted(Deno.stdout, Boolean(v["no-color"])), 0),
    count: intOption(v.count as string | undefined, "count", 1, Number.MAX_SAFE_INTEGER),
  };
}

/**
 * Decodes, writing the lines after each chunk (one write per chunk); stops once -c's packets are
 * out or the reader went away (`| head`), and then has no result (the rest was not read).
 */
async function writeLines(
  session: Session,
  lines: FileLines,
  between: () => Promise<void> | undefined,
): Promise<SessionResult | null> {
  const flush = async () => {
    const text = lines.takeLines();
    return !text.length || await writeOut(text.join("\n") + "\n");
  };
  const steps = session.steps();
  for (;;) {
    const step = await steps.next();
    const read = await flush();
    if (step.done) return step.value;
    await between();
    if (lines.done || !read) {
      // The decoder is freed, and the last packet's line made (-c's last is kept).
      await steps.return(undefined as never);
      if (read) await flush();
      return null;
    }
  }
}

/** Decodes to the end, running `between` after each chunk (the history store's writes). */
async function runSteps(session: Session, between: () => Promise<void> | undefined): Promise<SessionResult> {
  const steps = session.steps();
  for (;;) {
    const step = await steps.next();
    if (step.done) return step.value;
    await between();
  }
}
