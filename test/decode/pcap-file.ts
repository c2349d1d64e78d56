/** Minimal classic pcap writing/reading for tests (µs timestamps, native little-endian). */
import { readFileSync, writeFileSync } from 'node:fs';

export function writePcap(path: string, linktype: number, frames: Buffer[], ts0Us = 1_700_000_000_000_000): void {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(linktype, 20);
  const parts: Buffer[] = [head];
  frames.forEach((f, i) => {
    const rec = Buffer.alloc(16);
    const ts = ts0Us + i * 1000;
    rec.writeUInt32LE(Math.floor(ts / 1e6), 0);
    rec.writeUInt32LE(ts % 1e6, 4);
    rec.writeUInt32LE(f.length, 8);
    rec.writeUInt32LE(f.length, 12);
    parts.push(rec, f);
  });
  writeFileSync(path, Buffer.concat(parts));
}

export interface PcapRecord { ts: number; caplen: number; origLen: number; off: number }

/** Reads a classic pcap (either byte order, µs or ns magic): the whole file and its records. */
export function readPcap(path: string): { buf: Buffer; linktype: number; records: PcapRecord[] } {
  const buf = readFileSync(path);
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  if (!le && magic !== 0xd4c3b2a1 && magic !== 0x4d3cb2a1) throw new Error('not a classic pcap');
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linktype = u32(20) & 0xffff;
  const records: PcapRecord[] = [];
  for (let o = 24; o + 16 <= buf.length;) {
    const caplen = u32(o + 8);
    const ts = u32(o) * 1e6 + (nano ? Math.floor(u32(o + 4) / 1000) : u32(o + 4));
    records.push({ ts, caplen, origLen: u32(o + 12), off: o + 16 });
    o += 16 + caplen;
  }
  return { buf, linktype, records };
}
