// `wiresight read FILE...`: analyse captures, print the report, stream exports.
import { DEFAULT_MAX_FLOWS, DEFAULT_TIMEOUTS } from "../decoder/decoder.ts";
import { Session } from "../pipeline/session.ts";
import { renderText } from "../report/text.ts";
import { colorWanted, style } from "../base/format.ts";
import { Exporter } from "../sinks/export.ts";
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
} from "./common.ts";
import { EXIT_OK, EXIT_RUNTIME, UsageError } from "./errors.ts";
import { ProgressBar } from "./progress.ts";
import { writeErr, writeOut } from "./output.ts";
import { DETECT_HELP, DETECT_OPTIONS, detectFrom, DetectSession } from "./detect.ts";

export const READ_HELP = `Usage: wiresight read FILE... [options]

Analyse pcap/pcapng captures: decode every packet, track flows, print a traffic report
(duration, rates, protocol distribution, top talkers, conversations, ports, malformed packets).
Several files are read in order as one capture.

  -h, --help                   this help

Report:
      --report text|json|none  report format on stdout (default text)
      --top N                  entries in each top list (default 10)
  -q, --quiet                  no report (same as --report none), no alert lines
      --no-progress            no progress bar (it is drawn only when stderr is a terminal)
      --no-color               no colour (also: NO_COLOR=1)

Export (streamed, any capture size):
      --export PATH            write records to PATH (- for stdout; the report then goes to stderr);
                               format from its extension (.json .ndjson .jsonl .csv)
      --export-format FMT      json, ndjson or csv (overrides the extension; in CSV, text a spreadsheet
                               would run as a formula, such as =cmd..., is written as '=cmd...)
      --export-type TYPE       packets (default), flows, or application records: dns, http, tls
      --export-payload N       include up to N payload bytes per packet, as hex (default 0)

Filters (a packet must pass all that are given):
  -p, --protocol LIST          keep only these: tcp udp icmp icmpv6 arp ipv4 ipv6 other
      --exclude-protocol LIST  drop these
      --host ADDR[/PREFIX]     keep packets to or from these addresses (repeat or comma-separate)
      --port N                 keep packets with this source or destination port (repeatable)
      --no-loopback            drop packets to or from 127.0.0.0/8 and ::1
  -f, --filter EXPR            BPF expression, as tcpdump's (compiled by libpcap)

Flows:
      --tcp-timeout S          end TCP flows idle this long (default ${DEFAULT_TIMEOUTS.tcpIdle}; 0 = never)
      --udp-timeout S          end UDP and other flows idle this long (default ${DEFAULT_TIMEOUTS.udpIdle})
      --active-timeout S       split flows active this long into records (default ${DEFAULT_TIMEOUTS.active})
      --max-flows N            flows tracked at once; the least recent is ended beyond (default ${DEFAULT_MAX_FLOWS})

Application layer:
      --no-app                 skip application-layer decoding (DNS, HTTP, TLS, QUIC ...): L2-L4 only

${DETECT_HELP}

Examples:
  wiresight read capture.pcapng
  wiresight read a.pcap b.pcap --report json | jq .top_talkers
  wiresight read big.pcap -f 'tcp port 443' --export flows.csv --export-type flows
  wiresight read capture.pcap --detect --alerts eve.ndjson --config detect.toml
`;

export const READ_OPTIONS: Options = {
  help: { type: "boolean", short: "h" },
  report: { type: "string" },
  top: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  "no-progress": { type: "boolean" },
  "no-color": { type: "boolean" },
  ...EXPORT_OPTIONS,
  ...FILTER_OPTIONS,
  ...FLOW_OPTIONS,
  ...DETECT_OPTIONS,
};

export async function readCommand(argv: string[]): Promise<number> {
  const { values: v, positionals: files } = parse(argv, READ_OPTIONS, "read");
  if (v.help) {
    await writeOut(READ_HELP);
    return EXIT_OK;
  }
  if (files.length === 0) throw new UsageError("read: give at least one capture file");
  const reportFormat = v.quiet
    ? "none"
    : choice(v.report as string | undefined, "report", ["text", "json", "none"]) ?? "text";
  const top = intOption(v.top as string | undefined, "top", 1, 10000) ?? 10;
  const decoder = decoderConfigFrom(v);
  const exp = exportFrom(v);
  const exportPath = exp?.path;
  if (exp?.type === "packets") decoder.packets = { payloadMax: exp.payloadMax };
  const bpf = v.filter as string | undefined;
  if (bpf !== undefined) checkBpf(bpf);
  const detectChoice = detectFrom(v);
  if (detectChoice?.alertsPath === "-" && exportPath === "-") {
    throw new UsageError("--alerts - and --export - cannot both write to stdout");
  }

  let total = 0;
  for (const f of files) {
    const { file, size } = await openCapture(f);
    file.close();
    total += size;
  }

  // Alert lines go to stdout, unless stdout carries JSON (a JSON report, an export or EVE).
  const stdoutTaken = reportFormat === "json" || exportPath === "-" || detectChoice?.alertsPath === "-";
  const alertStream = stdoutTaken ? Deno.stderr : Deno.stdout;
  const enc = new TextEncoder();
  const detect = detectChoice
    ? await DetectSession.open(
      detectChoice,
      // -q: no report and no alert lines (--alerts and --outdir still get everything).
      (line) => v.quiet || alertStream.writeSync(enc.encode(line + "\n")),
      colorWanted(alertStream, Boolean(v["no-color"])),
    )
    : undefined;
  const exporter = exp ? await Exporter.open(exp.path, exp.format, exp.type) : undefined;
  const bar = new ProgressBar(total, !v["no-progress"] && Deno.stderr.isTerminal());
  const session = await Session.open({
    files,
    decoder,
    bpf,
    top,
    detection: detect?.engine,
    sinks: exporter ? [exporter.sink()] : [],
    lateSinks: detect?.eveSinks,
    progress: (done, _total, path) => bar.update(done, path),
  });
  const { report, decoded: result } = await (async () => {
    try {
      return await session.run();
    } catch (e) {
      // An expression valid for Ethernet may not be for a link type met later (vlan on SLL).
      if (e instanceof BpfCompileError) throw new UsageError(e.message);
      throw e;
    } finally {
      bar.done();
    }
  })();

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
  if (!decodedNothing) {
    // With the export on stdout, the report (if asked for) goes to stderr.
    const out = exportPath === "-" ? writeErr : writeOut;
    const stream = exportPath === "-" ? Deno.stderr : Deno.stdout;
    const st = style(colorWanted(stream, Boolean(v["no-color"])));
    if (reportFormat === "json") {
      await out(JSON.stringify(detect ? detect.report(report) : report, null, 2) + "\n");
    } else if (reportFormat === "text") {
      await out(renderText(report, st, session.apps) + (detect ? "\n" + detect.summaryText(st, top) : ""));
    }
  }
  return failed ? EXIT_RUNTIME : EXIT_OK;
}
