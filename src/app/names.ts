// Names for application-layer codes.
import * as abi from "../decoder/abi.ts";

export const APP_NAMES: Record<number, string> = {
  [abi.APP_DNS]: "dns",
  [abi.APP_MDNS]: "mdns",
  [abi.APP_LLMNR]: "llmnr",
  [abi.APP_HTTP]: "http",
  [abi.APP_TLS]: "tls",
  [abi.APP_QUIC]: "quic",
  [abi.APP_SSH]: "ssh",
  [abi.APP_DHCP]: "dhcp",
  [abi.APP_NTP]: "ntp",
  [abi.APP_SMTP]: "smtp",
  [abi.APP_FTP]: "ftp",
  [abi.APP_POP3]: "pop3",
  [abi.APP_IMAP]: "imap",
  [abi.APP_REDIS]: "redis",
  [abi.APP_MQTT]: "mqtt",
  [abi.APP_SMB]: "smb",
  [abi.APP_RDP]: "rdp",
  [abi.APP_MYSQL]: "mysql",
  [abi.APP_POSTGRESQL]: "postgresql",
  [abi.APP_SYSLOG]: "syslog",
  [abi.APP_SNMP]: "snmp",
  [abi.APP_TELNET]: "telnet",
  [abi.APP_FTP_DATA]: "ftp-data",
};

export function appName(app: number): string | null {
  return APP_NAMES[app] ?? null;
}

export const DNS_TYPES: Record<number, string> = {
  1: "A",
  2: "NS",
  5: "CNAME",
  6: "SOA",
  12: "PTR",
  13: "HINFO",
  15: "MX",
  16: "TXT",
  17: "RP",
  18: "AFSDB",
  24: "SIG",
  25: "KEY",
  28: "AAAA",
  29: "LOC",
  33: "SRV",
  35: "NAPTR",
  36: "KX",
  37: "CERT",
  39: "DNAME",
  41: "OPT",
  42: "APL",
  43: "DS",
  44: "SSHFP",
  45: "IPSECKEY",
  46: "RRSIG",
  47: "NSEC",
  48: "DNSKEY",
  49: "DHCID",
  50: "NSEC3",
  51: "NSEC3PARAM",
  52: "TLSA",
  53: "SMIMEA",
  55: "HIP",
  59: "CDS",
  60: "CDNSKEY",
  61: "OPENPGPKEY",
  62: "CSYNC",
  63: "ZONEMD",
  64: "SVCB",
  65: "HTTPS",
  99: "SPF",
  108: "EUI48",
  109: "EUI64",
  249: "TKEY",
  250: "TSIG",
  251: "IXFR",
  252: "AXFR",
  255: "ANY",
  256: "URI",
  257: "CAA",
};

export function dnsTypeName(t: number): string {
  return DNS_TYPES[t] ?? `TYPE${t}`;
}

export const DNS_RCODES: Record<number, string> = {
  0: "NOERROR",
  1: "FORMERR",
  2: "SERVFAIL",
  3: "NXDOMAIN",
  4: "NOTIMP",
  5: "REFUSED",
  6: "YXDOMAIN",
  7: "YXRRSET",
  8: "NXRRSET",
  9: "NOTAUTH",
  10: "NOTZONE",
  16: "BADVERS",
  17: "BADKEY",
  18: "BADTIME",
  19: "BADMODE",
  20: "BADNAME",
  21: "BADALG",
  22: "BADTRUNC",
  23: "BADCOOKIE",
};

export function dnsRcodeName(r: number): string {
  return DNS_RCODES[r] ?? `RCODE${r}`;
}
