/**
 * The result of decoding one packet: plain numbers and offsets into the packet's own Buffer.
 * One Decoded object is reused for every packet (see newDecoded), so decoding allocates nothing.
 */
export interface Decoded {
  /** 4 or 6; 0 when the packet held no IP datagram we could read. */
  ipVersion: number;
  /** 4 or 16. */
  addrLen: number;
  /** Offsets of the source and destination addresses inside pkt.buf. */
  srcOff: number;
  dstOff: number;
  /** IP protocol number of the transport header (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...). */
  proto: number;
  /**
   * Ports for TCP/UDP/SCTP; for ICMP/ICMPv6 srcPort = type and dstPort = code (as Community ID and Zeek do);
   * 0 and 0 for any other IP protocol (GRE, ESP...: still a flow, an air-gap check must see it).
   */
  srcPort: number;
  dstPort: number;
  /** Bytes of the IP datagram on the wire (IPv4 total length / IPv6 40 + payload length). */
  ipLen: number;
  /** Offset in pkt.buf of the transport payload, and how many payload bytes were captured. */
  payloadOff: number;
  payloadLen: number;
  /** Transport payload length according to the headers (may exceed payloadLen when snaplen cut it). */
  payloadWireLen: number;
  /** TCP only: flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10), seq and ack (uint32), window field (unscaled). */
  tcpFlags: number;
  tcpSeq: number;
  tcpAck: number;
  tcpWindow: number;
  /** 0 not a fragment, 1 first fragment (transport header present), 2 later fragment (no transport header). */
  fragment: number;
  /**
   * Fragments only (fragment 1 or 2; stale otherwise): the datagram's identification (IPv4 16 bits,
   * IPv6 32 bits), where this fragment's data sits in the datagram (bytes), 1 when more follow,
   * and the offset in pkt.buf / captured length / length by the headers of this fragment's data
   * (what follows the IPv4 header or the IPv6 fragment header).
   */
  fragId: number;
  fragOffset: number;
  fragMore: number;
  fragDataOff: number;
  fragDataLen: number;
  fragDataWireLen: number;
}

export function newDecoded(): Decoded {
  return {
    ipVersion: 0, addrLen: 0, srcOff: 0, dstOff: 0, proto: 0, srcPort: 0, dstPort: 0, ipLen: 0,
    payloadOff: 0, payloadLen: 0, payloadWireLen: 0, tcpFlags: 0, tcpSeq: 0, tcpAck: 0, tcpWindow: 0, fragment: 0,
    fragId: 0, fragOffset: 0, fragMore: 0, fragDataOff: 0, fragDataLen: 0, fragDataWireLen: 0,
  };
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export const IPPROTO = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58, SCTP: 132 } as const;

/**
 * Why a packet was not turned into a flow update. Counted per reason, never thrown.
 * The keys are fixed strings so counting allocates nothing.
 */
export type SkipReason =
  | 'unknown-linktype'
  | 'truncated-link-header'
  | 'non-ip'              // ARP, LLDP, ... : a valid frame that carries no IP
  | 'truncated-ip-header'
  | 'bad-ip-header'       // wrong version, header length below minimum, total length below header
  | 'bad-ipv6-extension'
  | 'ip-fragment'         // a non-first fragment: counted, no transport header to read
  | 'truncated-transport-header'
  | 'bad-transport-header'
  | 'duplicate-other-interface' // a copy of a packet already counted on another interface (forwarding host, `-i any`)
  | 'bad-timestamp'      // before 1990 or more than a day past the reading machine's clock (capture/time-bounds.ts)
  | 'duplicate-loopback-in'; // macOS pktap on lo0: the in copy of a packet already counted going out

export type SkipCounts = Record<SkipReason, number>;

export function newSkipCounts(): SkipCounts {
  return {
    'unknown-linktype': 0, 'truncated-link-header': 0, 'non-ip': 0, 'truncated-ip-header': 0,
    'bad-ip-header': 0, 'bad-ipv6-extension': 0, 'ip-fragment': 0, 'truncated-transport-header': 0,
    'bad-transport-header': 0, 'duplicate-other-interface': 0, 'bad-timestamp': 0, 'duplicate-loopback-in': 0,
  };
}
