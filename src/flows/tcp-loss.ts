import { TCP_ACK, TCP_FIN, TCP_SYN, type Decoded } from '../decode/decoded.js';
import { LOSS_WORDS, type Flow } from './flow.js';
import { addHistory, H_GAP, H_RETRANS } from './conn-state.js';

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

// The flow's row of Flow.words.loss (row Flow.lossAt: LOSS_WORDS = 2 * HOT doubles, in the flow
// table's TCP rows while the flow is open) holds what every packet touches, for both directions (DIR_OUT 0,
// DIR_IN 1). Flow.tcpLossHoles holds the rarely needed rest and is made on first need.
const HOT = 4;
const SEEN = 0;     // 1 once the direction's first data (or SYN) was seen
const NEXT = 1;     // end of contiguous data seen (uint32)
const ACKED_TO = 2; // highest ack of this direction's data (uint32)
const ACKED = 3;    // bytes of this direction's data acknowledged
const COLD = 2 + 2 * 5;
const GAP = 0;      // bytes of this direction's data acknowledged that the capture never saw
const NR = 1;       // out-of-order ranges held
const R0 = 2;       // ranges: [start, end) pairs, uint32
const RANGES = 5;
/** A jump further than this in sequence space is more likely garbage (or a new stream) than data. */
const MAX_JUMP = 0x40000000;

/** Counts one TCP packet; call after the flow table counted it (dir from the table). */
export function trackTcpLoss(f: Flow, dir: number, d: Decoded): void {
  const s = f.words.loss;
  const b = f.lossAt * LOSS_WORDS;
  const flags = d.tcpFlags;
  const syn = (flags & TCP_SYN) !== 0 ? 1 : 0;
  const len = d.payloadWireLen + syn + ((flags & TCP_FIN) !== 0 ? 1 : 0);
  // Old payload is a retransmission (Zeek's history 't'); a repeated SYN or FIN alone is not.
  if (len > 0 && noteData(f, s, b, dir, d.tcpSeq, (d.tcpSeq + len) >>> 0, syn) && d.payloadWireLen > 0) addHistory(f, dir, H_RETRANS);
  if ((flags & TCP_ACK) !== 0) noteAck(f, s, b, 1 - dir, d.tcpAck);
}

/**
 * A bare SYN (no ACK, FIN, RST or payload) from the initiator of a flow the table holds without a
 * Flow object (src/flows/flow-table.ts): what trackTcpLoss would do, by row. The first sets where
 * the initiator's stream starts; one with the same sequence number again is a retransmission
 * that changes nothing. Returns false (nothing done) for any other sequence number: that needs
 * the flow's out-of-order ranges, so the table makes the Flow and counts the packet as usual.
 */
export function trackBareSyn(loss: Float64Array, at: number, seq: number): boolean {
  const o = at * LOSS_WORDS; // DIR_OUT's words
  const end = (seq + 1) >>> 0;
  if (loss[o + SEEN] === 0) {
    loss[o + SEEN] = 1;
    loss[o + NEXT] = end;
    loss[o + ACKED_TO] = end;
    return true;
  }
  return loss[o + NEXT] === end;
}

/** The sequence number of the bare SYNs trackBareSyn counted in row `at`. */
export function bareSynSeq(loss: Float64Array, at: number): number {
  return (loss[at * LOSS_WORDS + NEXT] - 1) >>> 0;
}

/** a is after b in sequence space (RFC 1982 serial arithmetic). */
function after(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

function dist(from: number, to: number): number {
  return (to - from) >>> 0;
}

function holesOf(f: Flow): Float64Array {
  return f.tcpLossHoles ?? (f.tcpLossHoles = new Float64Array(2 * COLD));
}

/** Ranges held beyond NEXT for direction `dir`. */
function rangesHeld(f: Flow, dir: number): number {
  const c = f.tcpLossHoles;
  return c === null ? 0 : c[dir * COLD + NR];
}

/** Returns true when the segment lies wholly in sequence space already seen (a retransmission). */
function noteData(f: Flow, s: Float64Array, b: number, dir: number, start: number, end: number, syn: number): boolean {
  const o = b + dir * HOT;
  if (s[o + SEEN] === 0) {
    s[o + SEEN] = 1;
    s[o + NEXT] = end;
    s[o + ACKED_TO] = (start + syn) >>> 0; // acked bytes count from here (the SYN itself is not data)
    return false;
  }
  const next = s[o + NEXT];
  if (start === next && rangesHeld(f, dir) === 0) {
    s[o + NEXT] = end; // the common case: the next segment in order, no holes held
    return false;
  }
  if (!after(end, next)) return true; // old data: a retransmission
  if (after(start, next)) {
    if (dist(next, start) < MAX_JUMP) addRange(holesOf(f), dir * COLD, start, end);
    return false;
  }
  s[o + NEXT] = end;
  if (rangesHeld(f, dir) > 0) absorbRanges(s, o, holesOf(f), dir * COLD);
  return false;
}

/** The other side acknowledges direction `dir`'s data up to ack. */
function noteAck(f: Flow, s: Float64Array, b: number, dir: number, ack: number): void {
  const o = b + dir * HOT;
  if (s[o + SEEN] === 0) return; // nothing of that direction seen: no baseline to judge by
  // Each test below is made for every ack, also one that acknowledges nothing new (a handshake's,
  // a duplicate: the common case, which returned first): such acks come first in a capture, and
  // the tests then have run before V8 compiles the per-packet code, which the first ack of data
  // threw away when they had not. Such an ack moves nothing.
  const to = s[o + ACKED_TO];
  const ahead = dist(to, ack);
  const near = ahead < MAX_JUMP;
  const step = after(ack, to) && near ? ahead : 0;
  s[o + ACKED] += step;
  s[o + ACKED_TO] = step > 0 ? ack : to;
  const next = s[o + NEXT];
  const beyond = after(ack, next);
  const farBeyond = dist(next, ack) >= MAX_JUMP;
  if (ack === to || !beyond || farBeyond) return;
  const c = holesOf(f);
  const co = dir * COLD;
  const missed = dist(next, ack) - (c[co + NR] > 0 ? coveredBelow(c, co, ack) : 0);
  c[co + GAP] += missed;
  if (missed > 0) addHistory(f, dir, H_GAP); // Zeek's history 'g', in the direction whose data is missing
  s[o + NEXT] = ack;
  if (c[co + NR] > 0) absorbRanges(s, o, c, co);
}

/** Bytes below `limit` that the out-of-order ranges hold (they lie beyond NEXT, disjoint). */
function coveredBelow(c: Float64Array, co: number, limit: number): number {
  let n = 0;
  for (let i = 0; i < c[co + NR]; i++) {
    const a = c[co + R0 + 2 * i];
    const b = c[co + R0 + 2 * i + 1];
    if (!after(limit, a)) continue;
    n += dist(a, after(b, limit) ? limit : b);
  }
  return n;
}

/** Moves NEXT over ranges it now reaches and drops ranges wholly below it. */
function absorbRanges(s: Float64Array, o: number, c: Float64Array, co: number): void {
  let moved = true;
  while (moved) {
    moved = false;
    for (let i = 0; i < c[co + NR]; i++) {
      const a = c[co + R0 + 2 * i];
      const b = c[co + R0 + 2 * i + 1];
      if (after(a, s[o + NEXT])) continue;
      if (after(b, s[o + NEXT])) s[o + NEXT] = b;
      removeRange(c, co, i);
      moved = true;
      break;
    }
  }
}

function addRange(c: Float64Array, co: number, start: number, end: number): void {
  for (let i = 0; i < c[co + NR]; i++) {
    const a = c[co + R0 + 2 * i];
    const b = c[co + R0 + 2 * i + 1];
    if (after(start, b) || after(a, end)) continue; // disjoint and not touching
    c[co + R0 + 2 * i] = after(a, start) ? start : a;
    c[co + R0 + 2 * i + 1] = after(end, b) ? end : b;
    return; // (a range bridging two held ranges merges with the first only: still correct, just less tidy)
  }
  if (c[co + NR] === RANGES) removeRange(c, co, 0); // forget the oldest: its bytes will count as missed
  const n = c[co + NR];
  c[co + R0 + 2 * n] = start;
  c[co + R0 + 2 * n + 1] = end;
  c[co + NR] = n + 1;
}

function removeRange(c: Float64Array, co: number, i: number): void {
  const n = c[co + NR] - 1;
  for (let k = i; k < n; k++) {
    c[co + R0 + 2 * k] = c[co + R0 + 2 * k + 2];
    c[co + R0 + 2 * k + 1] = c[co + R0 + 2 * k + 3];
  }
  c[co + NR] = n;
}

export interface FlowLoss {
  /** Bytes acknowledged, and of them never captured, per direction of the data (out = initiator's). */
  ackedOut: number;
  ackedIn: number;
  gapOut: number;
  gapIn: number;
}

export function lossOf(f: Flow): FlowLoss {
  const s = f.words.loss;
  const b = f.lossAt * LOSS_WORDS;
  const c = f.tcpLossHoles;
  return {
    ackedOut: s[b + ACKED], ackedIn: s[b + HOT + ACKED],
    gapOut: c === null ? 0 : c[GAP], gapIn: c === null ? 0 : c[COLD + GAP],
  };
}

/** Loss in percent, or null when no TCP data was acknowledged at all (nothing to judge by). */
export function lossPercent(acked: number, gap: number): number | null {
  return acked > 0 ? (100 * gap) / acked : null;
}
