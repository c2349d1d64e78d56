import { IPPROTO } from '../decode/decoded.js';

/**
 * ICMP request/reply pairs, as Zeek and Community ID (pycommunityid's icmp.py / icmp6.py)
 * map them: the type plays the source port and its counterpart type the destination port,
 * so a request and its reply fall into one flow. Types not listed are one-way messages
 * (destination unreachable, time exceeded...): type and code stand as they are.
 */
const ICMP4_COUNTERPART = new Int16Array(256).fill(-1);
const ICMP6_COUNTERPART = new Int16Array(256).fill(-1);

function pair(table: Int16Array, a: number, b: number): void {
  table[a] = b;
  table[b] = a;
}

pair(ICMP4_COUNTERPART, 8, 0);    // echo / echo reply
pair(ICMP4_COUNTERPART, 13, 14);  // timestamp
pair(ICMP4_COUNTERPART, 15, 16);  // information
pair(ICMP4_COUNTERPART, 10, 9);   // router solicitation / advertisement
pair(ICMP4_COUNTERPART, 17, 18);  // address mask

pair(ICMP6_COUNTERPART, 128, 129); // echo
pair(ICMP6_COUNTERPART, 130, 131); // MLD query / report
pair(ICMP6_COUNTERPART, 133, 134); // router solicitation / advertisement
pair(ICMP6_COUNTERPART, 135, 136); // neighbor solicitation / advertisement
pair(ICMP6_COUNTERPART, 139, 140); // node information ("who are you")
pair(ICMP6_COUNTERPART, 144, 145); // home agent address discovery

/** The counterpart type of an ICMP/ICMPv6 type, or -1 for one-way types and other protocols. */
export function icmpCounterpart(proto: number, type: number): number {
  if (proto === IPPROTO.ICMP) return ICMP4_COUNTERPART[type & 0xff];
  if (proto === IPPROTO.ICMPV6) return ICMP6_COUNTERPART[type & 0xff];
  return -1;
}

/** Request-like types: the sender of one is the initiator of its flow. */
const ICMP4_REQUESTS = new Set([8, 13, 15, 10, 17]);
const ICMP6_REQUESTS = new Set([128, 130, 133, 135, 139, 144]);

export function isIcmpRequest(proto: number, type: number): boolean {
  return proto === IPPROTO.ICMP ? ICMP4_REQUESTS.has(type) : ICMP6_REQUESTS.has(type);
}
