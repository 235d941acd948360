// Text forms of addresses as tshark and inet_ntop print them.

export function formatIPv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952: lower-case hex, no leading zeros, the longest run of 2+ zero groups as "::". */
export function formatIPv6(b: Uint8Array, off = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[off + 2 * i] << 8) | b[off + 2 * i + 1]);
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) return `::ffff:${formatIPv4(b, off + 12)}`;
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

export function formatAddress(ipVersion: number, b: Uint8Array, off = 0): string {
  return ipVersion === 6 ? formatIPv6(b, off) : formatIPv4(b, off);
}

/** "address:port", with IPv6 addresses in brackets. */
export function formatEndpoint(addr: string, port: number | null): string {
  if (port === null) return addr || "-";
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

export function formatMac(b: Uint8Array, off = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(b[off + i].toString(16).padStart(2, "0"));
  return parts.join(":");
}

/** Parses an IPv4 or IPv6 address (with an optional /prefix) into 16 bytes. */
export function parseCidr(text: string): { bytes: Uint8Array; prefix: number; ipVersion: 4 | 6 } | null {
  const [addr, prefixText, extra] = text.trim().split("/");
  if (extra !== undefined || !addr) return null;
  const bytes = new Uint8Array(16);
  let ipVersion: 4 | 6;
  if (addr.includes(":")) {
    if (!parseIPv6Into(addr, bytes)) return null;
    ipVersion = 6;
  } else {
    const parts = addr.split(".");
    if (parts.length !== 4) return null;
    for (let i = 0; i < 4; i++) {
      if (!/^\d{1,3}$/.test(parts[i]) || Number(parts[i]) > 255) return null;
      bytes[i] = Number(parts[i]);
    }
    ipVersion = 4;
  }
  const max = ipVersion === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return null;
  return { bytes, prefix, ipVersion };
}

function parseIPv6Into(text: string, out: Uint8Array): boolean {
  let head = text, tail = "";
  const dbl = text.indexOf("::");
  if (dbl >= 0) {
    if (text.indexOf("::", dbl + 1) >= 0) return false;
    head = text.slice(0, dbl);
    tail = text.slice(dbl + 2);
  }
  const toGroups = (s: string): number[] | null => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseCidr(p);
        if (!v4 || v4.ipVersion !== 4 || p.includes("/")) return null;
        out.push((v4.bytes[0] << 8) | v4.bytes[1], (v4.bytes[2] << 8) | v4.bytes[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const h = toGroups(head), t = toGroups(tail);
  if (!h || !t) return false;
  const missing = 8 - h.length - t.length;
  if (dbl < 0 ? missing !== 0 : missing < 1) return false;
  const groups = [...h, ...new Array(dbl < 0 ? 0 : missing).fill(0), ...t];
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return true;
}
