/**
 * The one packet shape every source (live capture, classic pcap, pcapng) hands downstream.
 * Nothing after the source knows where a packet came from.
 *
 * Sources reuse a single Packet object (and often a single Buffer) for every packet, so the
 * hot path allocates nothing per packet: a consumer must copy whatever it keeps beyond the
 * callback that received the packet.
 */
export interface Packet {
  /** Capture time in microseconds since the Unix epoch (a double: exact to the µs until 2255). */
  ts: number;
  /** Bytes captured (present in buf). */
  caplen: number;
  /** Bytes on the wire (>= caplen when the snapshot length cut the packet). */
  origLen: number;
  /** LINKTYPE_* value as registered at tcpdump.org/linktypes.html (1 Ethernet, 113 SLL, 276 SLL2...). */
  linktype: number;
  /** Interface index within the source (pcapng IDB order; 0 for classic pcap). */
  iface: number;
  /** Holds the packet bytes at [off, off + caplen). */
  buf: Buffer;
  off: number;
  /** pcapng opt_comment of this packet, if any (ptcpdump writes `PID: 1234 Cmd: curl` here). */
  comment: string | null;
}

export function newPacket(): Packet {
  return { ts: 0, caplen: 0, origLen: 0, linktype: 0, iface: 0, buf: Buffer.alloc(0), off: 0, comment: null };
}

/** What a source knows about one interface it captured on. */
export interface InterfaceInfo {
  index: number;
  linktype: number;
  /** if_name / device name, or null when the source does not say. */
  name: string | null;
  description: string | null;
  snaplen: number;
}

/** LINKTYPE_* numbers the decoder understands (tcpdump.org/linktypes.html). */
export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;
