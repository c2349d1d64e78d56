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
  /**
   * Apple pktap metadata (pcapng from macOS/iOS `tcpdump -k`, src/capture/pcapng-darwin.ts); -1 for
   * none. Plain numbers, set for every packet, so the reused Packet never allocates.
   * pktapProcess / pktapEffective: index into `pktapProcesses` of the socket's process and of the
   * app a daemon sent on behalf of (EPB options 0x8001 / 0x8003).
   */
  pktapProcess: number;
  pktapEffective: number;
  /** Service class (0x8002: 0 best effort ... 900 control). */
  serviceClass: number;
  /** Metadata flags (0x8004: 0x1 new flow, 0x2 keep-alive, 0x4 retransmit, 0x8 socket...). */
  pktapFlags: number;
  /** epb_flags direction: 1 inbound, 2 outbound, 0 not said; -1 when the file was not read for it. */
  direction: number;
  /** Every process block of the file so far, in file order (one array per read, never copied); null when none. */
  pktapProcesses: readonly PktapProcess[] | null;
}

/** One Apple Process Information Block (pcapng block type 0x80000001). */
export interface PktapProcess {
  pid: number;
  /** p_comm, at most 16 bytes, trailing NULs stripped; '' when the block gives none. */
  name: string;
  /** Executable path (option 3: defined, written by no tcpdump we know), else null. */
  path: string | null;
  /** Executable UUID (Mach-O LC_UUID) as 8-4-4-4-12 lower-case hex, else null. */
  uuid: string | null;
}

export function newPacket(): Packet {
  return {
    ts: 0, caplen: 0, origLen: 0, linktype: 0, iface: 0, buf: Buffer.alloc(0), off: 0, comment: null,
    pktapProcess: -1, pktapEffective: -1, serviceClass: -1, pktapFlags: -1, direction: -1, pktapProcesses: null,
  };
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
