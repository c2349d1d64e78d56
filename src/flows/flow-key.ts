/**
 * A flow's 5-tuple as plain int32 words, read straight from the packet buffer, and its 32-bit
 * hash. The hash is symmetric (the two endpoint hashes are added), so both directions of a
 * flow hash alike and no per-packet canonical ordering is needed. Nothing here allocates.
 */

/** Address words of the packet being looked up: [0..3] source, [4..7] destination (IPv4 uses [0] and [4]). */
export const pktAddr = new Int32Array(8);

/** Reads the addresses at srcOff / dstOff (addrLen 4 or 16) into pktAddr. */
export function loadAddrs(buf: Buffer, srcOff: number, dstOff: number, addrLen: number): void {
  for (let i = 0, k = 0; i < addrLen; i += 4, k++) {
    pktAddr[k] = (buf[srcOff + i] << 24) | (buf[srcOff + i + 1] << 16) | (buf[srcOff + i + 2] << 8) | buf[srcOff + i + 3];
    pktAddr[4 + k] = (buf[dstOff + i] << 24) | (buf[dstOff + i + 1] << 16) | (buf[dstOff + i + 2] << 8) | buf[dstOff + i + 3];
  }
}

/** Hash of the tuple in pktAddr with these ports and protocol. */
export function hashTuple(addrLen: number, sport: number, dport: number, proto: number): number {
  const words = addrLen >> 2;
  const e = (endpointHash(0, words, sport) + endpointHash(4, words, dport)) | 0;
  return fmix32(e ^ Math.imul(proto | (addrLen << 8), 0x27d4eb2f));
}

function endpointHash(base: number, words: number, port: number): number {
  let h = 0x9e3779b9;
  for (let k = 0; k < words; k++) {
    h = Math.imul(h ^ pktAddr[base + k], 0x85ebca6b);
    h ^= h >>> 15;
  }
  return fmix32(h ^ port);
}

/** MurmurHash3's finaliser: every input bit affects every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
