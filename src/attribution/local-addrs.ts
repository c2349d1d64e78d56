/**
 * This host's interface addresses in the 16-byte hex form of the socket index, so that a
 * wildcard listener is only matched for an address that is really ours.
 * os.networkInterfaces() is getifaddrs(3): a local syscall, no traffic.
 */
import { networkInterfaces } from 'node:os';
import { widenAddr } from './procfs-net.js';

export function interfaceAddrs(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      const bytes = a.family === 'IPv4' ? a.address.split('.').map(Number) : null;
      if (bytes) out.push(widenAddr(Uint8Array.from(bytes)).toString('hex'));
      else out.push(ipv6Hex(a.address));
    }
  }
  return out;
}

export function ipv6Hex(text: string): string {
  const [head, tail = ''] = text.replace(/%.*$/, '').split('::');
  const words = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const h = words(head);
  const t = words(tail);
  const all = text.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return all.map((w) => w.padStart(4, '0')).join('').toLowerCase();
}
