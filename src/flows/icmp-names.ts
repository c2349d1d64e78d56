/**
 * Names of ICMP and ICMPv6 message types (IANA "ICMP Type Numbers" and "ICMPv6 Parameters"),
 * for reasons and reports: a flow's "ports" are the type and its counterpart or code
 * (icmp-counterpart.ts), and a type reads better by name than as a port.
 */
import { IPPROTO } from '../decode/decoded.js';

const ICMP4: Readonly<Record<number, string>> = {
  0: 'echo reply',
  3: 'destination unreachable',
  4: 'source quench',
  5: 'redirect',
  8: 'echo request',
  9: 'router advertisement',
  10: 'router solicitation',
  11: 'time exceeded',
  12: 'parameter problem',
  13: 'timestamp request',
  14: 'timestamp reply',
  15: 'information request',
  16: 'information reply',
  17: 'address mask request',
  18: 'address mask reply',
};

const ICMP6: Readonly<Record<number, string>> = {
  1: 'destination unreachable',
  2: 'packet too big',
  3: 'time exceeded',
  4: 'parameter problem',
  128: 'echo request',
  129: 'echo reply',
  130: 'multicast listener query',
  131: 'multicast listener report',
  132: 'multicast listener done',
  133: 'router solicitation',
  134: 'router advertisement',
  135: 'neighbor solicitation',
  136: 'neighbor advertisement',
  137: 'redirect',
  139: 'node information query',
  140: 'node information reply',
  141: 'inverse neighbor discovery solicitation',
  142: 'inverse neighbor discovery advertisement',
  143: 'multicast listener report v2',
  144: 'home agent address discovery request',
  145: 'home agent address discovery reply',
};

export function isIcmpProto(proto: number): boolean {
  return proto === IPPROTO.ICMP || proto === IPPROTO.ICMPV6;
}

/** "ICMPv6 neighbor solicitation (135)", "ICMP echo request (8)", "ICMPv6 type 200". */
export function icmpMessageText(proto: number, type: number): string {
  const family = proto === IPPROTO.ICMPV6 ? 'ICMPv6' : 'ICMP';
  const name = (proto === IPPROTO.ICMPV6 ? ICMP6 : ICMP4)[type];
  return name === undefined ? `${family} type ${type}` : `${family} ${name} (${type})`;
}
