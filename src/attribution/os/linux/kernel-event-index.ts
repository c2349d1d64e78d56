/**
 * The kernel's socket events (kernel-events.ts) by socket 4-tuple, so a flow's first packet,
 * however short the connection lived, finds the process that sent it. Bounded: the newest
 * MAX_EVENTS events, and none older than MAX_AGE_US: a flow's first packet is on the wire within
 * microseconds of its event (10 s covers a capture running far behind); a UDP socket that sends
 * again after that is announced again (the program's de-duplication is cleared every 10 s), and a
 * flow asked about before its event came waits for it on the attributor's side.
 */
import { statSync } from 'node:fs';
import { isLoopback } from '../../../decode/addr.js';
import type { KernelSocketEvent } from './kernel-events.js';

const MAX_EVENTS = 65_536;
const MAX_AGE_US = 10 * 1e6;
const V4_MAPPED_PREFIX = Buffer.from('00000000000000000000ffff', 'hex');

export interface KernelEventIndex {
  add(event: KernelSocketEvent): void;
  /**
   * The latest event of the socket whose local end is localAddr/localPort, talking to
   * remoteAddr/remotePort (IPv4 as 4 bytes or as ::ffff:a.b.c.d, as the socket tables keep it).
   */
  find(proto: number, localAddr: Buffer, localPort: number, remoteAddr: Buffer, remotePort: number): KernelSocketEvent | null;
  /** Events held now. */
  readonly size: number;
  /**
   * Calls `fn` with each event added from now on and its socketKey. bpftrace lags under load: a
   * flow asked about before its event came can still be named when it comes.
   */
  onAdd(fn: (event: KernelSocketEvent, key: string) => void): void;
}

/** An IPv4 peer of an IPv6 socket (::ffff:a.b.c.d) as the 4-byte address the capture sees. */
function asCaptured(addr: Buffer): Buffer {
  return addr.length === 16 && addr.subarray(0, 12).equals(V4_MAPPED_PREFIX) ? addr.subarray(12) : addr;
}

function netnsOfThisProcess(): number | null {
  try {
    return statSync('/proc/self/ns/net').ino;
  } catch {
    return null;
  }
}

/** One socket's key: protocol and both ends (IPv4 as 4 bytes, also when given as ::ffff:a.b.c.d). */
export function socketKey(proto: number, localAddr: Buffer, localPort: number, remoteAddr: Buffer, remotePort: number): string {
  return `${proto}|${asCaptured(localAddr).toString('hex')}|${localPort}|${asCaptured(remoteAddr).toString('hex')}|${remotePort}`;
}

/**
 * `ownNetns`: the inode of the network namespace the capture runs in. Loopback addresses of
 * another namespace are other sockets that happen to use the same numbers (each namespace has
 * its own 127.0.0.1), so their events never answer for a flow seen here.
 */
export function createKernelEventIndex(ownNetns: number | null = netnsOfThisProcess()): KernelEventIndex {
  const byKey = new Map<string, KernelSocketEvent>();
  const listeners: ((event: KernelSocketEvent, key: string) => void)[] = [];
  let addsSincePrune = 0;

  function prune(nowUs: number): void {
    for (const [k, e] of byKey) {
      if (byKey.size <= MAX_EVENTS && nowUs - e.monotonicUs <= MAX_AGE_US) break;
      byKey.delete(k);
    }
  }

  return {
    add(event) {
      const la = asCaptured(event.localAddr);
      const ra = asCaptured(event.remoteAddr);
      if (ownNetns !== null && event.netns !== ownNetns && (isLoopback(la) || isLoopback(ra))) return;
      const e = la === event.localAddr && ra === event.remoteAddr ? event : { ...event, localAddr: la, remoteAddr: ra };
      const k = socketKey(e.proto, la, e.localPort, ra, e.remotePort);
      // Newest last: Map order is insertion order, so pruning walks from the oldest.
      byKey.delete(k);
      byKey.set(k, e);
      if (byKey.size > MAX_EVENTS || ++addsSincePrune >= 1024) {
        addsSincePrune = 0;
        prune(e.monotonicUs);
      }
      for (const fn of listeners) fn(e, k);
    },
    find(proto, localAddr, localPort, remoteAddr, remotePort) {
      return byKey.get(socketKey(proto, localAddr, localPort, remoteAddr, remotePort)) ?? null;
    },
    onAdd(fn) {
      listeners.push(fn);
    },
    get size() {
      return byKey.size;
    },
  };
}
