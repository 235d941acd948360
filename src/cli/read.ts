// `wiresight read FILE...`: analyse captures, print the report, stream exports.
import * as abi from "../decoder/abi.ts";
import { type DecoderConfig, DEFAULT_MAX_FLOWS, DEFAULT_TIMEOUTS } from "../decoder/decoder.ts";
import { parseCidr } from "../decoder/address.ts";
import type { EventHandlers } from "../decoder/records.ts";
import { runPipeline } from "../pipeline/pipeline.ts";
import { AppSummary } from "../app/summary.ts";
import { buildReport } from "../report/report.ts";
import { renderText } from "../report/text.ts";
import { colorWanted, style } from "../report/format.ts";
import {
  EXPORT_FORMATS,
  EXPORT_TYPES,
  Exporter,
  type ExportFormat,
  formatFromPath,
} from "../sinks/export.ts";
import { openCapture } from "../source/file.ts";
import { BpfCompileError, compileBpf } from "../../ffi/libpcap.ts";
import { choice, intOption, listOption, type Options, parse, secondsOption } from "./args.ts";
import { EXIT_OK, EXIT_RUNTIME, UsageError } from "./errors.ts";
import { ProgressBar } from "./progress.ts";
import { writeErr, writeOut } from "./output.ts";

export const READ_HELP = `Usage: wiresight read FILE... [options]

Analyse pcap/pcapng captures: decode every packet, track flows, print a traffic report
(duration, rates, protocol distribution, top talkers, conversations, ports, malformed packets).
Several files are read in order as one capture.

  -h, --help                   this help

Report:
      --report text|json|none  report format on stdout (default text)
      --top N                  entries in each top list (default 10)
  -q, --quiet                  no report (same as --report none)
      --no-progress            no progress bar (it is drawn only when stderr is a terminal)
      --no-color               no colour (also: NO_COLOR=1)

Export (streamed, any capture size):
      --export PATH            write records to PATH (- for stdout; the report then goes to stderr);
                               format from its extension (.json .ndjson .jsonl .csv)
      --export-format FMT      json, ndjson or csv (overrides the extension)
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

Examples:
  wiresight read capture.pcapng
  wiresight read a.pcap b.pcap --report json | jq .top_talkers
  wiresight read big.pcap -f 'tcp port 443' --export flows.csv --export-type flows
`;

export const READ_OPTIONS: Options = {
  help: { type: "boolean", short: "h" },
  report: { type: "string" },
  top: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  "no-progress": { type: "boolean" },
  "no-color": { type: "boolean" },
  export: { type: "string" },
  "export-format": { type: "string" },
  "export-type": { type: "string" },
  "export-payload": { type: "string" },
  protocol: { type: "string", short: "p", multiple: true },
  "exclude-protocol": { type: "string", multiple: true },
  host: { type: "string", multiple: true },
  port: { type: "string", multiple: true },
  "no-loopback": { type: "boolean" },
  filter: { type: "string", short: "f" },
  "tcp-timeout": { type: "string" },
  "udp-timeout": { type: "string" },
  "active-timeout": { type: "string" },
  "max-flows": { type: "string" },
  "no-app": { type: "boolean" },
};

const PROTOCOL_BITS: Record<string, number> = {
  tcp: abi.PROTO_TCP,
  udp: abi.PROTO_UDP,
  icmp: abi.PROTO_ICMP,
  icmpv6: abi.PROTO_ICMPV6,
  arp: abi.PROTO_ARP,
  ip: abi.PROTO_IPV4,
  ipv4: abi.PROTO_IPV4,
  ipv6: abi.PROTO_IPV6,
  other: abi.PROTO_OTHER,
};

function protocolMask(values: string[], flag: string): number {
  let mask = 0;
  for (const v of values) {
    const bit = PROTOCOL_BITS[v.toLowerCase()];
    if (bit === undefined) {
      throw new UsageError(
        `--${flag}: unknown protocol '${v}' (use ${Object.keys(PROTOCOL_BITS).join(", ")})`,
      );
    }
    mask |= bit;
  }
  return mask;
}

function ports(values: string[]): number[] {
  return values.map((v) => intOption(v, "port", 0, 65535)!);
}

/** Validates the filter options and turns them into decoder settings. */
export function decoderConfigFrom(v: Record<string, unknown>): DecoderConfig {
  const hosts = listOption(v.host as string[] | undefined);
  for (const h of hosts) {
    if (!parseCidr(h)) throw new UsageError(`--host: '${h}' is not an IPv4/IPv6 address or CIDR`);
  }
  const include = protocolMask(listOption(v.protocol as string[] | undefined), "protocol");
  const exclude = protocolMask(listOption(v["exclude-protocol"] as string[] | undefined), "exclude-protocol");
  return {
    maxFlows: intOption(v["max-flows"] as string | undefined, "max-flows", 16, 50_000_000),
    timeouts: {
      tcpIdle: secondsOption(v["tcp-timeout"] as string | undefined, "tcp-timeout") ??
        DEFAULT_TIMEOUTS.tcpIdle,
      udpIdle: secondsOption(v["udp-timeout"] as string | undefined, "udp-timeout") ??
        DEFAULT_TIMEOUTS.udpIdle,
      closedLinger: DEFAULT_TIMEOUTS.closedLinger,
      active: secondsOption(v["active-timeout"] as string | undefined, "active-timeout") ??
        DEFAULT_TIMEOUTS.active,
    },
    protocols: include || exclude ? { include, exclude } : undefined,
    hosts,
    ports: ports(listOption(v.port as string[] | undefined)),
    noLoopback: Boolean(v["no-loopback"]),
    appDecoding: !v["no-app"],
  };
}

/** Compiles the BPF expression once up front, so a typo is a usage error before any reading. */
export function checkBpf(expression: string): void {
  try {
    compileBpf(expression, abi.LINKTYPE_ETHERNET);
  } catch (e) {
    if (e instanceof BpfCompileError) throw new UsageError(e.message.replace(/ for link type 1:/, ":"));
    throw e;
  }
}

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
  const exportPath = v.export as string | undefined;
  let exportFormat: ExportFormat | undefined;
  const exportType = choice(v["export-type"] as string | undefined, "export-type", EXPORT_TYPES) ?? "packets";
  const payloadMax = intOption(v["export-payload"] as string | undefined, "export-payload", 0, 65535) ?? 0;
  if (exportPath !== undefined) {
    exportFormat = choice(v["export-format"] as string | undefined, "export-format", EXPORT_FORMATS) ??
      formatFromPath(exportPath);
    if (!exportFormat) {
      throw new UsageError(
        `cannot tell the export format from '${exportPath}': use --export-format json|ndjson|csv`,
      );
    }
    if (exportType === "packets") decoder.packets = { payloadMax };
    if (exportType === "dns" && v["no-app"]) {
      throw new UsageError("--export-type dns needs application decoding: drop --no-app");
    }
  } else if (v["export-format"] || v["export-type"] || v["export-payload"]) {
    throw new UsageError("--export-format, --export-type and --export-payload need --export PATH");
  }
  const bpf = v.filter as string | undefined;
  if (bpf !== undefined) checkBpf(bpf);

  let total = 0;
  for (const f of files) {
    const { file, size } = await openCapture(f);
    file.close();
    total += size;
  }

  const exporter = exportPath ? await Exporter.open(exportPath, exportFormat!, exportType) : undefined;
  const apps = new AppSummary();
  apps.flowNames.enabled = exportType === "flows";
  const handlers: EventHandlers = {
    flow: exportType === "flows" && exporter ? (f) => exporter.flow(f, apps.flowName(f)) : undefined,
    packet: exportType === "packets" && exporter ? (p) => exporter.packet(p) : undefined,
    app: decoder.appDecoding === false ? undefined : exporter?.wantsApp
      ? (e) => {
        apps.add(e);
        exporter.app(e);
      }
      : (e) => apps.add(e),
  };
  const bar = new ProgressBar(total, !v["no-progress"] && Deno.stderr.isTerminal());
  let before = 0;
  const sizes: number[] = [];
  const result = await (async () => {
    try {
      return await runPipeline({
        files,
        decoder,
        bpf,
        top,
        progress: (path, index, read, size) => {
          sizes[index] = size;
          before = sizes.slice(0, index).reduce((a, b) => a + b, 0);
          bar.update(before + read, path);
        },
      }, handlers);
    } catch (e) {
      // An expression valid for Ethernet may not be for a link type met later (vlan on SLL).
      if (e instanceof BpfCompileError) throw new UsageError(e.message);
      throw e;
    } finally {
      bar.done();
      exporter?.close();
    }
  })();

  // Problems go to stderr whatever the report format; a file's fatal problem is an error.
  for (const f of result.files) {
    if (f.problem) console.error(`wiresight: ${f.problem.fatal ? "error" : "warning"}: ${f.problem.message}`);
  }
  const report = buildReport(result, apps, top);
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
    if (reportFormat === "json") await out(JSON.stringify(report, null, 2) + "\n");
    else if (reportFormat === "text") {
      await out(renderText(report, style(colorWanted(stream, Boolean(v["no-color"]))), apps));
    }
  }
  return failed ? EXIT_RUNTIME : EXIT_OK;
}
