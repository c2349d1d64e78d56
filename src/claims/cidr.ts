/**
 * Address ranges for claims and allow rules: `10.0.0.0/8`, `2001:db8::/32`, or one address.
 * node:net's BlockList does the prefix arithmetic for both families.
 */
import { BlockList, isIP } from 'node:net';

export interface Cidr {
  text: string;
  list: BlockList;
}

export function parseCidr(text: string): Cidr | null {
  const [addr, prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return null;
  const family = isIP(addr);
  if (family === 0) return null;
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^\d+$/.test(prefixText ?? String(max)) || prefix > max) return null;
  const list = new BlockList();
  list.addSubnet(addr, prefix, family === 4 ? 'ipv4' : 'ipv6');
  return { text, list };
}

/** True when `addr` (store text: dotted quad or RFC 5952) is in the range. IPv4-mapped IPv6 also matches an IPv4 range. */
export function cidrContains(c: Cidr, addr: string): boolean {
  const family = isIP(addr);
  if (family === 4) return c.list.check(addr, 'ipv4');
  if (family !== 6) return false;
  if (c.list.check(addr, 'ipv6')) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  return mapped !== null && c.list.check(mapped[1], 'ipv4');
}
