// Address text as numbers, for range lookups: IPv4 as one 32-bit number, IPv6 as four 32-bit
// words, most significant first. Null or false for text that is not an address.

/** "a.b.c.d" as a 32-bit number, or null. */
export function ipv4Number(text: string): number | null {
  let n = 0, part = 0, digits = 0, dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return null;
    } else if (c === 46 && digits > 0 && dots < 3) {
      n = n * 256 + part;
      part = digits = 0;
      dots++;
    } else return null;
  }
  return dots === 3 && digits > 0 ? n * 256 + part : null;
}

const encoder = new TextEncoder();

/** An IPv6 address's four words, written into OUT; false when TEXT is not one. */
export function ipv6Words(text: string, out: Uint32Array): boolean {
  return text.length <= 45 && ipv6WordsOf(encoder.encode(text), 0, text.length, out);
}

/**
 * The IPv6 address in ASCII bytes START..END (RFC 4291 text, "::" and a dotted IPv4 tail
 * allowed) as four words in OUT; false when it is not one. Works on bytes so that a database
 * file's hundred thousand rows are read without making strings.
 */
export function ipv6WordsOf(b: Uint8Array, start: number, end: number, out: Uint32Array): boolean {
  const groups = new Uint16Array(8);
  let n = 0, gap = -1, i = start;
  if (end - start >= 2 && b[i] === 58 && b[i + 1] === 58) {
    gap = 0;
    i += 2;
  } else if (b[i] === 58) return false;
  while (i < end) {
    if (n === 8) return false;
    // A dotted IPv4 tail takes the last two groups.
    let j = i, dotted = false;
    while (j < end && b[j] !== 58) if (b[j++] === 46) dotted = true;
    if (dotted) {
      if (j !== end || n > 6) return false;
      const v4 = ipv4Number(String.fromCharCode(...b.subarray(i, end)));
      if (v4 === null) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (j === i || j - i > 4) return false;
    let g = 0;
    for (let k = i; k < j; k++) {
      const c = b[k] | 0x20; // lower case
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
      if (d < 0) return false;
      g = (g << 4) | d;
    }
    groups[n++] = g;
    i = j;
    if (i < end) {
      i++; // the colon
      if (b[i] === 58 && i < end) {
        if (gap >= 0) return false;
        gap = n;
        i++;
      } else if (i === end) return false; // a trailing single colon
    }
  }
  if (gap < 0 ? n !== 8 : n > 7) return false;
  if (gap >= 0) {
    const tail = groups.slice(gap, n);
    groups.fill(0, gap);
    groups.set(tail, 8 - tail.length);
  }
  for (let k = 0; k < 4; k++) out[k] = ((groups[2 * k] << 16) | groups[2 * k + 1]) >>> 0;
  return true;
}
