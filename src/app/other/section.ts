// The report's section for the small protocols: DHCP clients, NTP modes and server greetings
// (SMTP, FTP, POP3, IMAP) from AK_DHCP, AK_NTP and AK_BANNER events.
import * as abi from "../../decoder/abi.ts";
import type { AppEvent } from "../../decoder/app_event.ts";
import { count, counted, printable, type Style, table } from "../../base/format.ts";
import { BoundedTable } from "../../base/bounded_table.ts";
import { Counter } from "../../base/counter.ts";
import { appName } from "../names.ts";
import type { Section } from "../protocol.ts";
import { DHCP_MESSAGE_TYPES, type DhcpMessage, dhcpMessage, NTP_MODES } from "./message.ts";

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
  readonly #clients = new BoundedTable<DhcpClient>("dhcp_clients", MAX_CLIENTS);
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
    let c = this.#clients.peek(m.mac);
    if (!c) {
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
