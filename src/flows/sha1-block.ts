/**
 * SHA-1 (FIPS 180-4) of a message short enough to pad into one 64-byte block (at most 55
 * bytes), as the Community ID hash input always is (at most 40). Pure JS on int32s: for such
 * tiny inputs this is several times faster than a round trip through node:crypto, and the
 * flow table calls it once per new flow. Writes the 20-byte digest into `out`.
 */
const W = new Int32Array(80);

export function sha1Short(msg: Uint8Array, len: number, out: Uint8Array): void {
  if (len > 55) throw new RangeError('sha1Short: message longer than 55 bytes');
  W.fill(0, 0, 16);
  for (let i = 0; i < len; i++) W[i >> 2] |= msg[i] << (24 - 8 * (i & 3));
  W[len >> 2] |= 0x80 << (24 - 8 * (len & 3));
  W[15] = len * 8;
  for (let t = 16; t < 80; t++) {
    const x = W[t - 3] ^ W[t - 8] ^ W[t - 14] ^ W[t - 16];
    W[t] = (x << 1) | (x >>> 31);
  }
  let a = 0x67452301;
  let b = 0xefcdab89 | 0;
  let c = 0x98badcfe | 0;
  let d = 0x10325476;
  let e = 0xc3d2e1f0 | 0;
  for (let t = 0; t < 80; t++) {
    let f: number;
    let k: number;
    if (t < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (t < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc | 0;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6 | 0;
    }
    const temp = (((a << 5) | (a >>> 27)) + f + e + k + W[t]) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = temp;
  }
  writeWord(out, 0, (a + 0x67452301) | 0);
  writeWord(out, 4, (b + 0xefcdab89) | 0);
  writeWord(out, 8, (c + 0x98badcfe) | 0);
  writeWord(out, 12, (d + 0x10325476) | 0);
  writeWord(out, 16, (e + 0xc3d2e1f0) | 0);
}

function writeWord(out: Uint8Array, at: number, w: number): void {
  out[at] = w >>> 24;
  out[at + 1] = (w >>> 16) & 0xff;
  out[at + 2] = (w >>> 8) & 0xff;
  out[at + 3] = w & 0xff;
}
