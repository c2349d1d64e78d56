import { TCP_ACK, TCP_FIN, TCP_SYN, type Decoded } from '../decode/decoded.js';
import type { Flow } from './flow.js';

/**
 * Capture-loss estimate from TCP alone, after Zeek's capture_loss: when one side acknowledges
 * bytes the capture never saw from the other side, the capture missed them (the kernel
 * dropped them, or they crossed an interface not watched). Counted per direction of the data,
 * as bytes: `gap` of `acked`. Needs no kernel counters, so it works on imported files and on
 * `cap`, which has none.
 *
 * Per direction it keeps the end of the contiguous data seen (`next`) and up to RANGES
 * out-of-order ranges beyond it. An ack beyond `next` turns the bytes between `next` and the
 * ack that no range covers into gap. A lower bound: it cannot see loss no ACK follows (the end
 * of a flow cut by the end of the capture), lost packets without data (pure ACKs), or UDP;
 * past RANGES holes in flight, the oldest range is forgotten (its bytes count as missed).
 */

// Flow.tcpLoss: one Float64Array per TCP flow, a block of W slots per direction (DIR_OUT 0,
// DIR_IN 1), so the per-packet path touches no boxed numbers.
const W = 16;
const SEEN = 0;     // 1 once the direction's first data (or SYN) was seen
const NEXT = 1;     // end of contiguous data seen (uint32)
const ACKED_TO = 2; // highest ack of this direction's data (uint32)
const ACKED = 3;    // bytes of this direction's data acknowledged
const GAP = 4;      // of which the capture never saw
const NR = 5;       // out-of-order ranges held
const R0 = 6;       // ranges: [start, end) pairs, uint32
const RANGES = 5;
/** A jump further than this in sequence space is more likely garbage (or a new stream) than data. */
const MAX_JUMP = 0x40000000;

/** Counts one TCP packet; call after the flow table counted it (dir from the table). */
export function trackTcpLoss(f: Flow, dir: number, d: Decoded): void {
  const s = f.tcpLoss ?? (f.tcpLoss = new Float64Array(2 * W));
  const flags = d.tcpFlags;
  const syn = (flags & TCP_SYN) !== 0 ? 1 : 0;
  const len = d.payloadWireLen + syn + ((flags & TCP_FIN) !== 0 ? 1 : 0);
  if (len > 0) noteData(s, dir * W, d.tcpSeq, (d.tcpSeq + len) >>> 0, syn);
  if ((flags & TCP_ACK) !== 0) noteAck(s, (1 - dir) * W, d.tcpAck);
}

/** a is after b in sequence space (RFC 1982 serial arithmetic). */
function after(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

function dist(from: number, to: number): number {
  return (to - from) >>> 0;
}

function noteData(s: Float64Array, o: number, start: number, end: number, syn: number): void {
  if (s[o + SEEN] === 0) {
    s[o + SEEN] = 1;
    s[o + NEXT] = end;
    s[o + ACKED_TO] = (start + syn) >>> 0; // acked bytes count from here (the SYN itself is not data)
    return;
  }
  const next = s[o + NEXT];
  if (start === next && s[o + NR] === 0) {
    s[o + NEXT] = end; // the common case: the next segment in order, no holes held
    return;
  }
  if (!after(end, next)) return; // old data: a retransmission
  if (after(start, next)) {
    if (dist(next, start) < MAX_JUMP) addRange(s, o, start, end);
    return;
  }
  s[o + NEXT] = end;
  if (s[o + NR] > 0) absorbRanges(s, o);
}

/** The other side acknowledges this direction's data up to ack. */
function noteAck(s: Float64Array, o: number, ack: number): void {
  if (s[o + SEEN] === 0) return; // nothing of that direction seen: no baseline to judge by
  const to = s[o + ACKED_TO];
  if (ack === to) return; // the common case: a duplicate or window-update ack
  if (after(ack, to) && dist(to, ack) < MAX_JUMP) {
    s[o + ACKED] += dist(to, ack);
    s[o + ACKED_TO] = ack;
  }
  const next = s[o + NEXT];
  if (!after(ack, next) || dist(next, ack) >= MAX_JUMP) return;
  s[o + GAP] += dist(next, ack) - (s[o + NR] > 0 ? coveredBelow(s, o, ack) : 0);
  s[o + NEXT] = ack;
  if (s[o + NR] > 0) absorbRanges(s, o);
}

/** Bytes below `limit` that the out-of-order ranges hold (they lie beyond NEXT, disjoint). */
function coveredBelow(s: Float64Array, o: number, limit: number): number {
  let n = 0;
  for (let i = 0; i < s[o + NR]; i++) {
    const a = s[o + R0 + 2 * i];
    const b = s[o + R0 + 2 * i + 1];
    if (!after(limit, a)) continue;
    n += dist(a, after(b, limit) ? limit : b);
  }
  return n;
}

/** Moves NEXT over ranges it now reaches and drops ranges wholly below it. */
function absorbRanges(s: Float64Array, o: number): void {
  let moved = true;
  while (moved) {
    moved = false;
    for (let i = 0; i < s[o + NR]; i++) {
      const a = s[o + R0 + 2 * i];
      const b = s[o + R0 + 2 * i + 1];
      if (after(a, s[o + NEXT])) continue;
      if (after(b, s[o + NEXT])) s[o + NEXT] = b;
      removeRange(s, o, i);
      moved = true;
      break;
    }
  }
}

function addRange(s: Float64Array, o: number, start: number, end: number): void {
  for (let i = 0; i < s[o + NR]; i++) {
    const a = s[o + R0 + 2 * i];
    const b = s[o + R0 + 2 * i + 1];
    if (after(start, b) || after(a, end)) continue; // disjoint and not touching
    s[o + R0 + 2 * i] = after(a, start) ? start : a;
    s[o + R0 + 2 * i + 1] = after(end, b) ? end : b;
    return; // (a range bridging two held ranges merges with the first only: still correct, just less tidy)
  }
  if (s[o + NR] === RANGES) removeRange(s, o, 0); // forget the oldest: its bytes will count as missed
  const n = s[o + NR];
  s[o + R0 + 2 * n] = start;
  s[o + R0 + 2 * n + 1] = end;
  s[o + NR] = n + 1;
}

function removeRange(s: Float64Array, o: number, i: number): void {
  const n = s[o + NR] - 1;
  for (let k = i; k < n; k++) {
    s[o + R0 + 2 * k] = s[o + R0 + 2 * k + 2];
    s[o + R0 + 2 * k + 1] = s[o + R0 + 2 * k + 3];
  }
  s[o + NR] = n;
}

export interface FlowLoss {
  /** Bytes acknowledged, and of them never captured, per direction of the data (out = initiator's). */
  ackedOut: number;
  ackedIn: number;
  gapOut: number;
  gapIn: number;
}

export function lossOf(f: Flow): FlowLoss {
  const s = f.tcpLoss;
  if (s === null) return { ackedOut: 0, ackedIn: 0, gapOut: 0, gapIn: 0 };
  return { ackedOut: s[ACKED], ackedIn: s[W + ACKED], gapOut: s[GAP], gapIn: s[W + GAP] };
}

/** Loss in percent, or null when no TCP data was acknowledged at all (nothing to judge by). */
export function lossPercent(acked: number, gap: number): number | null {
  return acked > 0 ? (100 * gap) / acked : null;
}
