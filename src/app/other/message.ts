// DHCP messages and NTP modes from AK_DHCP and AK_NTP events.
import * as abi from "../../decoder/abi.ts";
import type { AppEvent } from "../../decoder/app_event.ts";
import { formatIPv4 } from "../../base/address.ts";

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
