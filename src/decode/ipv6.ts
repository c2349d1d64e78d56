import type { Decoded } from './decoded.js';
import { SKIP_BAD_IP, SKIP_BAD_IPV6_EXT, SKIP_IP_FRAGMENT, SKIP_TRUNCATED_IP } from './skip-codes.js';

const NH_HOP_BY_HOP = 0;
const NH_ROUTING = 43;
const NH_FRAGMENT = 44;
const NH_AH = 51;
const NH_NONE = 59;
const NH_DEST_OPTS = 60;
const NH_MOBILITY = 135;
const NH_HIP = 139;
const NH_SHIM6 = 140;

/** More extension headers than any real stack sends: treat the chain as hostile. */
const MAX_EXTENSION_HEADERS = 16;

/**
 * Reads the IPv6 header and walks its extension-header chain. Returns the offset of the
 * transport header (out.proto is the last next-header value), or a negative SKIP_* code.
 * An extension header running past the payload length is 'bad-ipv6-extension'; one running
 * past the captured bytes is 'truncated-ip-header'.
 */
export function decodeIpv6(buf: Buffer, off: number, capEnd: number, out: Decoded): number {
  if (capEnd - off < 40) return SKIP_TRUNCATED_IP;
  if (buf[off] >> 4 !== 6) return SKIP_BAD_IP;
  let payloadLen = (buf[off + 4] << 8) | buf[off + 5];
  let nh = buf[off + 6];
  // Payload length 0 with a payload means a jumbogram or a segmentation-offload capture:
  // take what was captured.
  if (payloadLen === 0 && nh !== NH_NONE) payloadLen = capEnd - off - 40;

  out.ipVersion = 6;
  out.addrLen = 16;
  out.srcOff = off + 8;
  out.dstOff = off + 24;
  out.ipLen = 40 + payloadLen;
  out.fragment = 0;

  const ipEnd = off + 40 + payloadLen;
  let p = off + 40;
  for (let i = 0; i < MAX_EXTENSION_HEADERS; i++) {
    let extLen: number;
    switch (nh) {
      case NH_HOP_BY_HOP:
      case NH_ROUTING:
      case NH_DEST_OPTS:
      case NH_MOBILITY:
      case NH_HIP:
      case NH_SHIM6:
        if (ipEnd - p < 8) return SKIP_BAD_IPV6_EXT;
        if (capEnd - p < 2) return SKIP_TRUNCATED_IP;
        extLen = (buf[p + 1] + 1) * 8;
        break;
      case NH_AH:
        if (ipEnd - p < 8) return SKIP_BAD_IPV6_EXT;
        if (capEnd - p < 2) return SKIP_TRUNCATED_IP;
        extLen = (buf[p + 1] + 2) * 4;
        break;
      case NH_FRAGMENT: {
        if (ipEnd - p < 8) return SKIP_BAD_IPV6_EXT;
        if (capEnd - p < 8) return SKIP_TRUNCATED_IP;
        const fragField = (buf[p + 2] << 8) | buf[p + 3];
        out.fragId = ((buf[p + 4] << 24) | (buf[p + 5] << 16) | (buf[p + 6] << 8) | buf[p + 7]) >>> 0;
        out.fragOffset = (fragField >> 3) * 8;
        out.fragMore = fragField & 1;
        out.fragDataOff = p + 8;
        out.fragDataWireLen = ipEnd - (p + 8);
        out.fragDataLen = Math.max(0, Math.min(ipEnd, capEnd) - (p + 8));
        if (fragField >> 3 !== 0) {
          out.proto = buf[p];
          out.fragment = 2;
          return SKIP_IP_FRAGMENT;
        }
        // An atomic fragment (offset 0, no more: RFC 6946) is a whole datagram.
        if ((fragField & 1) !== 0) out.fragment = 1;
        extLen = 8;
        break;
      }
      default:
        out.proto = nh;
        return p;
    }
    if (ipEnd - p < extLen) return SKIP_BAD_IPV6_EXT;
    if (capEnd - p < extLen) return SKIP_TRUNCATED_IP;
    nh = buf[p];
    p += extLen;
  }
  return SKIP_BAD_IPV6_EXT;
}
