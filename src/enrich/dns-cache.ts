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

  return {
    add,
    lookup,
    nameFor: (buf, addrLen, atTs, off = 0) => lookup(buf, addrLen, atTs, off)?.name ?? null,
    get size() { return byAddr.size; },
  };
}

/**
 * The cache key of an address written as text ('192.0.2.1', '2001:db8::1', '::ffff:192.0.2.1'):
 * its 4 or 16 bytes as a latin1 string, the same key nameFor() makes from a flow's address bytes.
 * Returns null for text that is not an address.
 */
export function addrKey(text: string): string | null {
  const b = text.includes(':') ? parseV6(text) : parseV4(text);
  return b === null ? null : String.fromCharCode(...b);
}

function parseV4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || Number(p) > 255) return null;
    out.push(Number(p));
  }
  return out;
}

function parseV6(s: string): number[] | null {
  const pct = s.indexOf('%'); // zone id: not part of the address
  if (pct >= 0) s = s.slice(0, pct);
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const words = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out: number[] = [];
  for (const w of words) out.push(w >> 8, w & 0xff);
  return out;
}

/** 16-bit groups of one side of '::'; a trailing dotted quad counts as two groups. */
function groups(s: string): number[] | null {
  if (s === '') return [];
  const parts = s.split(':');
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (i === parts.length - 1 && p.includes('.')) {
      const v4 = parseV4(p);
      if (v4 === null) return null;
      out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
      out.push(parseInt(p, 16));
    }
  }
  return out;
}
