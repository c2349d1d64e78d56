/** `cap` reports the link type as text; downstream wants the LINKTYPE_* number. */
import { LINKTYPE } from './packet.js';

const BY_NAME: Record<string, number> = {
  ETHERNET: LINKTYPE.ETHERNET,
  LINKTYPE_LINUX_SLL: LINKTYPE.LINUX_SLL,
  RAW: LINKTYPE.RAW,
  NULL: LINKTYPE.NULL,
  IEEE802_11_RADIO: 127,
};

/**
 * For `Unknown linktype N`, N is libpcap's DLT number. DLT and LINKTYPE agree except for a few
 * historical values; the one that differs on Linux is DLT_RAW (12 on most platforms, 14 on
 * OpenBSD), which cap already names `RAW` (LINKTYPE 101). Returns -1 when the text is not understood.
 */
export function linktypeFromCap(text: string): number {
  const known = BY_NAME[text];
  if (known !== undefined) return known;
  const m = /^Unknown linktype (\d+)$/.exec(text);
  if (!m) return -1;
  const dlt = Number(m[1]);
  return DLT_TO_LINKTYPE[dlt] ?? dlt;
}

/** The DLT values whose LINKTYPE differs (pcap/dlt.h vs tcpdump.org/linktypes.html). */
const DLT_TO_LINKTYPE: Record<number, number> = { 12: LINKTYPE.RAW, 14: LINKTYPE.RAW };
