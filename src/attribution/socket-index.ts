/**
 * The socket tables of one scan, indexed for the three ways a packet's local end can match a
 * socket: a connected socket by its full 4-tuple; a TCP listener or an unconnected UDP socket
 * by local address and port; the same bound to the wildcard address by port only. Keyed by
 * numbers (socket-key.ts): a lookup makes no string and allocates nothing.
 */
import { TCP_LISTEN, type SocketEntry } from './procfs-net.js';
import { addrKeyOf, boundKeyOf, localIsV4, newKey, setWildcardLocal, socketKeyOf, SocketKeyTable } from './socket-key.js';

export interface SocketIndex {
  connected: SocketKeyTable<SocketEntry>;
  bound: SocketKeyTable<SocketEntry>;
  byInode: Map<number, SocketEntry>;
  /** Every specific (non-wildcard) local address seen: addresses that are ours (addrKeyOf keys). */
  localAddrs: SocketKeyTable<true>;
}

/** One key reused by every lookup: lookups are synchronous and never nest. */
const scratch = newKey();

/** :: or ::ffff:0.0.0.0 (16 bytes). */
function isWildcard(a: Buffer): boolean {
  for (let i = 0; i < 16; i++) if (i !== 10 && i !== 11 && a[i] !== 0) return false;
  return (a[10] === 0 && a[11] === 0) || (a[10] === 0xff && a[11] === 0xff);
}

function isUnconnected(e: SocketEntry): boolean {
  return e.remotePort === 0 && isWildcard(e.remoteAddr);
}

/** Tables in priority order: on a clash (same 4-tuple in two namespaces) the first one wins. */
export function buildSocketIndex(tables: readonly SocketEntry[][]): SocketIndex {
  const n = tables.reduce((s, t) => s + t.length, 0);
  const index: SocketIndex = { connected: new SocketKeyTable(n), bound: new SocketKeyTable(), byInode: new Map(), localAddrs: new SocketKeyTable() };
  for (const table of tables) {
    for (const e of table) {
      if (e.inode === 0) continue; // TIME_WAIT and request socks: no process holds them
      if (index.byInode.has(e.inode)) continue;
      index.byInode.set(e.inode, e);
      if (!isWildcard(e.localAddr)) index.localAddrs.set(addrKeyOf(scratch, e.localAddr), true);
      const isBound = e.proto === 6 ? e.state === TCP_LISTEN : isUnconnected(e);
      const key = isBound ? boundKeyOf(scratch, e.proto, e.localAddr, e.localPort)
        : socketKeyOf(scratch, e.proto, e.localAddr, e.localPort, e.remoteAddr, e.remotePort);
      const map = isBound ? index.bound : index.connected;
      if (!map.has(key)) map.set(key, e);
    }
  }
  return index;
}

/** A specific local address of some socket (4 or 16 bytes). */
export function hasLocalAddr(index: SocketIndex, addr: Uint8Array): boolean {
  return index.localAddrs.has(addrKeyOf(scratch, addr));
}

/** The connected socket with exactly this 4-tuple (4- or 16-byte addresses). */
export function findConnected(index: SocketIndex, proto: number, local: Uint8Array, localPort: number,
  remote: Uint8Array, remotePort: number): SocketEntry | null {
  return index.connected.get(socketKeyOf(scratch, proto, local, localPort, remote, remotePort)) ?? null;
}

/**
 * A listener (TCP) or unconnected socket (UDP) on this local address and port, or on the
 * wildcard address; a dual-stack [::] socket also takes IPv4. `specificOnly` skips wildcards,
 * for callers not sure the address is ours.
 */
export function findBound(index: SocketIndex, proto: number, local: Uint8Array, localPort: number,
  specificOnly = false): SocketEntry | null {
  const key = boundKeyOf(scratch, proto, local, localPort);
  const hit = index.bound.get(key);
  if (hit || specificOnly) return hit ?? null;
  const v4 = localIsV4(key);
  return (v4 ? index.bound.get(setWildcardLocal(key, true)) : undefined)
    ?? index.bound.get(setWildcardLocal(key, false)) ?? null;
}
