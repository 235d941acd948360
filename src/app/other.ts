// DHCP clients, NTP modes and server greetings (SMTP, FTP, POP3, IMAP) from AK_DHCP, AK_NTP and
// AK_BANNER events.
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import { formatIPv4 } from "../decoder/address.ts";
import { count, counted, printable, type Style, table } from "../report/format.ts";
import { Counter } from "./counter.ts";
import { appName } from "./names.ts";
import type { Section } from "./section.ts";

export const DHCP_MESSAGE_TYPES: Record<number, string> = {
  1: "DISCOVER",
  2: "OFFER",
  3: "REQUEST",
  4: "DECLINE",
  5: "ACK",
  6: "NAK",
  7: "RELEASE",
  8: "INFORM",
  9: "FORCERENEW",
  10: "LEASEQUERY",
  11: "LEASEUNASSIGNED",
  12: "LEASEUNKNOWN",
  13: "LEASEACTIVE",
};

/** Message types a client sends (RFC 2131 3.1, 3.4); the others come from servers. */
const FROM_CLIENT = new Set([1, 3, 4, 7, 8]);

export const NTP_MODES: Record<number, string> = {
  0: "reserved",
  1: "symmetric_active",
  2: "symmetric_passive",
  3: "client",
  4: "server",
  5: "broadcast",
  6: "control",
  7: "private",
};

export interface DhcpMessage {
  /** Option 53 as a number (null: plain BOOTP). */
  type: number | null;
  /** chaddr as hex pairs joined by ":" (hlen bytes). */
  mac: string | null;
  hostname: string | null;
  requested: string | null;
  /** yiaddr, when not 0.0.0.0. */
  yourIp: string | null;
  vendorClass: string | null;
  fromClient: boolean;
}

const hexPairs = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
const ipv4 = (b: Uint8Array | undefined) => (b?.length === 4 ? formatIPv4(b) : null);

export function dhcpMessage(e: AppEvent): DhcpMessage {
  const type = e.num(abi.F_DHCP_MSG_TYPE) ?? null;
  const mac = e.bytes(abi.F_DHCP_CLIENT_MAC);
  return {
    type,
    mac: mac ? hexPairs(mac) : null,
    hostname: e.str(abi.F_DHCP_HOSTNAME) ?? null,
    requested: ipv4(e.bytes(abi.F_DHCP_REQUESTED_IP)),
    yourIp: ipv4(e.bytes(abi.F_DHCP_YOUR_IP)),
    vendorClass: e.str(abi.F_DHCP_VENDOR_CLASS) ?? null,
    fromClient: type === null ? e.dstPort === 67 : FROM_CLIENT.has(type),
  };
}

export interface DhcpClient {
  mac: string;
  /** The name the client gave (option 12), else one a server gave it. */
  hostname: string | null;
  vendor_class: string | null;
  requested: string | null;
  offered: string | null;
  /** yiaddr of the last ACK (or of a BOOTP reply). */
  assigned: string | null;
  messages: number;
  message_types: Record<string, number>;
}

export interface OtherReport {
  dhcp: { messages: number; message_types: Record<string, number>; clients: DhcpClient[] } | null;
  ntp: { packets: number; modes: Record<string, number>; versions: Record<string, number> } | null;
  /** First lines servers sent, by protocol and server. */
  banners: { protocol: string; server: string; banner: string; flows: number }[];
}

/** DHCP clients remembered (the oldest is forgotten first). */
const MAX_CLIENTS = 4096;

export class OtherSection implements Section<OtherReport> {
  readonly key = "other";
  readonly kinds = [abi.AK_DHCP, abi.AK_NTP, abi.AK_BANNER];
  #dhcpMessages = 0;
  readonly #dhcpTypes = new Counter(100);
  readonly #clients = new Map<string, DhcpClient>();
  #ntpPackets = 0;
  readonly #ntpModes = new Counter(10);
  readonly #ntpVersions = new Counter(10);
  /** JSON [protocol, server, banner] -> flows. */
  readonly #banners = new Counter();

  add(e: AppEvent): void {
    if (e.kind === abi.AK_DHCP) this.#dhcp(dhcpMessage(e));
    else if (e.kind === abi.AK_NTP) {
      this.#ntpPackets++;
      const mode = e.num(abi.F_NTP_MODE) ?? 0;
      this.#ntpModes.add(NTP_MODES[mode] ?? `mode${mode}`);
      this.#ntpVersions.add(`v${e.num(abi.F_NTP_VERSION) ?? 0}`);
    } else {
      const server = e.ipVersion === 6 ? `[${e.src}]:${e.srcPort}` : `${e.src}:${e.srcPort}`;
      const protocol = appName(e.app) ?? `app${e.app}`;
      this.#banners.add(JSON.stringify([protocol, server, e.str(abi.F_BANNER) ?? ""]));
    }
  }

  #dhcp(m: DhcpMessage): void {
    this.#dhcpMessages++;
    const type = m.type === null ? "BOOTP" : DHCP_MESSAGE_TYPES[m.type] ?? `TYPE${m.type}`;
    this.#dhcpTypes.add(type);
    if (m.mac === null) return;
    let c = this.#clients.get(m.mac);
    if (!c) {
      if (this.#clients.size >= MAX_CLIENTS) this.#clients.delete(this.#clients.keys().next().value!);
      c = {
        mac: m.mac,
        hostname: null,
        vendor_class: null,
        requested: null,
        offered: null,
        assigned: null,
        messages: 0,
        message_types: {},
      };
      this.#clients.set(m.mac, c);
    }
    c.messages++;
    c.message_types[type] = (c.message_types[type] ?? 0) + 1;
    if (m.hostname !== null && (m.fromClient || c.hostname === null)) c.hostname = m.hostname;
    if (m.fromClient) {
      c.vendor_class = m.vendorClass ?? c.vendor_class;
      c.requested = m.requested ?? c.requested;
    } else if (m.yourIp !== null) {
      if (m.type === 2) c.offered = m.yourIp;
      if (m.type === 5 || m.type === null) c.assigned = m.yourIp;
    }
  }

  report(top: number): OtherReport | null {
    if (this.#dhcpMessages + this.#ntpPackets + this.#banners.size === 0) return null;
    const clients = [...this.#clients.values()].sort((a, b) =>
      b.messages - a.messages || (a.mac < b.mac ? -1 : 1)
    );
    return {
      dhcp: this.#dhcpMessages
        ? {
          messages: this.#dhcpMessages,
          message_types: Object.fromEntries(this.#dhcpTypes.top(100)),
          clients: clients.slice(0, top).map((c) => ({ ...c, message_types: { ...c.message_types } })),
        }
        : null,
      ntp: this.#ntpPackets
        ? {
          packets: this.#ntpPackets,
          modes: Object.fromEntries(this.#ntpModes.top(10)),
          versions: Object.fromEntries(this.#ntpVersions.top(10)),
        }
        : null,
      banners: this.#banners.top(top).map(([k, flows]) => {
        const [protocol, server, banner] = JSON.parse(k) as string[];
        return { protocol, server, banner, flows };
      }),
    };
  }

  text(r: OtherReport, st: Style): string[] {
    const out: string[] = [];
    const list = (o: Record<string, number>) =>
      Object.entries(o).map(([k, n]) => `${k} ${count(n)}`).join(", ");
    if (r.dhcp) {
      out.push(st.heading("DHCP"), `  ${counted(r.dhcp.messages, "message")}: ${list(r.dhcp.message_types)}`);
      if (r.dhcp.clients.length) {
        out.push(table(
          ["Client MAC", "Hostname", "Requested", "Assigned", "Vendor class", "Messages"],
          r.dhcp.clients.map((c) => [
            c.mac,
            printable(c.hostname ?? "-", 40),
            c.requested ?? "-",
            c.assigned ?? (c.offered ? `${c.offered} (offered)` : "-"),
            printable(c.vendor_class ?? "-", 40),
            count(c.messages),
          ]),
        ));
      }
    }
    if (r.ntp) {
      if (out.length) out.push("");
      out.push(
        st.heading("NTP"),
        `  ${counted(r.ntp.packets, "packet")}; modes: ${list(r.ntp.modes)}; versions: ${
          list(r.ntp.versions)
        }`,
      );
    }
    if (r.banners.length) {
      if (out.length) out.push("");
      out.push(
        st.heading("Server greetings"),
        table(
          ["Greeting", "Protocol", "Server", "Flows"],
          r.banners.map((b) => [printable(b.banner), b.protocol, b.server, count(b.flows)]),
        ),
      );
    }
    return out;
  }
}
