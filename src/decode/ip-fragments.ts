/**
 * Puts IP fragments back with their datagram. Only the first fragment carries the transport
 * header, so without this a datagram's later fragments belong to no flow: bytes sent that way
 * would escape every per-flow count (and an air-gap check). And a DNS answer larger than the
 * link MTU (EDNS0, many records) arrives in fragments: naming needs the whole message.
 *
 * Per datagram (key: IP version, addresses, protocol, identification) it keeps the first
 * fragment's ports, so each later fragment can be counted in the same flow (`later`), and holds
 * later fragments that arrive before the first until it comes (`first` releases them). When the
 * caller asks (`keep`: the DNS datagrams), it also gathers the bytes and hands back the whole
 * datagram once every fragment is in.
 *
 * Like Linux (since 4.19, and RFC 5722 for IPv6), a datagram whose fragments overlap is not
 * reassembled (an overlap is a classic way to show a monitor different bytes than the host);
 * its fragments are still counted. Exact duplicates are ignored. Bounded: at most
 * MAX_DATAGRAMS in progress (the oldest goes first), MAX_HELD fragments held per datagram,
 * 65,535 bytes per datagram; a datagram is forgotten after TIMEOUT_US (Linux's ipfrag_time is
 * 30 s, RFC 8200's IPv6 reassembly timeout 60 s: the longer one for both).
 *
 * Allocates per fragment only (a key string, a held record): fragments are rare.
 */
import type { Packet } from '../capture/packet.js';
import type { Decoded } from './decoded.js';
import { insertRange } from './byte-ranges.js';

export const MAX_DATAGRAMS = 256;
export const MAX_HELD = 64;
export const TIMEOUT_US = 60e6;
const MAX_DATAGRAM_BYTES = 65535;

interface Held {
  ts: number;
  ipLen: number;
  dataLen: number;
}

interface Datagram {
  key: string;
  lastTs: number;
  /** The first fragment's ports, once it was seen. */
  seenFirst: boolean;
  srcPort: number;
  dstPort: number;
  /** Later fragments that came before the first. */
  held: Held[];
  /** Received data ranges [start, end) in datagram offsets, sorted, disjoint. */
  ranges: number[];
  /** Each fragment's own [start, end), unmerged: tells an exact duplicate from an overlap. */
  pieces: number[];
  /** Datagram length once the last fragment (more = 0) was seen, else -1. */
  total: number;
  /** Bytes gathered for a kept datagram (null: not kept, or given up). */
  data: Buffer | null;
  keep: boolean;
  /** Where the transport header starts in the data (IPv6 extension headers after the fragment header). */
  transportAt: number;
  /** Overlapping, impossible or snapshot-cut fragments: counted, never reassembled. */
  unusable: boolean;
}

export interface FragmentStats {
  /** Datagrams handed back whole, and datagrams not reassembled because fragments overlapped. */
  reassembled: number;
  overlapping: number;
  /** Datagrams forgotten incomplete (timeout, room, end of capture), and later fragments whose first never came. */
  incomplete: number;
  orphans: number;
}

export interface FragmentTracker {
  /**
   * A first fragment (d.fragment === 1) whose transport header starts at pkt.buf offset
   * `transportOff`: remembers its ports; `keep` gathers the datagram's bytes. Afterwards
   * `released` lists the later fragments that were waiting for it.
   */
  first(pkt: Packet, d: Decoded, transportOff: number, keep: boolean): void;
  /**
   * A later fragment (d.fragment === 2): true when its datagram's first fragment is known; d.srcPort
   * and d.dstPort are then set to the datagram's. False: held until the first comes (or dropped).
   */
  later(pkt: Packet, d: Decoded): boolean;
  /** Later fragments released by the last first(): their capture times, IP lengths and data lengths. */
  readonly released: readonly Held[];
  /** The datagram the last call completed, when kept: bytes from its transport header on. Else null. */
  readonly datagram: Buffer | null;
  /** Forgets datagrams idle past the timeout at capture time nowUs. */
  expire(nowUs: number): void;
  /** End of capture: forgets every datagram still in progress. */
  flush(): void;
  readonly stats: FragmentStats;
}

export function createFragmentTracker(): FragmentTracker {
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  const open = new Map<string, Datagram>();
  const stats: FragmentStats = { reassembled: 0, overlapping: 0, incomplete: 0, orphans: 0 };
  const tracker = {
    first,
    later,
    released: [] as Held[],
    datagram: null as Buffer | null,
    expire,
    flush,
    stats,
  };
  return tracker;

  function first(pkt: Packet, d: Decoded, transportOff: number, keep: boolean): void {
    tracker.released = [];
    tracker.datagram = null;
    const g = entry(pkt, d);
    if (!g.seenFirst) {
      g.seenFirst = true;
      g.srcPort = d.srcPort;
      g.dstPort = d.dstPort;
      g.keep = keep;
      if (!keep) g.data = null;
      tracker.released = g.held;
      g.held = [];
    }
    add(g, pkt, d, transportOff);
  }

  function later(pkt: Packet, d: Decoded): boolean {
    tracker.released = [];
    tracker.datagram = null;
    const g = entry(pkt, d);
    if (!g.seenFirst) {
      if (g.held.length < MAX_HELD) g.held.push({ ts: pkt.ts, ipLen: d.ipLen, dataLen: d.fragDataWireLen });
      else stats.orphans++;
      add(g, pkt, d, -1);
      return false;
    }
    d.srcPort = g.srcPort;
    d.dstPort = g.dstPort;
    add(g, pkt, d, -1);
    return true;
  }

  function entry(pkt: Packet, d: Decoded): Datagram {
    const key = keyOf(pkt.buf, d);
    let g = open.get(key);
    if (g === undefined) {
      if (open.size >= MAX_DATAGRAMS) forget(open.values().next().value as Datagram);
      g = {
        key, lastTs: pkt.ts, seenFirst: false, srcPort: 0, dstPort: 0, held: [], ranges: [], pieces: [], total: -1,
        data: null, keep: false, transportAt: 0, unusable: false,
      };
    } else {
      open.delete(key);
    }
    open.set(key, g);
    if (pkt.ts > g.lastTs) g.lastTs = pkt.ts;
    return g;
  }

  /** Notes the fragment's range (and bytes, when kept); completes the datagram when it can. */
  function add(g: Datagram, pkt: Packet, d: Decoded, transportOff: number): void {
    const start = d.fragOffset;
    const end = start + d.fragDataWireLen;
    if (end > MAX_DATAGRAM_BYTES || (d.fragMore === 1 && d.fragDataWireLen % 8 !== 0)) {
      g.unusable = true; // not a datagram any stack would build: do not reassemble it
      g.data = null;
      return;
    }
    if (d.fragMore === 0) g.total = end;
    if (transportOff >= 0) g.transportAt = transportOff - d.fragDataOff;
    const pieces = g.pieces;
    for (let i = 0; i < pieces.length; i += 2) if (pieces[i] === start && pieces[i + 1] === end) return; // an exact duplicate
    const r = g.ranges;
    for (let i = 0; i < r.length; i += 2) {
      if (start < r[i + 1] && r[i] < end) {
        if (!g.unusable) stats.overlapping++;
        g.unusable = true;
        g.data = null;
        return;
      }
    }
    insertRange(r, start, end);
    if (pieces.length < 2 * MAX_HELD) pieces.push(start, end);
    if (!g.unusable && (g.keep || !g.seenFirst)) gather(g, pkt, d, start, end);
    if (g.seenFirst && g.total >= 0 && r.length === 2 && r[0] === 0 && r[1] === g.total) complete(g);
  }

  /** Copies the fragment's bytes (a later fragment is kept while its first is unknown: it may be DNS). */
  function gather(g: Datagram, pkt: Packet, d: Decoded, start: number, end: number): void {
    if (d.fragDataLen < end - start) {
      g.unusable = true; // cut by the snapshot length: the datagram cannot be read whole
      g.data = null;
      return;
    }
    if (g.data === null || g.data.length < end) {
      const bigger = Buffer.alloc(Math.min(MAX_DATAGRAM_BYTES, Math.max(end, g.data === null ? 2048 : g.data.length * 2)));
      if (g.data !== null) g.data.copy(bigger);
      g.data = bigger;
    }
    pkt.buf.copy(g.data, start, d.fragDataOff, d.fragDataOff + (end - start));
  }

  function complete(g: Datagram): void {
    open.delete(g.key);
    if (!g.keep || g.unusable || g.data === null) return;
    stats.reassembled++;
    tracker.datagram = g.data.subarray(g.transportAt, g.total);
  }

  function forget(g: Datagram): void {
    open.delete(g.key);
    stats.incomplete++;
    stats.orphans += g.held.length;
  }

  function flush(): void {
    for (const g of open.values()) forget(g);
  }

  function expire(nowUs: number): void {
    for (const g of open.values()) {
      if (nowUs - g.lastTs <= TIMEOUT_US) break;
      forget(g);
    }
  }
}

function keyOf(buf: Buffer, d: Decoded): string {
  return `${d.proto}/${d.fragId}/${buf.toString('latin1', d.srcOff, d.srcOff + d.addrLen)}/${buf.toString('latin1', d.dstOff, d.dstOff + d.addrLen)}`;
}
