/**
 * A big-endian copy of a little-endian pcapng file: every header field and every numeric option
 * swapped, packet bytes, strings and UUIDs left alone. Knows the blocks of the Apple captures
 * (SHB, IDB, EPB, Apple's PIB) and fails on any other, so a test never reads a half-swapped file.
 * tshark reading the copy like the original is the check that the swap is right.
 */
const SHB = 0x0a0d0d0a;
const IDB = 1;
const EPB = 6;
const PIB = 0x80000001;

/** Option codes whose value is text or raw bytes (kept as is); any other is a number of its length. */
const RAW_OPTIONS: Record<number, number[]> = {
  [SHB]: [1, 2, 3, 4],
  [IDB]: [1, 2, 3, 4, 5, 6, 7, 9, 11, 12, 15],
  [EPB]: [1, 3, 0x8009],
  [PIB]: [1, 2, 3, 4],
};

export function toBigEndian(le: Buffer): Buffer {
  const out = Buffer.from(le);
  let pos = 0;
  while (pos < le.length) {
    const type = le.readUInt32LE(pos);
    const len = le.readUInt32LE(pos + 4);
    out.writeUInt32BE(type, pos);
    out.writeUInt32BE(len, pos + 4);
    out.writeUInt32BE(len, pos + len - 4);
    const body = pos + 8;
    const end = pos + len - 4;
    let opts: number;
    if (type === SHB) {
      out.writeUInt32BE(le.readUInt32LE(body), body);
      out.writeUInt16BE(le.readUInt16LE(body + 4), body + 4);
      out.writeUInt16BE(le.readUInt16LE(body + 6), body + 6);
      out.writeBigInt64BE(le.readBigInt64LE(body + 8), body + 8);
      opts = body + 16;
    } else if (type === IDB) {
      out.writeUInt16BE(le.readUInt16LE(body), body);
      out.writeUInt32BE(le.readUInt32LE(body + 4), body + 4);
      opts = body + 8;
    } else if (type === EPB) {
      for (let i = 0; i < 5; i++) out.writeUInt32BE(le.readUInt32LE(body + i * 4), body + i * 4);
      opts = body + 20 + ((le.readUInt32LE(body + 12) + 3) & ~3);
    } else if (type === PIB) {
      out.writeUInt32BE(le.readUInt32LE(body), body);
      opts = body + 4;
    } else {
      throw new Error(`toBigEndian: block type ${type.toString(16)} at ${pos} not known`);
    }
    swapOptions(le, out, opts, end, RAW_OPTIONS[type]);
    pos += len;
  }
  return out;
}

function swapOptions(le: Buffer, out: Buffer, o: number, end: number, raw: number[]): void {
  while (o + 4 <= end) {
    const code = le.readUInt16LE(o);
    const olen = le.readUInt16LE(o + 2);
    out.writeUInt16BE(code, o);
    out.writeUInt16BE(olen, o + 2);
    if (code === 0) return;
    const v = o + 4;
    if (!raw.includes(code)) {
      if (olen === 2) out.writeUInt16BE(le.readUInt16LE(v), v);
      else if (olen === 4) out.writeUInt32BE(le.readUInt32LE(v), v);
      else if (olen === 8) out.writeBigUInt64BE(le.readBigUInt64LE(v), v);
    }
    o = v + ((olen + 3) & ~3);
  }
}
