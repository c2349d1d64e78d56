import type { Packet } from '../capture/packet.js';
import type { Flow } from '../flows/flow.js';
import { IFACE_UNKNOWN } from '../decode/link.js';

/** Copies of one forwarded packet arrive within microseconds; 50 ms leaves room for a busy capture. */
export const DUPLICATE_WINDOW_US = 50_000;

/**
 * Packets apart within which a copy on another named interface still counts as a copy, whatever the
 * times say: a live capture on several devices stamps packets when its handle is read, so a blocked
 * event loop can put the copies of one packet far apart in time but not in order (each handle's
 * ring holds a few hundred packets).
 */
export const DUPLICATE_WINDOW_PACKETS = 4096;

/**
 * The same for an unknown interface (SLL v1 on `any`, one handle: copies come within a few packets
 * of each other, but a callback that blocks, such as a flow's first procfs lookup, delays the stamps
 * of the copies behind it): close in order and within a bound in time. Tighter than for named
 * interfaces, where a repeat on the same interface is told apart (native-notes/dedup.md).
 */
export const UNNAMED_WINDOW_PACKETS = 64;
export const UNNAMED_WINDOW_US = 2_000_000;

/** epb_flags direction values (pcapng: bits 0-1 of option 2). */
const PKTAP_IN = 1;
const PKTAP_OUT = 2;

/** Fingerprints remembered: direct-mapped, so a newer packet may evict an older one (then a later copy counts again). */
const SLOTS = 1 << 16;
const MASK = SLOTS - 1;

/**
 * Recognises a packet already captured on another interface (a forwarding host's `-i any` sees each
 * forwarded packet on the bridge port, the bridge and the uplink), by its fingerprint
 * (src/decode/packet-fingerprint.ts) within DUPLICATE_WINDOW_US of the first copy. Fixed-size typed
 * arrays, allocated at the first packet: nothing per packet. Why this is safe: native-notes/dedup.md.
 */
export function createDuplicateFilter(windowUs = DUPLICATE_WINDOW_US) {
  let h1s: Int32Array | null = null;
  let h2s = new Int32Array(0);
  let ifaces = new Int32Array(0);
  let times = new Float64Array(0);
  let seqs = new Float64Array(0);
  let seq = 0;
  // The epb_flags direction of each remembered packet (macOS pktap: 2 out, 1 in; else -1 or 0).
  let dirs = new Int8Array(0);
  // The flow each remembered packet was counted in, so a copy can add its interface to that flow,
  // and the flow direction it went (a pktap copy's process tag is read against it).
  let owners: (Flow | null)[] = [];
  let ownerDirs = new Int8Array(0);
  let last = 0;
  let loopbackIn = false;
  let copyEarlier = false;

  /**
   * True when this packet is a copy of one seen within the window on a different interface (or
   * when either copy's interface is unknown). The window: DUPLICATE_WINDOW_US of capture time, or,
   * when both interfaces are known, DUPLICATE_WINDOW_PACKETS packets, else UNNAMED_WINDOW_PACKETS
   * packets within UNNAMED_WINDOW_US. A packet seen again on the first copy's own interface
   * is a new packet (a retransmission, a duplicate on the wire): it is counted and becomes the first copy.
   * Except macOS pktap on a loopback (lo0): the kernel shows each packet once going out (tagged
   * with its sender) and once coming in (tagged with its receiver), same bytes, same interface,
   * epb_flags out then in; the in copy is a copy, once (a second in copy is a new packet).
   */
  // Takes the Packet and the fingerprint array, not numbers: a double (the time) passed to a function
  // V8 did not inline is boxed, a heap allocation per packet.
  function isCopy(p: Packet, fp: Int32Array, iface: number): boolean {
    const h1 = fp[0];
    const h2 = fp[1];
    if (h1s === null) {
      h1s = new Int32Array(SLOTS);
      h2s = new Int32Array(SLOTS);
      ifaces = new Int32Array(SLOTS);
      dirs = new Int8Array(SLOTS);
      ownerDirs = new Int8Array(SLOTS);
      times = new Float64Array(SLOTS).fill(-Infinity);
      seqs = new Float64Array(SLOTS).fill(-Infinity);
      owners = new Array<Flow | null>(SLOTS).fill(null);
    }
    const s = (h1 ^ (h1 >>> 16)) & MASK;
    last = s;
    loopbackIn = false;
    seq++;
    if (h1s[s] === h1 && h2s[s] === h2) {
      const first = ifaces[s];
      const named = iface !== IFACE_UNKNOWN && first !== IFACE_UNKNOWN;
      const dt = Math.abs(p.ts - times[s]);
      const apart = seq - seqs[s];
      const near = dt <= windowUs || (named
        ? apart <= DUPLICATE_WINDOW_PACKETS
        : apart <= UNNAMED_WINDOW_PACKETS && dt <= UNNAMED_WINDOW_US);
      if (near && (!named || iface !== first)) {
        copyEarlier = p.ts < times[s];
        return true;
      }
      if (near && iface === first && dirs[s] === PKTAP_OUT && p.direction === PKTAP_IN) {
        dirs[s] = 0; // its in copy is used up
        loopbackIn = true;
        return true;
      }
    }
    h1s[s] = h1;
    h2s[s] = h2;
    ifaces[s] = iface;
    times[s] = p.ts;
    seqs[s] = seq;
    dirs[s] = p.direction;
    owners[s] = null;
    return false;
  }

  /** The flow the packet last passed to isCopy was counted in (its first copy's), or null. */
  function ownerOfLast(): Flow | null {
    return owners[last] ?? null;
  }

  /** The flow direction (DIR_OUT/DIR_IN) the packet last passed to isCopy went in its owner flow. */
  function ownerDirOfLast(): number {
    return ownerDirs[last];
  }

  /** Records the flow the packet last passed to isCopy (a first copy) was counted in, and its direction there. */
  function setOwnerOfLast(f: Flow, dir = 0): void {
    if (h1s === null) return;
    owners[last] = f;
    ownerDirs[last] = dir;
  }

  /**
   * True when the packet last passed to isCopy was a copy stamped before its first copy: its
   * interface was crossed first. Several handles' rings (TPACKET_V3 blocks) are each handed over on
   * their own timer, so one interface's packets can be read before an earlier copy on another.
   */
  function lastCopyWasEarlier(): boolean {
    return copyEarlier;
  }

  /** The interface of the first copy of the packet last passed to isCopy. */
  function firstIfaceOfLast(): number {
    return ifaces[last];
  }

  /** True when the packet last passed to isCopy was a pktap loopback in copy (same interface), not another interface's. */
  function lastWasLoopbackIn(): boolean {
    return loopbackIn;
  }

  return { isCopy, ownerOfLast, ownerDirOfLast, setOwnerOfLast, lastWasLoopbackIn, lastCopyWasEarlier, firstIfaceOfLast };
}

export type DuplicateFilter = ReturnType<typeof createDuplicateFilter>;
