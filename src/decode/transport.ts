import { IPPROTO, type Decoded } from './decoded.js';
import { SKIP_BAD_TRANSPORT, SKIP_TRUNCATED_TRANSPORT } from './skip-codes.js';

/**
 * Reads the transport header at off. ipEnd is where the IP datagram ends by its own length
 * fields, capEnd where the captured bytes end. Returns 0 or a negative SKIP_* code.
 * Fills ports (ICMP: type and code), TCP fields and the payload fields.
 *
 * A header that does not fit the datagram is 'bad-transport-header'; one that fits the
 * datagram but not the capture is 'truncated-transport-header'.
 */
export function decodeTransport(buf: Buffer, off: number, ipEnd: number, capEnd: number, out: Decoded): number {
  out.tcpFlags = 0;
  out.tcpSeq = 0;
  out.tcpAck = 0;
  out.tcpWindow = 0;
  switch (out.proto) {
    case IPPROTO.TCP:
      return decodeTcp(buf, off, ipEnd, capEnd, out);
    case IPPROTO.UDP:
      return decodeUdp(buf, off, ipEnd, capEnd, out);
    case IPPROTO.ICMP:
    case IPPROTO.ICMPV6:
      return decodeIcmp(buf, off, ipEnd, capEnd, out);
    case IPPROTO.SCTP:
      return decodeSctp(buf, off, ipEnd, capEnd, out);
    default:
      out.srcPort = 0;
      out.dstPort = 0;
      setPayload(off, ipEnd, capEnd, out);
      return 0;
  }
}

/**
 * Only the fixed 20 bytes must be captured: when a short snaplen cuts the options, the
 * packet still counts for its flow (ports, flags, lengths), with no captured payload.
 */
function decodeTcp(buf: Buffer, off: number, ipEnd: number, capEnd: number, out: Decoded): number {
  if (ipEnd - off < 20) return SKIP_BAD_TRANSPORT;
  if (capEnd - off < 20) return SKIP_TRUNCATED_TRANSPORT;
  const hlen = (buf[off + 12] >> 4) * 4;
  if (hlen < 20 || hlen > ipEnd - off) return SKIP_BAD_TRANSPORT;
  out.srcPort = (buf[off] << 8) | buf[off + 1];
  out.dstPort = (buf[off + 2] << 8) | buf[off + 3];
  out.tcpSeq = ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0;
  out.tcpAck = ((buf[off + 8] << 24) | (buf[off + 9] << 16) | (buf[off + 10] << 8) | buf[off + 11]) >>> 0;
  out.tcpFlags = buf[off + 13];
  out.tcpWindow = (buf[off + 14] << 8) | buf[off + 15];
  setPayload(off + hlen, ipEnd, capEnd, out);
  return 0;
}

/**
 * The UDP length bounds the payload when it is sane; 0 (jumbograms) or a value past the IP
 * datagram falls back to the IP length.
 */
function decodeUdp(buf: Buffer, off: number, ipEnd: number, capEnd: number, out: Decoded): number {
  if (ipEnd - off < 8) return SKIP_BAD_TRANSPORT;
  if (capEnd - off < 8) return SKIP_TRUNCATED_TRANSPORT;
  const udpLen = (buf[off + 4] << 8) | buf[off + 5];
  if (udpLen !== 0 && udpLen < 8) return SKIP_BAD_TRANSPORT;
  out.srcPort = (buf[off] << 8) | buf[off + 1];
  out.dstPort = (buf[off + 2] << 8) | buf[off + 3];
  const end = udpLen !== 0 && udpLen <= ipEnd - off ? off + udpLen : ipEnd;
  setPayload(off + 8, end, capEnd, out);
  return 0;
}

/** ICMP and ICMPv6 share the 8-byte header layout we need: type, code, checksum, 4 more bytes. */
function decodeIcmp(buf: Buffer, off: number, ipEnd: number, capEnd: number, out: Decoded): number {
  if (ipEnd - off < 8) return SKIP_BAD_TRANSPORT;
  if (capEnd - off < 8) return SKIP_TRUNCATED_TRANSPORT;
  out.srcPort = buf[off];
  out.dstPort = buf[off + 1];
  setPayload(off + 8, ipEnd, capEnd, out);
  return 0;
}

/** SCTP's common header (RFC 9260 §3.1): ports where TCP and UDP have them, so Community ID hashes them as Zeek does. */
function decodeSctp(buf: Buffer, off: number, ipEnd: number, capEnd: number, out: Decoded): number {
  if (ipEnd - off < 12) return SKIP_BAD_TRANSPORT;
  if (capEnd - off < 12) return SKIP_TRUNCATED_TRANSPORT;
  out.srcPort = (buf[off] << 8) | buf[off + 1];
  out.dstPort = (buf[off + 2] << 8) | buf[off + 3];
  setPayload(off + 12, ipEnd, capEnd, out);
  return 0;
}

function setPayload(payloadOff: number, end: number, capEnd: number, out: Decoded): void {
  out.payloadOff = payloadOff;
  out.payloadWireLen = end > payloadOff ? end - payloadOff : 0;
  const capped = end < capEnd ? end : capEnd;
  out.payloadLen = capped > payloadOff ? capped - payloadOff : 0;
}
