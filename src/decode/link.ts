import { LINKTYPE } from '../capture/packet.js';
import type { Decoded } from './decoded.js';
import { SKIP_NON_IP, SKIP_TRUNCATED_LINK, SKIP_UNKNOWN_LINKTYPE } from './skip-codes.js';

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;   // 802.1Q
const ETHERTYPE_QINQ = 0x88a8;   // 802.1ad service tag
const ETHERTYPE_QINQ_OLD = 0x9100; // pre-standard QinQ, still seen on switches
/** Values up to 1500 are an 802.3 length, not a type; 1501..1535 are undefined. */
const ETHERTYPE_MIN = 0x0600;

const ARPHRD_NETLINK = 824;

/** DLT 12 / 14 are LINKTYPE_RAW on some old systems (OpenBSD uses 14). */
const DLT_RAW_12 = 12;
const DLT_RAW_14 = 14;

/** AF_ values in BSD NULL/LOOP headers: IPv6 differs per BSD (Net/OpenBSD 24, FreeBSD 28, Darwin 30). */
const BSD_AF_INET = 2;
const BSD_AF_INET6_BSD = 24;
const BSD_AF_INET6_FREEBSD = 28;
const BSD_AF_INET6_DARWIN = 30;

/**
 * Strips the link header. Returns the offset of the IP header, or a negative SKIP_* code.
 * Sets out.ipVersion to the version the link header announces (4 or 6), or 0 when the link
 * type says "raw IP" and the version nibble has to decide.
 */
export function decodeLink(buf: Buffer, off: number, end: number, linktype: number, out: Decoded): number {
  switch (linktype) {
    case LINKTYPE.ETHERNET:
      return decodeEthernet(buf, off, end, out);
    case LINKTYPE.LINUX_SLL:
      return decodeSll(buf, off, end, out);
    case LINKTYPE.LINUX_SLL2:
      return decodeSll2(buf, off, end, out);
    case LINKTYPE.RAW:
    case DLT_RAW_12:
    case DLT_RAW_14:
      out.ipVersion = 0;
      return off;
    case LINKTYPE.IPV4:
      out.ipVersion = 4;
      return off;
    case LINKTYPE.IPV6:
      out.ipVersion = 6;
      return off;
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP:
      return decodeBsdNull(buf, off, end, out);
    default:
      return SKIP_UNKNOWN_LINKTYPE;
  }
}

function decodeEthernet(buf: Buffer, off: number, end: number, out: Decoded): number {
  if (end - off < 14) return SKIP_TRUNCATED_LINK;
  const type = (buf[off + 12] << 8) | buf[off + 13];
  if (type < ETHERTYPE_MIN) return SKIP_NON_IP; // 802.3 length + LLC/SNAP: no IP for our purposes
  return afterEthertype(buf, off + 14, end, type, out);
}

/**
 * Follows any stack of VLAN tags (each 4 bytes: TCI then the next type) to the carried type.
 * The loop always advances, so a frame made of nothing but tags ends at the capture end.
 */
function afterEthertype(buf: Buffer, off: number, end: number, type: number, out: Decoded): number {
  while (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD) {
    if (end - off < 4) return SKIP_TRUNCATED_LINK;
    type = (buf[off + 2] << 8) | buf[off + 3];
    off += 4;
  }
  if (type === ETHERTYPE_IPV4) {
    out.ipVersion = 4;
    return off;
  }
  if (type === ETHERTYPE_IPV6) {
    out.ipVersion = 6;
    return off;
  }
  return SKIP_NON_IP;
}

/**
 * LINKTYPE_LINUX_SLL, 16 bytes: packet type(2) ARPHRD type(2) addr len(2) addr(8) protocol(2).
 * libpcap re-inserts a stripped VLAN tag after this header with protocol 0x8100.
 */
function decodeSll(buf: Buffer, off: number, end: number, out: Decoded): number {
  if (end - off < 16) return SKIP_TRUNCATED_LINK;
  const arphrd = (buf[off + 2] << 8) | buf[off + 3];
  if (arphrd === ARPHRD_NETLINK) return SKIP_NON_IP; // protocol field holds a netlink family there
  const type = (buf[off + 14] << 8) | buf[off + 15];
  return afterEthertype(buf, off + 16, end, type, out);
}

/**
 * LINKTYPE_LINUX_SLL2, 20 bytes: protocol(2) reserved(2) ifindex(4) ARPHRD type(2)
 * packet type(1) addr len(1) addr(8) (tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html).
 */
function decodeSll2(buf: Buffer, off: number, end: number, out: Decoded): number {
  if (end - off < 20) return SKIP_TRUNCATED_LINK;
  const arphrd = (buf[off + 8] << 8) | buf[off + 9];
  if (arphrd === ARPHRD_NETLINK) return SKIP_NON_IP;
  const type = (buf[off] << 8) | buf[off + 1];
  return afterEthertype(buf, off + 20, end, type, out);
}

/**
 * NULL (0) stores the AF in the capturing host's byte order, LOOP (108) in network order, but
 * files exist with either in both. AF values are small, so two zero leading bytes mean big-endian.
 */
function decodeBsdNull(buf: Buffer, off: number, end: number, out: Decoded): number {
  if (end - off < 4) return SKIP_TRUNCATED_LINK;
  const af = buf[off] === 0 && buf[off + 1] === 0
    ? (buf[off + 2] << 8) | buf[off + 3]
    : buf[off] | (buf[off + 1] << 8);
  if (af === BSD_AF_INET) {
    out.ipVersion = 4;
    return off + 4;
  }
  if (af === BSD_AF_INET6_BSD || af === BSD_AF_INET6_FREEBSD || af === BSD_AF_INET6_DARWIN) {
    out.ipVersion = 6;
    return off + 4;
  }
  return SKIP_NON_IP;
}

/** The interface a packet was captured on cannot be told (SLL v1 from `any` carries no index). */
export const IFACE_UNKNOWN = -1;

/**
 * Which interface a packet was captured on, as far as the capture says: the Linux ifindex in an
 * SLL2 header (`tcpdump -i any`), nothing for SLL v1 (libpcap's `any` through `cap`: IFACE_UNKNOWN),
 * else the source's own interface number (pcapng IDB order, live device order).
 */
export function captureInterface(buf: Buffer, off: number, caplen: number, linktype: number, sourceIface: number): number {
  if (linktype === LINKTYPE.LINUX_SLL2) return caplen >= 20 ? buf.readInt32BE(off + 4) : IFACE_UNKNOWN;
  if (linktype === LINKTYPE.LINUX_SLL) return IFACE_UNKNOWN;
  return sourceIface;
}
