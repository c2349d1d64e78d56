/**
 * Names of LINKTYPE_* values (tcpdump.org/linktypes.html), the one table every printed link
 * type goes through (import output, coverage text, reports). Numbers the table does not know
 * are printed as "link type N", which is still true.
 */
/** libpcap's pseudo-device that captures on every interface (with Linux cooked headers). */
export const ANY_DEVICE = 'any';

const NAMES: Readonly<Record<number, string>> = {
  0: 'BSD loopback',
  1: 'Ethernet',
  101: 'raw IP',
  105: 'IEEE 802.11 Wi-Fi',
  108: 'OpenBSD loopback',
  113: 'Linux cooked (SLL)',
  127: 'IEEE 802.11 radiotap',
  228: 'raw IPv4',
  229: 'raw IPv6',
  276: 'Linux cooked v2 (SLL2)',
};

export function linkTypeName(linktype: number): string {
  return NAMES[linktype] ?? `link type ${linktype}`;
}

/** The interface as a reader knows it: "eth0: Ethernet"; pcap files name none: "#0: Linux cooked v2 (SLL2)". */
export function interfaceText(i: { index: number; name: string | null; linktype: number }): string {
  return `${i.name ?? `#${i.index}`}: ${linkTypeName(i.linktype)}`;
}
