import { parseAddr } from '../decode/addr-parse.js';
import { withGetters } from '../fast-object.js';

/**
 * Address -> name, learned from the DNS answers seen on the wire (the tool never asks a
 * resolver itself). An A/AAAA answer reached through a CNAME chain names its address with the
 * name the client asked for (that is the name the client meant to reach); the chain's targets
 * are kept alongside.
 *
 * A flow is named by the most recent answer seen before it began that is still within its TTL
 * at that moment, else by the most recent answer seen before it began (clients and stub
 * resolvers keep stale answers; a stale name is still the best clue). An answer seen after the
 * flow began never names it.
 *
 * Bounded: at most `maxAddrs` addresses (the least recently answered is dropped) and a few
 * names per address.
 */

export interface DnsCacheEntry {
  /** The name the client asked for, lowercased. */
  name: string;
  /** CNAME targets from the question to the address's owner name, in chain order. */
  aliases: string[];
  /** When the answer was seen (µs) and its TTL (s). */
  ts: number;
  ttl: number;
}

export interface DnsCache {
  /** Records that `addr` (the 4 or 16 address bytes, as a latin1 string: see addrKey) answered `name`. */
  add(key: string, entry: DnsCacheEntry): void;
  /** The name for the address at buf[off, off + addrLen) as of atTs (µs), or null. */
  nameFor(buf: Buffer, addrLen: number, atTs: number, off?: number): string | null;
  /** The whole entry nameFor would use, or null. */
  lookup(buf: Buffer, addrLen: number, atTs: number, off?: number): DnsCacheEntry | null;
  readonly size: number;
}

/** Names kept per address: a CDN address answers for many names. */
const MAX_NAMES_PER_ADDR = 8;

export function createDnsCache(maxAddrs = 100_000): DnsCache {
  // Map iteration order is insertion order: re-inserting on update keeps the oldest first.
  const byAddr = new Map<string, DnsCacheEntry[]>();

  function add(key: string, entry: DnsCacheEntry): void {
    let list = byAddr.get(key);
    if (list === undefined) {
      list = [];
    } else {
      byAddr.delete(key);
      // Same name again: the new answer replaces the old one.
      const same = list.findIndex((e) => e.name === entry.name);
      if (same >= 0) list.splice(same, 1);
    }
    // Keep the list sorted by ts (captures are mostly in order; an older answer slots back in).
    let i = list.length;
    while (i > 0 && list[i - 1].ts > entry.ts) i--;
    list.splice(i, 0, entry);
    if (list.length > MAX_NAMES_PER_ADDR) list.shift();
    byAddr.set(key, list);
    if (byAddr.size > maxAddrs) {
      const oldest = byAddr.keys().next();
      if (oldest.done !== true) byAddr.delete(oldest.value);
    }
  }

  function lookup(buf: Buffer, addrLen: number, atTs: number, off = 0): DnsCacheEntry | null {
    if (byAddr.size === 0) return null; // no DNS seen (a flood): no key string to make
    const list = byAddr.get(buf.toString('latin1', off, off + addrLen));
    if (list === undefined) return null;
    let stale: DnsCacheEntry | null = null;
    for (let i = list.length - 1; i >= 0; i--) {
      const e = list[i];
      if (e.ts > atTs) continue;
      if (atTs <= e.ts + e.ttl * 1e6) return e;
      if (stale === null) stale = e;
    }
    return stale;
  }

  const cache: Omit<DnsCache, 'size'> = {
    add,
    lookup,
    nameFor: (buf, addrLen, atTs, off = 0) => lookup(buf, addrLen, atTs, off)?.name ?? null,
  };
  return withGetters(cache, { size: () => byAddr.size });
}

/**
 * The cache key of an address written as text ('192.0.2.1', '2001:db8::1', '::ffff:192.0.2.1'):
 * its 4 or 16 bytes as a latin1 string, the same key nameFor() makes from a flow's address bytes.
 * Returns null for text that is not an address.
 */
export function addrKey(text: string): string | null {
  const b = parseAddr(text);
  return b === null ? null : String.fromCharCode(...b);
}
