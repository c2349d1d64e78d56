import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha1Short } from '../../src/flows/sha1-block.js';

describe('sha1Short', () => {
  it('FIPS 180 example "abc" and the empty message', () => {
    const out = Buffer.alloc(20);
    sha1Short(Buffer.from('abc'), 3, out);
    expect(out.toString('hex')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    sha1Short(Buffer.alloc(0), 0, out);
    expect(out.toString('hex')).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
  });

  it('agrees with node:crypto (OpenSSL) for every length 0..55', () => {
    const out = Buffer.alloc(20);
    for (let len = 0; len <= 55; len++) {
      const msg = Buffer.alloc(len);
      for (let i = 0; i < len; i++) msg[i] = (i * 151 + len * 7 + 0x80) & 0xff;
      sha1Short(msg, len, out);
      expect(out.toString('hex'), `length ${len}`).toBe(createHash('sha1').update(msg).digest('hex'));
    }
  });

  it('refuses messages that need a second block', () => {
    expect(() => sha1Short(Buffer.alloc(56), 56, Buffer.alloc(20))).toThrow(RangeError);
  });
});
