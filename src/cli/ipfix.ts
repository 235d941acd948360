// --ipfix and its settings, shared by `read` and `capture`.
import type { DecoderConfig } from "../decoder/decoder.ts";
import { IpfixExporter, type IpfixSettings } from "../sinks/ipfix/exporter.ts";
import { DEFAULT_PEN } from "../sinks/ipfix/template.ts";
import { parseCollector } from "../sinks/ipfix/transport.ts";
import { intervalOption, intOption, type Options, secondsOption } from "./args.ts";
import { UsageError } from "./errors.ts";

/** Well under a collector's 5-minute files (nfcapd's), so a long flow shows in each while it lasts. */
const DEFAULT_ACTIVE_TIMEOUT = 60;
const DEFAULT_TEMPLATE_REFRESH = 60;
const DEFAULT_MTU = 1400;

export const IPFIX_OPTIONS: Options = {
  ipfix: { type: "string" },
  "ipfix-active-timeout": { type: "string" },
  "ipfix-template-refresh": { type: "string" },
  "ipfix-mtu": { type: "string" },
  "ipfix-pen": { type: "string" },
  "ipfix-domain": { type: "string" },
};

export const IPFIX_HELP = `IPFIX export (RFC 7011) to a flow collector (nfcapd, nfacctd, ...):
      --ipfix [tcp://]HOST:PORT   send flow records there, over UDP (or TCP with tcp://); one
                               record per flow with RFC 5103 reverse counts for its responder
      --ipfix-active-timeout S report flows active this long, while they last (default ${DEFAULT_ACTIVE_TIMEOUT};
                               sets --active-timeout: one flow table)
      --ipfix-template-refresh S  over UDP, send the templates again this often (default ${DEFAULT_TEMPLATE_REFRESH};
                               also every 100 messages)
      --ipfix-mtu N            largest message in bytes (default ${DEFAULT_MTU})
      --ipfix-pen N            enterprise number of wiresight's own elements (default ${DEFAULT_PEN},
                               RFC 5612's number for documentation)
      --ipfix-domain N         observation domain id (default 1)`;

export interface IpfixChoice {
  settings: IpfixSettings;
  activeTimeout: number;
}

/** The --ipfix options, validated (undefined without --ipfix; its settings then are errors). */
export function ipfixFrom(v: Record<string, unknown>): IpfixChoice | undefined {
  const target = v.ipfix as string | undefined;
  if (target === undefined) {
    const given = Object.keys(IPFIX_OPTIONS).filter((k) => k !== "ipfix" && v[k] !== undefined);
    if (given.length) throw new UsageError(`${given.map((k) => `--${k}`).join(", ")}: only with --ipfix`);
    return undefined;
  }
  const collector = parseCollector(target);
  if (!collector) {
    throw new UsageError(`--ipfix takes HOST:PORT, [IPV6]:PORT or tcp://HOST:PORT, not '${target}'`);
  }
  const active = secondsOption(v["ipfix-active-timeout"] as string | undefined, "ipfix-active-timeout");
  const flowActive = secondsOption(v["active-timeout"] as string | undefined, "active-timeout");
  if (active !== undefined && flowActive !== undefined && active !== flowActive) {
    throw new UsageError(
      "--ipfix-active-timeout and --active-timeout set the same flow table's timeout: give one",
    );
  }
  return {
    activeTimeout: active ?? flowActive ?? DEFAULT_ACTIVE_TIMEOUT,
    settings: {
      collector,
      pen: intOption(v["ipfix-pen"] as string | undefined, "ipfix-pen", 1, 2 ** 32 - 1) ?? DEFAULT_PEN,
      observationDomain: intOption(v["ipfix-domain"] as string | undefined, "ipfix-domain", 0, 2 ** 32 - 1) ??
        1,
      mtu: intOption(v["ipfix-mtu"] as string | undefined, "ipfix-mtu", 576, 65000) ?? DEFAULT_MTU,
      templateRefresh:
        intervalOption(v["ipfix-template-refresh"] as string | undefined, "ipfix-template-refresh") ??
          DEFAULT_TEMPLATE_REFRESH,
    },
  };
}

/** Opens the exporter and gives the flow table its active timeout. */
export function openIpfix(choice: IpfixChoice, decoder: DecoderConfig): Promise<IpfixExporter> {
  if (decoder.timeouts) decoder.timeouts = { ...decoder.timeouts, active: choice.activeTimeout };
  return IpfixExporter.open(choice.settings, (message) => console.error(`wiresight: warning: ${message}`));
}
