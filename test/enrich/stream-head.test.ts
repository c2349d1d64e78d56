import { describe, expect, it } from 'vitest';
import { headAdd, headFull, headRelease, headSlide, headSyn, headTsAt, newStreamHead } from '../../src/enrich/stream-head.js';

const text = (h: ReturnType<typeof newStreamHead>): string => h.buf.toString('latin1', 0, h.contig);
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('stream head', () => {
  it('starts at SYN seq + 1 and holds back data after a hole until it is filled', () => {
    const h = newStreamHead(64);
    headSyn(h, 999);
    expect(headAdd(h, 1005, b('FGHIJ'), 0, 5, 2)).toBe(false); // offset 5..10: hole at 0..5
    expect(h.contig).toBe(0);
    expect(headAdd(h, 1000, b('ABCDE'), 0, 5, 3)).toBe(true);
    expect(text(h)).toBe('ABCDEFGHIJ');
    expect(headTsAt(h, 7)).toBe(2);
    expect(headTsAt(h, 0)).toBe(3);
  });

  it('without a SYN takes the first data segment as the start', () => {
    const h = newStreamHead(64);
    headAdd(h, 5000, b('hello '), 0, 6, 1);
    headAdd(h, 5006, b('world'), 0, 5, 2);
    expect(text(h)).toBe('hello world');
  });

  it('keeps the first bytes on overlap (retransmission with other bytes cannot rewrite)', () => {
    const h = newStreamHead(64);
    headSyn(h, 0);
    headAdd(h, 1, b('abcdef'), 0, 6, 1);
    // Overlaps 4..8 with different bytes: 'XY' at 4..6 is ignored, 'gh' extends.
    expect(headAdd(h, 5, b('XYgh'), 0, 4, 2)).toBe(true);
    expect(text(h)).toBe('abcdefgh');
    // A pure retransmission changes nothing.
    expect(headAdd(h, 1, b('ZZZZ'), 0, 4, 3)).toBe(false);
    expect(text(h)).toBe('abcdefgh');
  });

  it('merges several out-of-order ranges, including one that overlaps two of them', () => {
    const h = newStreamHead(64);
    headSyn(h, 0xfffffff0); // sequence numbers wrap during this stream
    const base = 0xfffffff1;
    const at = (o: number): number => (base + o) >>> 0;
    headAdd(h, at(20), b('UVWXY'), 0, 5, 1);   // 20..25
    headAdd(h, at(10), b('KLMNO'), 0, 5, 2);   // 10..15
    headAdd(h, at(12), b('mnopqrstuv'), 0, 10, 3); // 12..22: fills 15..20 only
    expect(h.contig).toBe(0);
    expect(headAdd(h, at(0), b('ABCDEFGHIJ'), 0, 10, 4)).toBe(true);
    expect(text(h)).toBe('ABCDEFGHIJKLMNOpqrstUVWXY');
  });

  it('keeps a hole beyond the prefix when the prefix grows short of it', () => {
    const h = newStreamHead(64);
    headSyn(h, 0);
    headAdd(h, 21, b('UVWXY'), 0, 5, 1); // 20..25
    expect(headAdd(h, 1, b('ABCDEFGHIJ'), 0, 10, 2)).toBe(true);
    expect(h.contig).toBe(10);
    headAdd(h, 11, b('KLMNOPQRST'), 0, 10, 3);
    expect(text(h)).toBe('ABCDEFGHIJKLMNOPQRSTUVWXY');
  });

  it('keeps the tail of a segment that starts before the stream start', () => {
    const h = newStreamHead(64);
    headSyn(h, 99); // start = 100
    expect(headAdd(h, 97, b('xyzABC'), 0, 6, 1)).toBe(true);
    expect(text(h)).toBe('ABC');
  });

  it('stops at the budget and reads from the given offset of the source buffer', () => {
    const h = newStreamHead(8);
    headSyn(h, 0);
    const src = b('....0123456789....');
    expect(headAdd(h, 1, src, 4, 10, 1)).toBe(true);
    expect(text(h)).toBe('01234567');
    expect(headFull(h)).toBe(true);
    expect(headAdd(h, 11, b('zz'), 0, 2, 2)).toBe(false);
  });

  it('accepts nothing after release', () => {
    const h = newStreamHead(64);
    headAdd(h, 1, b('abc'), 0, 3, 1);
    headRelease(h);
    expect(headAdd(h, 4, b('def'), 0, 3, 2)).toBe(false);
    expect(h.buf.length).toBe(0);
  });

  it('slides past read bytes: held out-of-order bytes and their times move along, old retransmissions are dropped', () => {
    const h = newStreamHead(16);
    headSyn(h, 99); // stream offset 0 = seq 100
    headAdd(h, 100, b('0123456789'), 0, 10, 1);
    headAdd(h, 112, b('CD'), 0, 2, 2); // a hole at 10..12
    headSlide(h, 6);
    expect(text(h)).toBe('6789');
    expect(h.holes).toEqual([6, 8]);
    expect(headTsAt(h, 0)).toBe(1);
    expect(headTsAt(h, 6)).toBe(2);
    expect(headAdd(h, 103, b('345'), 0, 3, 3)).toBe(false); // before the window: gone for good
    expect(headAdd(h, 110, b('AB'), 0, 2, 4)).toBe(true);
    expect(text(h)).toBe('6789ABCD');
    // The window has room for 16 bytes again from its new start.
    expect(headAdd(h, 114, b('EFGHIJKLMN'), 0, 10, 5)).toBe(true);
    expect(text(h)).toBe('6789ABCDEFGHIJKL');
    expect(headFull(h)).toBe(true);
  });

  it('slides beyond what has arrived: the bytes in between are skipped unseen, a segment straddling the new start keeps its tail', () => {
    const h = newStreamHead(16);
    headSyn(h, 0xfffffffa); // and across the sequence wrap
    headAdd(h, 0xfffffffb, b('HEAD'), 0, 4, 1);
    headSlide(h, 4 + 20); // a 20-byte body follows the head
    expect(h.contig).toBe(0);
    expect(headAdd(h, (0xfffffffb + 4) >>> 0, b('x'.repeat(18)), 0, 18, 2)).toBe(false);
    expect(headAdd(h, (0xfffffffb + 22) >>> 0, b('xxNEXT'), 0, 6, 3)).toBe(true);
    expect(text(h)).toBe('NEXT');
  });
});
