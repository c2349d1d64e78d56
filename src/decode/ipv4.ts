import type { Decoded } from './decoded.js';
import { SKIP_BAD_IP, SKIP_IP_FRAGMENT, SKIP_TRUNCATED_IP } from './skip-codes.js';

/**
 * Reads the IPv4 header at off. Returns the offset of the transport header, or a negative
 * SKIP_* code. Fills version, addresses, proto, ipLen and fragment.
 */
export function decodeIpv4(buf: Buffer, off: number, capEnd: number, out: Decoded): number {
  if (capEnd - off < 20) return SKIP_TRUNCATED_IP;
  const b0 = buf[off];
  if (b0 >> 4 !== 4) return SKIP_BAD_IP;
  const hlen = (b0 & 0x0f) * 4;
  if (hlen < 20) return SKIP_BAD_IP;
  let totalLen = (buf[off + 2] << 8) | buf[off + 3];
  // A sender's own capture with TCP segmentation offload shows total length 0 (the NIC fills
  // it in later): take what was captured, as Wireshark does.
  if (totalLen === 0) totalLen = capEnd - off;
  if (totalLen < hlen) return SKIP_BAD_IP;
  if (capEnd - off < hlen) return SKIP_TRUNCATED_IP;

  out.ipVersion = 4;
  out.addrLen = 4;
  out.srcOff = off + 12;
  out.dstOff = off + 16;
  out.proto = buf[off + 9];
  out.ipLen = totalLen;

  const fragField = (buf[off + 6] << 8) | buf[off + 7];
  const fragOffset = fragField & 0x1fff;
  const more = (fragField & 0x2000) !== 0 ? 1 : 0;
  if (fragOffset === 0 && more === 0) {
    out.fragment = 0;
    return off + hlen;
  }
  out.fragId = (buf[off + 4] << 8) | buf[off + 5];
  out.fragOffset = fragOffset * 8;
  out.fragMore = more;
  out.fragDataOff = off + hlen;
  out.fragDataWireLen = totalLen - hlen;
  out.fragDataLen = Math.max(0, Math.min(off + totalLen, capEnd) - (off + hlen));
  if (fragOffset !== 0) {
    out.fragment = 2;
    return SKIP_IP_FRAGMENT;
  }
  out.fragment = 1;
  return off + hlen;
}
