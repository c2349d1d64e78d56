import { describe, expect, it } from 'vitest';
import { addrToString, isLoopback, isMulticastOrBroadcast, isPrivate } from '../../src/decode/addr.js';
import { ip4, ip6 } from './frames.js';
import { mulberry32, randomInt } from '../helpers/seeded-random.js';

function hexBytes(h: string): Buffer {
  return Buffer.from(h.replace(/[: ]/g, ''), 'hex');
}

describe('addrToString', () => {
  it('prints IPv4 dotted quads, also at an offset', () => {
    expect(addrToString(Buffer.from([192, 0, 2, 255]))).toBe('192.0.2.255');
    expect(addrToString(Buffer.from([9, 9, 0, 0, 0, 1, 7]), 2, 4)).toBe('0.0.0.1');
  });

  it('follows RFC 5952 (section 4 examples and rules)', () => {
    const cases: [string, string][] = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],          // 4.2.1 shorten, 4.1 no leading zeros
      ['2001:0db8:0000:0001:0001:0001:0001:0001', '2001:db8:0:1:1:1:1:1'], // 4.2.2 a single 0 word stays
      ['2001:0000:0000:0001:0000:0000:0000:0001', '2001:0:0:1::1'],        // 4.2.3 the longest run
      ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],    // 4.2.3 first of equal runs
      ['20010DB8ABCDEF00000000000000000A', '2001:db8:abcd:ef00::a'],      // 4.3 lowercase
      ['0000:0000:0000:0000:0000:0000:0000:0000', '::'],
      ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
      ['0001:0000:0000:0000:0000:0000:0000:0000', '1::'],
      ['fe80:0000:0000:0000:0200:5eff:fe00:5301', 'fe80::200:5eff:fe00:5301'],
      ['0000:0000:0000:0000:0000:ffff:c000:0201', '::ffff:192.0.2.1'],     // 5: IPv4-mapped
      ['0000:0000:0000:0000:ffff:0000:c000:0201', '::ffff:0:c000:201'],    // not mapped: hex
    ];
    for (const [bytes, text] of cases) expect(addrToString(hexBytes(bytes))).toBe(text);
  });

  it('agrees with the WHATWG URL serializer (same compression rules) on varied addresses', () => {
    // Deterministic pseudo-random words with many zeros, so runs of every length and position occur.
    const rand = mulberry32(12345);
    const rnd = () => randomInt(rand, 0x10000);
    for (let n = 0; n < 500; n++) {
      const b = Buffer.alloc(16);
      for (let w = 0; w < 8; w++) b.writeUInt16BE(rnd() % 3 === 0 ? rnd() : 0, 2 * w);
      if (b.subarray(0, 12).equals(Buffer.from('00000000000000000000ffff', 'hex'))) continue;
      const full = [...Array(8).keys()].map((w) => b.readUInt16BE(2 * w).toString(16)).join(':');
      const viaUrl = new URL(`http://[${full}]/`).hostname.slice(1, -1);
      expect(addrToString(b)).toBe(viaUrl);
    }
  });

  it('rejects other lengths', () => {
    expect(() => addrToString(Buffer.alloc(5))).toThrow(RangeError);
  });
});

describe('address classes', () => {
  it('loopback', () => {
    for (const a of ['127.0.0.1', '127.255.0.9']) expect(isLoopback(ip4(a))).toBe(true);
    expect(isLoopback(ip6('::1'))).toBe(true);
    expect(isLoopback(hexBytes('00000000000000000000ffff7f000001'))).toBe(true);
    for (const a of ['128.0.0.1', '10.0.0.1']) expect(isLoopback(ip4(a))).toBe(false);
    for (const a of ['::', '::2', '1::1']) expect(isLoopback(ip6(a))).toBe(false);
  });

  it('private: RFC 1918, CGNAT, link-local, ULA; edges of each range', () => {
    const yes4 = ['10.0.0.0', '10.255.255.255', '172.16.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', '100.127.255.255', '169.254.3.4'];
    const no4 = ['9.255.255.255', '11.0.0.0', '172.15.255.255', '172.32.0.0', '192.169.0.1', '100.63.255.255', '100.128.0.0', '169.253.0.1', '8.8.8.8', '127.0.0.1'];
    for (const a of yes4) expect(isPrivate(ip4(a)), a).toBe(true);
    for (const a of no4) expect(isPrivate(ip4(a)), a).toBe(false);
    for (const a of ['fc00::1', 'fdff::1', 'fe80::1', 'febf::1']) expect(isPrivate(ip6(a)), a).toBe(true);
    for (const a of ['fbff::1', 'fe00::1', 'fec0::1', '2001:db8::1', '::1']) expect(isPrivate(ip6(a)), a).toBe(false);
    expect(isPrivate(hexBytes('00000000000000000000ffffc0a80101'))).toBe(true); // ::ffff:192.168.1.1
  });

  it('multicast and broadcast', () => {
    for (const a of ['224.0.0.251', '239.255.255.250', '255.255.255.255']) expect(isMulticastOrBroadcast(ip4(a)), a).toBe(true);
    for (const a of ['223.255.255.255', '240.0.0.1']) expect(isMulticastOrBroadcast(ip4(a)), a).toBe(false);
    expect(isMulticastOrBroadcast(ip6('ff02::fb'))).toBe(true);
    expect(isMulticastOrBroadcast(ip6('fe80::1'))).toBe(false);
  });
});
