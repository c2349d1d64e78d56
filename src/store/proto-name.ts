const NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 47: 'gre', 50: 'esp', 51: 'ah', 58: 'icmpv6', 132: 'sctp' };

/** IP protocol number -> the lowercase keyword Zeek and tshark use; `ip-N` for the rest. */
export function protoName(proto: number): string {
  return NAMES[proto] ?? `ip-${proto}`;
}
