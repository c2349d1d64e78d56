import type { Packet } from '../capture/packet.js';
import type { Decoded, SkipCounts } from './decoded.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import { decodeLink } from './link.js';
import { SKIP_BAD_IP, SKIP_TRUNCATED_IP, skipReasonOf } from './skip-codes.js';
import { decodeTransport } from './transport.js';

/**
 * Decodes one packet into `out` (reused; nothing is allocated). Returns true when `out` holds
 * an IP packet with a flow key; false when the packet was skipped, after counting exactly one
 * reason in `skips`. On false, fields of `out` are partly written and mean nothing.
 */
export function decodePacket(pkt: Packet, out: Decoded, skips: SkipCounts): boolean {
  const buf = pkt.buf;
  const capEnd = Math.min(pkt.off + pkt.caplen, buf.length);
  const code = decodeLayers(buf, pkt.off, capEnd, pkt.linktype, out);
  if (code < 0) {
    skips[skipReasonOf(code)]++;
    return false;
  }
  return true;
}

function decodeLayers(buf: Buffer, off: number, capEnd: number, linktype: number, out: Decoded): number {
  out.ipVersion = 0;
  out.fragment = 0; // read by the caller on failure too (a later fragment is counted apart)
  const l3 = decodeLink(buf, off, capEnd, linktype, out);
  if (l3 < 0) return l3;
  if (l3 >= capEnd) return SKIP_TRUNCATED_IP;
  const version = out.ipVersion === 0 ? buf[l3] >> 4 : out.ipVersion;
  let l4: number;
  if (version === 4) l4 = decodeIpv4(buf, l3, capEnd, out);
  else if (version === 6) l4 = decodeIpv6(buf, l3, capEnd, out);
  else return SKIP_BAD_IP;
  if (l4 < 0) return l4;
  return decodeTransport(buf, l4, l3 + out.ipLen, capEnd, out);
}
