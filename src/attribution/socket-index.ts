/**
 * The socket tables of one scan, indexed for the three ways a packet's local end can match a
 * socket: a connected socket by its full 4-tuple; a TCP listener or an unconnected UDP socket
 * by local address and port; the same bound to the wildcard address by port only.
 */
import { TCP_LISTEN, type SocketEntry } from './procfs-net.js';

export interface SocketIndex {
  connected: Map<string, SocketEntry>;
  bound: Map<string, SocketEntry>;
  byInode: Map<number, SocketEntry>;
  /** hex of every specific (non-wildcard) local address seen: addresses that are ours. */
  localAddrs: Set<string>;
}

const V4_ANY = '00000000000000000000ffff00000000';
const V6_ANY = '00000000000000000000000000000000';

function endKey(proto: number, addrHex: string, port: number): string {
  return `${proto}|${addrHex}|${port}`;
}

function isWildcard(hex: string): boolean {
  return hex === V4_ANY || hex === V6_ANY;
}

function isUnconnected(e: SocketEntry): boolean {
  return e.remotePort === 0 && isWildcard(e.remoteAddr.toString('hex'));
}

/** Tables in priority order: on a clash (same 4-tuple in two namespaces) the first one wins. */
export function buildSocketIndex(tables: readonly SocketEntry[][]): SocketIndex {
  const index: SocketIndex = { connected: new Map(), bound: new Map(), byInode: new Map(), localAddrs: new Set() };
  for (const table of tables) {
    for (const e of table) {
      if (e.inode === 0) continue; // TIME_WAIT and request socks: no process holds them
      if (index.byInode.has(e.inode)) continue;
      index.byInode.set(e.inode, e);
      const local = e.localAddr.toString('hex');
      if (!isWildcard(local)) index.localAddrs.add(local);
      const isBound = e.proto === 6 ? e.state === TCP_LISTEN : isUnconnected(e);
      const key = isBound
        ? endKey(e.proto, local, e.localPort)
        : `${endKey(e.proto, local, e.localPort)}|${e.remoteAddr.toString('hex')}|${e.remotePort}`;
      const map = isBound ? index.bound : index.connected;
      if (!map.has(key)) map.set(key, e);
    }
  }
  return index;
}

/** A 16-byte address, or its hex already made (a caller looking up the same end often makes it once). */
type Addr = Buffer | string;

function hexOf(a: Addr): string {
  return typeof a === 'string' ? a : a.toString('hex');
}

/** The connected socket with exactly this 4-tuple (16-byte addresses). */
export function findConnected(index: SocketIndex, proto: number, local: Addr, localPort: number,
  remote: Addr, remotePort: number): SocketEntry | null {
  const key = `${endKey(proto, hexOf(local), localPort)}|${hexOf(remote)}|${remotePort}`;
  return index.connected.get(key) ?? null;
}

/**
 * A listener (TCP) or unconnected socket (UDP) on this local address and port, or on the
 * wildcard address; a dual-stack [::] socket also takes IPv4. `specificOnly` skips wildcards,
 * for callers not sure the address is ours.
 */
export function findBound(index: SocketIndex, proto: number, local: Addr, localPort: number,
  specificOnly = false): SocketEntry | null {
  const hex = hexOf(local);
  const hit = index.bound.get(endKey(proto, hex, localPort));
  if (hit || specificOnly) return hit ?? null;
  const mapped = hex.startsWith('00000000000000000000ffff');
  return (mapped ? index.bound.get(endKey(proto, V4_ANY, localPort)) : undefined)
    ?? index.bound.get(endKey(proto, V6_ANY, localPort)) ?? null;
}
