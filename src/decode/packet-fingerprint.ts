import type { Decoded } from './decoded.js';

/**
 * How many bytes after the fixed IP header (IPv4 with options, IPv6 without extension headers)
 * go into a fingerprint: the transport header (TCP with timestamps is 32 bytes) and the first
 * bytes of its payload. The transport checksum in there covers the whole payload.
 */
export const FINGERPRINT_PREFIX = 64;

/**
 * Two independent 32-bit hashes of the bytes of an IP packet that forwarding leaves alone:
 * everything but the IPv4 TTL and header checksum, or the IPv6 hop limit, then up to
 * FINGERPRINT_PREFIX bytes after the IP header (transport header, first payload bytes). A copy
 * of one packet captured on a bridge port, the bridge and the routed uplink hashes the same;
 * native-notes/dedup.md says why two different packets practically never do.
 *
 * `d` must hold a decoded IP header (decodePacket returned true, or it stopped at a later
 * fragment, which sets the same fields). Writes out[0], out[1]; allocates nothing.
 */
export function fingerprintPacket(buf: Buffer, capEnd: number, d: Decoded, out: Int32Array): void {
  let l3: number;
  let hlen: number;
  let h1 = 0x2f1b3c4d;
  let h2 = 0x6a09e667;
  if (d.ipVersion === 4) {
    l3 = d.srcOff - 12;
    hlen = (buf[l3] & 0x0f) * 4;
    // Version .. fragment field (bytes 0-7), then protocol (9): TTL (8) and checksum (10-11) change on each hop.
    const w0 = (buf[l3] << 24) | (buf[l3 + 1] << 16) | (buf[l3 + 2] << 8) | buf[l3 + 3];
    const w1 = (buf[l3 + 4] << 24) | (buf[l3 + 5] << 16) | (buf[l3 + 6] << 8) | buf[l3 + 7];
    h1 = mix1(mix1(h1, w0), w1 ^ buf[l3 + 9]);
    h2 = mix2(mix2(h2, w0), w1 ^ (buf[l3 + 9] << 8));
  } else {
    l3 = d.srcOff - 8;
    hlen = 40;
    // Version .. next header (bytes 0-6); the hop limit (7) changes on each hop.
    const w0 = (buf[l3] << 24) | (buf[l3 + 1] << 16) | (buf[l3 + 2] << 8) | buf[l3 + 3];
    const w1 = (buf[l3 + 4] << 24) | (buf[l3 + 5] << 16) | (buf[l3 + 6] << 8);
    h1 = mix1(mix1(h1, w0), w1);
    h2 = mix2(mix2(h2, w0), w1);
  }
  // Addresses (and IPv4 options), then the transport bytes, up to what was captured and the IP end.
  const from = l3 + (d.ipVersion === 4 ? 12 : 8);
  let end = l3 + hlen + FINGERPRINT_PREFIX;
  if (end > l3 + d.ipLen) end = l3 + d.ipLen;
  if (end > capEnd) end = capEnd;
  let i = from;
  for (; i + 4 <= end; i += 4) {
    const w = (buf[i] << 24) | (buf[i + 1] << 16) | (buf[i + 2] << 8) | buf[i + 3];
    h1 = mix1(h1, w);
    h2 = mix2(h2, w);
  }
  let tail = 0;
  for (; i < end; i++) tail = (tail << 8) | buf[i];
  out[0] = fmix(mix1(h1, tail ^ (end - from)));
  out[1] = fmix(mix2(h2, tail + (end - from)));
}

/** MurmurHash3's block step (x86_32). */
function mix1(h: number, w: number): number {
  w = Math.imul(w, 0xcc9e2d51);
  w = (w << 15) | (w >>> 17);
  h ^= Math.imul(w, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** A second, unrelated block step (xxHash32's round), so the two hashes do not collide together. */
function mix2(h: number, w: number): number {
  h = (h + Math.imul(w, 0x85ebca77)) | 0;
  h = (h << 13) | (h >>> 19);
  return Math.imul(h, 0x9e3779b1);
}

/** MurmurHash3's finaliser: every input bit reaches every output bit. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
