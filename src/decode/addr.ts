/**
 * Address text and address classes. Used once per flow (naming, storage, display), never
 * per packet: these functions allocate strings.
 */

/** IPv4 dotted quad for 4 bytes; RFC 5952 canonical text for 16 bytes (IPv4-mapped as ::ffff:a.b.c.d). */
export function addrToString(buf: Uint8Array, off = 0, len = buf.length - off): string {
  if (len === 4) return ipv4ToString(buf, off);
  if (len === 16) return ipv6ToString(buf, off);
  throw new RangeError(`address length ${len}: expected 4 or 16`);
}

function ipv4ToString(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

function ipv6ToString(b: Uint8Array, off: number): string {
  if (isV4Mapped(b, off)) return `::ffff:${ipv4ToString(b, off + 12)}`;
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[off + 2 * i] << 8) | b[off + 2 * i + 1]);
  // RFC 5952 4.2: compress the longest run of two or more zero words; the first on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

function isV4Mapped(b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 10; i++) if (b[off + i] !== 0) return false;
  return b[off + 10] === 0xff && b[off + 11] === 0xff;
}

/** The 4 IPv4 bytes of an IPv4 address or of an IPv4-mapped IPv6 address, else -1 (as offset). */
function v4Offset(a: Uint8Array): number {
  if (a.length === 4) return 0;
  if (a.length === 16 && isV4Mapped(a, 0)) return 12;
  return -1;
}

/** 127.0.0.0/8, ::1 (and ::ffff:127.x.y.z). */
export function isLoopback(a: Uint8Array): boolean {
  const o = v4Offset(a);
  if (o >= 0) return a[o] === 127;
  if (a.length !== 16) return false;
  for (let i = 0; i < 15; i++) if (a[i] !== 0) return false;
  return a[15] === 1;
}

/**
 * Addresses that do not reach the public internet: RFC 1918 (10/8, 172.16/12, 192.168/16),
 * CGNAT 100.64/10, link-local (169.254/16, fe80::/10) and unique-local fc00::/7.
 * Loopback is not included: ask isLoopback.
 */
export function isPrivate(a: Uint8Array): boolean {
  const o = v4Offset(a);
  if (o >= 0) {
    const x = a[o];
    const y = a[o + 1];
    return x === 10
      || (x === 172 && (y & 0xf0) === 16)
      || (x === 192 && y === 168)
      || (x === 100 && (y & 0xc0) === 64)
      || (x === 169 && y === 254);
  }
  if (a.length !== 16) return false;
  return (a[0] & 0xfe) === 0xfc || (a[0] === 0xfe && (a[1] & 0xc0) === 0x80);
}

/** 224.0.0.0/4, 255.255.255.255 and ff00::/8: traffic to a group, not to one far end. */
export function isMulticastOrBroadcast(a: Uint8Array): boolean {
  const o = v4Offset(a);
  if (o >= 0) return (a[o] & 0xf0) === 224 || (a[o] === 255 && a[o + 1] === 255 && a[o + 2] === 255 && a[o + 3] === 255);
  return a.length === 16 && a[0] === 0xff;
}

/** 0.0.0.0, ::, and ::ffff:0.0.0.0: the address that binds every interface. */
export function isUnspecified(a: Uint8Array): boolean {
  const mapped = a.length === 16 && a.slice(0, 10).every((x) => x === 0) && a[10] === 0xff && a[11] === 0xff;
  const bytes = mapped ? a.slice(12) : a;
  return bytes.every((x) => x === 0);
}
