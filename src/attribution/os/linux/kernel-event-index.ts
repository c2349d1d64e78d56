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
import { newKey, socketKeyOf, SocketKeyTable } from '../../socket-key.js';
import type { KernelSocketEvent } from './kernel-events.js';
import { withGetters } from '../../../fast-object.js';

const MAX_EVENTS = 65_536;
const MAX_AGE_US = 10 * 1e6;
const V4_MAPPED_PREFIX = Buffer.from('00000000000000000000ffff', 'hex');

export interface KernelEventIndex {
  add(event: KernelSocketEvent): void;
  /**
   * The latest event of the socket whose local end is localAddr/localPort, talking to
   * remoteAddr/remotePort (IPv4 as 4 bytes or as ::ffff:a.b.c.d, as the socket tables keep it).
   * Allocates nothing: it runs for every new flow.
   */
  find(proto: number, localAddr: Uint8Array, localPort: number, remoteAddr: Uint8Array, remotePort: number): KernelSocketEvent | null;
  /** Events held now. */
  readonly size: number;
  /**
   * Calls `fn` with each event added from now on. bpftrace lags under load: a flow asked about
   * before its event came can still be named when it comes.
   */
  onAdd(fn: (event: KernelSocketEvent) => void): void;
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

/** An event's socket key (socket-key.ts: IPv4 as ::ffff:a.b.c.d, whichever form the event has). */
export function eventKey(key: Uint32Array, e: KernelSocketEvent): Uint32Array {
  return socketKeyOf(key, e.proto, e.localAddr, e.localPort, e.remoteAddr, e.remotePort);
}

/**
 * `ownNetns`: the inode of the network namespace the capture runs in. Loopback addresses of
 * another namespace are other sockets that happen to use the same numbers (each namespace has
 * its own 127.0.0.1), so their events never answer for a flow seen here.
 */
export function createKernelEventIndex(ownNetns: number | null = netnsOfThisProcess()): KernelEventIndex {
  const byKey = new SocketKeyTable<KernelSocketEvent>();
  // Events in the order they came, oldest at `head`: pruning drops from there. An event whose
  // socket has a newer one is no longer byKey's and is passed over.
  const order: KernelSocketEvent[] = [];
  let head = 0;
  const key = newKey();
  const listeners: ((event: KernelSocketEvent) => void)[] = [];

  function prune(nowUs: number): void {
    while (head < order.length) {
      const e = order[head]!;
      if (byKey.size <= MAX_EVENTS && nowUs - e.monotonicUs <= MAX_AGE_US) break;
      byKey.delete(eventKey(key, e), e);
      order[head++] = undefined as unknown as KernelSocketEvent; // let it be collected
    }
    if (head > 4096 && head * 2 > order.length) {
      order.splice(0, head);
      head = 0;
    }
  }

  const index: Omit<KernelEventIndex, 'size'> = {
    add(event) {
      if (ownNetns !== null && event.netns !== ownNetns && (isLoopback(event.localAddr) || isLoopback(event.remoteAddr))) return;
      const la = asCaptured(event.localAddr);
      const ra = asCaptured(event.remoteAddr);
      const e = la === event.localAddr && ra === event.remoteAddr ? event : { ...event, localAddr: la, remoteAddr: ra };
      byKey.set(eventKey(key, e), e);
      order.push(e);
      // A socket's events replace each other in byKey but each stays in `order` until pruned: bound it too.
      if (byKey.size > MAX_EVENTS || order.length - head > 2 * MAX_EVENTS || (order.length & 1023) === 0) prune(e.monotonicUs);
      for (const fn of listeners) fn(e);
    },
    find(proto, localAddr, localPort, remoteAddr, remotePort) {
      return byKey.get(socketKeyOf(key, proto, localAddr, localPort, remoteAddr, remotePort)) ?? null;
    },
    onAdd(fn) {
      listeners.push(fn);
    },
  };
  return withGetters(index, { size: () => byKey.size });
}
