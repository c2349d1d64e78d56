/**
 * A window of one direction of a TCP stream, reassembled from segments that may come out of
 * order, retransmitted or overlapping. It starts at the stream's first byte, and only window
 * offsets [0, limit) are kept: the parsers that name a flow (ClientHello, HTTP heads, DNS over
 * TCP) need no more, and the budget bounds what one flow can cost. A parser that has consumed
 * bytes slides the window past them (headSlide), also past bytes not yet received (an HTTP body
 * it skips by its length): so HTTP reads every message head of a keep-alive connection with a
 * window of one head's size. All offsets below are window offsets.
 *
 * The window first starts at the stream start: the SYN's seq + 1 when the SYN was seen, else the
 * seq of the first data segment seen (a capture that lost the SYN and then saw the first two
 * data segments swapped reads from the wrong start; the parsers then give up rather than
 * misreport, since what they see does not start with a valid message).
 *
 * Overlaps keep the bytes that arrived first (as most reassemblers do): a retransmission with
 * different bytes cannot rewrite what the parsers may already have read.
 */

import { insertRange } from '../decode/byte-ranges.js';

export interface StreamHead {
  /** Bytes [0, contig) are present without a hole. */
  contig: number;
  /** Window size: the highest window offset kept (exclusive). */
  limit: number;
  /** Holds window offsets [0, buf.length); grown on demand up to limit. */
  buf: Buffer;
  /** Sequence number (uint32) of window offset 0; valid when started. */
  base: number;
  started: boolean;
  synSeen: boolean;
  /** Received ranges beyond contig, as sorted disjoint [start, end) pairs. */
  holes: number[];
  /** Arrival-ordered segments [start, end) and their capture time, for tsAt(). */
  segs: number[];
  lastTs: number;
}

const EMPTY = Buffer.alloc(0);
/** Out-of-order ranges kept beyond contig; a stream that needs more is too damaged to read. */
const MAX_RANGES = 32;
/** Segment timestamps kept per head (the rest answer with the latest time seen). */
const MAX_SEGS = 64;

export function newStreamHead(limit: number): StreamHead {
  return { contig: 0, limit, buf: EMPTY, base: 0, started: false, synSeen: false, holes: [], segs: [], lastTs: 0 };
}

/** A SYN (or SYN-ACK) fixes the stream start at seq + 1, unless data already fixed it. */
export function headSyn(h: StreamHead, seq: number): void {
  if (h.synSeen || h.started) return;
  h.synSeen = true;
  h.started = true;
  h.base = (seq + 1) >>> 0;
}

/**
 * Adds the segment carrying `len` bytes at `src[off..]` with sequence number `seq`.
 * Returns true when contig grew (the parsers have something new to read).
 */
export function headAdd(h: StreamHead, seq: number, src: Buffer, off: number, len: number, ts: number): boolean {
  if (len <= 0) return false;
  h.lastTs = ts;
  if (!h.started) {
    h.started = true;
    h.base = seq >>> 0;
  }
  let rel = (seq - h.base) >>> 0;
  let start = off;
  let n = len;
  if (rel >= 0x80000000) {
    // Begins before the stream start (a retransmission reaching back): keep the tail.
    const skip = 0x100000000 - rel;
    if (skip >= n) return false;
    start += skip;
    n -= skip;
    rel = 0;
  }
  if (rel >= h.limit) return false;
  if (rel + n > h.limit) n = h.limit - rel;
  const end = rel + n;
  if (end <= h.contig) return false;
  ensureCapacity(h, end);
  noteSegment(h, rel, end, ts);
  if (rel <= h.contig) {
    copyMissing(h, src, start - rel, h.contig, end);
    h.contig = end;
    absorbHoles(h);
    return true;
  }
  if (h.holes.length >= MAX_RANGES * 2) return false;
  copyMissing(h, src, start - rel, rel, end);
  insertRange(h.holes, rel, end);
  return false;
}

/** Capture time of the first segment that carried stream offset `off` (µs). */
export function headTsAt(h: StreamHead, off: number): number {
  const s = h.segs;
  for (let i = 0; i < s.length; i += 3) {
    if (s[i] <= off && off < s[i + 1]) return s[i + 2];
  }
  return h.lastTs;
}

/** True when no byte beyond contig can ever be added. */
export function headFull(h: StreamHead): boolean {
  return h.contig >= h.limit;
}

/**
 * Moves the window start to window offset `to` (> 0): bytes before it are dropped, and so are
 * bytes that arrive for them later. `to` may lie beyond contig: the bytes in between are skipped
 * unseen. Offsets held by the caller must be lowered by `to`.
 */
export function headSlide(h: StreamHead, to: number): void {
  if (to <= 0) return;
  h.base = (h.base + to) >>> 0;
  if (to < h.contig) h.buf.copy(h.buf, 0, to, h.contig);
  h.contig = Math.max(0, h.contig - to);
  shiftRanges(h.holes, to, 2);
  shiftRanges(h.segs, to, 3);
  // Out-of-order bytes the window already held beyond `to` move down with it.
  for (let i = 0; i < h.holes.length; i += 2) {
    const from = h.holes[i] + to;
    h.buf.copy(h.buf, h.holes[i], from, h.holes[i + 1] + to);
  }
  absorbHoles(h);
}

/** Lowers [start, end, ...] records (stride 2 or 3) by `by`; drops those that end at or before 0, clamps the rest at 0. */
function shiftRanges(r: number[], by: number, stride: number): void {
  let k = 0;
  for (let i = 0; i < r.length; i += stride) {
    const e = r[i + 1] - by;
    if (e <= 0) continue;
    r[k] = Math.max(0, r[i] - by);
    r[k + 1] = e;
    if (stride === 3) r[k + 2] = r[i + 2];
    k += stride;
  }
  r.length = k;
}

/** Frees the buffer once the parsers are done with this direction. */
export function headRelease(h: StreamHead): void {
  h.buf = EMPTY;
  h.holes.length = 0;
  h.segs.length = 0;
  h.limit = 0;
}

function ensureCapacity(h: StreamHead, end: number): void {
  if (h.buf.length >= end) return;
  let cap = h.buf.length === 0 ? 2048 : h.buf.length * 2;
  while (cap < end) cap *= 2;
  if (cap > h.limit) cap = h.limit;
  const next = Buffer.allocUnsafe(cap);
  h.buf.copy(next, 0, 0, h.buf.length);
  h.buf = next;
}

function noteSegment(h: StreamHead, rel: number, end: number, ts: number): void {
  if (h.segs.length < MAX_SEGS * 3) h.segs.push(rel, end, ts);
}

/**
 * Copies the bytes for stream range [from, end) that are not already present
 * (present: below contig, or inside a kept range). `shift` maps a stream offset to src.
 */
function copyMissing(h: StreamHead, src: Buffer, shift: number, from: number, end: number): void {
  let pos = Math.max(from, h.contig);
  const r = h.holes;
  for (let i = 0; i < r.length && pos < end; i += 2) {
    const rs = r[i];
    const re = r[i + 1];
    if (re <= pos) continue;
    if (rs >= end) break;
    if (rs > pos) src.copy(h.buf, pos, pos + shift, rs + shift);
    pos = re;
  }
  if (pos < end) src.copy(h.buf, pos, pos + shift, end + shift);
}

function absorbHoles(h: StreamHead): void {
  const r = h.holes;
  let k = 0;
  while (k < r.length && r[k] <= h.contig) {
    if (r[k + 1] > h.contig) h.contig = r[k + 1];
    k += 2;
  }
  if (k > 0) r.splice(0, k);
}
