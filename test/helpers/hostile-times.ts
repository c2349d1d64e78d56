/**
 * Hostile timestamps written into copies of real captures (the committed fixtures), so a test
 * imports real traffic with a few packets whose clock is broken. Each function returns the facts
 * it planted, for the test to check against independently of our readers.
 * Little-endian files only (every fixture is): anything else throws.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const SHB = 0x0a0d0d0a;
const IDB = 1;
const EPB = 6;
const IF_TSOFFSET = 14;

interface Block { type: number; at: number; len: number }

function blocks(buf: Buffer): Block[] {
  if (buf.readUInt32LE(0) !== SHB || buf.readUInt32LE(8) !== 0x1a2b3c4d) throw new Error('not a little-endian pcapng');
  const out: Block[] = [];
  for (let at = 0; at < buf.length; ) {
    const len = buf.readUInt32LE(at + 4);
    out.push({ type: buf.readUInt32LE(at), at, len });
    at += len;
  }
  return out;
}

/**
 * Copy of `src` whose `iface`-th interface block (0-based) gains if_tsoffset = `offsetS` seconds
 * (the option goes first, before the block's own options). Returns that interface's EPB count.
 */
export function withTsOffset(src: string, dst: string, iface: number, offsetS: bigint): { packetsOnIface: number } {
  const buf = readFileSync(src);
  const all = blocks(buf);
  const idb = all.filter((b) => b.type === IDB)[iface];
  const opt = Buffer.alloc(12);
  opt.writeUInt16LE(IF_TSOFFSET, 0);
  opt.writeUInt16LE(8, 2);
  opt.writeBigInt64LE(offsetS, 4);
  const fixed = 16; // type, length, linktype + reserved, snaplen
  const head = Buffer.from(buf.subarray(idb.at, idb.at + fixed));
  head.writeUInt32LE(idb.len + opt.length, 4);
  const rest = buf.subarray(idb.at + fixed, idb.at + idb.len - 4);
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32LE(idb.len + opt.length, 0);
  writeFileSync(dst, Buffer.concat([buf.subarray(0, idb.at), head, opt, rest, trailer, buf.subarray(idb.at + idb.len)]));
  const packetsOnIface = all.filter((b) => b.type === EPB && buf.readUInt32LE(b.at + 8) === iface).length;
  return { packetsOnIface };
}

/** Copy of `src` with the timestamp of its `nth` EPB (0-based) set to `high:low`. Returns the block's byte offset. */
export function withEpbTimestamp(src: string, dst: string, nth: number, high: number, low: number): { at: number } {
  const buf = Buffer.from(readFileSync(src));
  const epb = blocks(buf).filter((b) => b.type === EPB)[nth];
  buf.writeUInt32LE(high, epb.at + 12);
  buf.writeUInt32LE(low, epb.at + 16);
  writeFileSync(dst, buf);
  return { at: epb.at };
}

/** Copy of a classic little-endian pcap with record `i`'s seconds set to `sec` (for each [i, sec]). */
export function withPcapSeconds(src: string, dst: string, changes: [number, number][]): void {
  const buf = Buffer.from(readFileSync(src));
  const magic = buf.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error('not a little-endian pcap');
  const at: number[] = [];
  for (let o = 24; o < buf.length; o += 16 + buf.readUInt32LE(o + 8)) at.push(o);
  for (const [i, sec] of changes) buf.writeUInt32LE(sec, at[i]);
  writeFileSync(dst, buf);
}
