/**
 * pcapng reader (draft-ietf-opsawg-pcapng): sections in either byte order, interfaces (IDB),
 * packets (EPB, SPB, obsolete PB), statistics (ISB drops), name resolution (NRB) and Apple's
 * process blocks with their packet options (pcapng-darwin.ts); every other block is skipped by its length.
 *
 * Our own because no maintained npm package reads (and writes) pcapng; the few that exist are
 * abandoned, stream-based and allocate per packet.
 *
 * Interface numbers: each section restarts its interface ids at 0; we number interfaces across
 * the whole file in the order their IDBs appear (Packet.iface and InterfaceInfo.index), which
 * is what the draft means by interfaces belonging to their section (tshark 4.0 instead shows
 * section-local ids in frame.interface_id, and then the wrong interface names).
 *
 * Corruption policy: a block whose length is not a multiple of 4, below 12, above 64 MiB, past
 * the end of the file, or whose trailing copy differs, ends the read with a warning naming its
 * byte offset; what came before is kept. Only an unusable first section header throws.
 */
import type { InterfaceInfo, Packet } from './packet.js';
import { newPacket } from './packet.js';
import { type FileWindow, at } from './file-window.js';
import { CaptureFileError, type ReadResult } from './read-result.js';
import { emptyResult, stopAt, truncatedAt } from './result.js';
import { unitsPerSecond, unitsToUs } from './pcapng-timestamp.js';
import { u16 as u16Of, u32 as u32Of } from './byte-order.js';
import {
  BT_DARWIN_PROCESS, type DarwinState, clearPacketOptions, darwinSection, newDarwinState, readPacketOptions,
  readProcessBlock, sectionHasProcesses,
} from './pcapng-darwin.js';

export const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 1;
const BT_PB = 2;
const BT_SPB = 3;
const BT_NRB = 4;
const BT_ISB = 5;
const BT_EPB = 6;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** No sane block is this big (a packet is at most 256 KiB); a bigger length means corruption. */
export const MAX_BLOCK_LEN = 64 * 1024 * 1024;

const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;
const ISB_IFDROP = 5;
const NRB_END = 0;
const NRB_IPV4 = 1;
const NRB_IPV6 = 2;

/** Per-read state; plain data so the per-block functions stay small (shared with pcapng-stream.ts). */
export interface NgState {
  r: ReadResult;
  path: string;
  le: boolean;
  /** Section-local interface id -> properties (reset by every SHB). */
  ifLinktype: number[];
  ifSnaplen: number[];
  ifUnits: number[];
  ifOffsetUs: number[];
  /** Global index of the section's interface 0. */
  sectionBase: number;
  /** Latest isb_ifdrop per global interface index (ISB counters are cumulative, not deltas). */
  ifDrop: (number | undefined)[];
  p: Packet;
  onPacket: (p: Packet) => void;
  onInterface: ((info: InterfaceInfo) => void) | undefined;
  /** Timestamp of the last packet, for SPBs which carry none. */
  lastTs: number;
  /** Why reading must stop, set by a block function that returns false. */
  problem: string;
  /** Apple's process blocks (pcapng-darwin.ts). */
  darwin: DarwinState;
}

function u16(s: NgState, b: Buffer, o: number): number {
  return u16Of(b, o, s.le);
}
function u32(s: NgState, b: Buffer, o: number): number {
  return u32Of(b, o, s.le);
}
function pad4(n: number): number {
  return (n + 3) & ~3;
}
function fail(s: NgState, why: string): false {
  s.problem = why;
  return false;
}
function failLen(s: NgState, why: string): number {
  s.problem = why;
  return -1;
}

/**
 * Part of a file to read, by byte offsets of blocks (an evidence index records them).
 * The leading section header and interface blocks are always read; the reader then jumps to
 * `startAt` and stops after the block that starts at or before `endAt`. Interface blocks
 * between the leading ones and `startAt` are not seen, so this suits files whose interfaces are
 * all described up front, as in our evidence segments; a packet naming an interface not seen
 * ends the read with a warning, as in any file.
 */
export interface BlockRange {
  startAt?: number;
  endAt?: number;
}

/** Reads every block of a pcapng file (or of `range`) from the already opened window. */
export function readPcapng(
  w: FileWindow, onPacket: (p: Packet) => void, range?: BlockRange, onInterface?: (info: InterfaceInfo) => void,
): ReadResult {
  const s = newNgState(emptyResult('pcapng', w), w.path, onPacket, onInterface);
  const r = s.r;
  const size = w.fileSize;
  const startAt = range?.startAt ?? 0;
  const endAt = range?.endAt ?? Infinity;
  let pos = 0;
  while (pos < size && pos <= endAt) {
    if (pos > 0 && pos < startAt && !isLeadingHeader(s, w, pos)) pos = startAt;
    const len = readBlock(s, w, pos);
    if (len < 0) {
      if (pos === 0) throw new CaptureFileError(`${w.path} is not a usable pcapng file: ${s.problem}`);
      stopAt(r, pos, s.problem);
      break;
    }
    pos += len;
    r.bytesRead = pos;
  }
  finishDrops(s);
  return r;
}

/** The state of one read, file or stream (pcapng-stream.ts). */
export function newNgState(
  r: ReadResult, path: string, onPacket: (p: Packet) => void, onInterface: ((info: InterfaceInfo) => void) | undefined,
): NgState {
  const s: NgState = {
    r,
    path,
    le: true,
    ifLinktype: [],
    ifSnaplen: [],
    ifUnits: [],
    ifOffsetUs: [],
    sectionBase: 0,
    ifDrop: [],
    p: newPacket(),
    onPacket,
    onInterface,
    lastTs: 0,
    problem: '',
    darwin: newDarwinState(),
  };
  s.p.pktapProcesses = s.darwin.processes;
  return s;
}

/** True when the block at `pos` is a section header or interface block (or cannot be peeked). */
function isLeadingHeader(s: NgState, w: FileWindow, pos: number): boolean {
  const o = at(w, pos, 4);
  if (o < 0) return true; // let readBlock report the truncation where it is
  const type = u32(s, w.buf, o);
  return type === BT_SHB || type === BT_IDB;
}

/** Reads and handles the block at `pos`; returns its length, or -1 with s.problem set. */
function readBlock(s: NgState, w: FileWindow, pos: number): number {
  const remain = w.fileSize - pos;
  let o = at(w, pos, 12);
  if (o < 0) return failLen(s, headerTruncated(pos, remain));
  const len = blockLength(s, w.buf, o, pos);
  if (len < 0) return -1;
  if (len > remain) return failLen(s, blockTruncated(s, w.buf, o, pos, len, remain));
  o = at(w, pos, len);
  return handleBlock(s, w.buf, o, len, pos) ? len : -1;
}

/** Why a read stopped at `pos` with fewer than 12 bytes left (a file or a stream that ended there). */
export function headerTruncated(pos: number, remain: number): string {
  return `truncated at byte ${pos}: block header needs 12 bytes, ${remain} remain`;
}

/** Why a read stopped at `pos` inside the block whose header is at b[o]. */
export function blockTruncated(s: NgState, b: Buffer, o: number, pos: number, len: number, remain: number): string {
  return `truncated at byte ${pos}: block of type ${u32(s, b, o)} needs ${len} bytes, ${remain} remain`;
}

/**
 * The length of the block whose 12 header bytes are at b[o] (stream offset `pos`), checked; an SHB
 * sets the section's byte order first. -1 with s.problem set when the header is unusable.
 */
export function blockLength(s: NgState, b: Buffer, o: number, pos: number): number {
  // The SHB type reads the same in both byte orders; its byte-order magic sets the section's.
  const type = u32(s, b, o);
  if (type === BT_SHB) {
    const bom = b.readUInt32LE(o + 8);
    if (bom === BYTE_ORDER_MAGIC) s.le = true;
    else if (b.readUInt32BE(o + 8) === BYTE_ORDER_MAGIC) s.le = false;
    else return failLen(s, `corrupt section header at byte ${pos}: byte-order magic is ${b.readUInt32BE(o + 8).toString(16).padStart(8, '0')}, not 1a2b3c4d`);
  }
  const len = u32(s, b, o + 4);
  if (len < 12 || len % 4 !== 0) return failLen(s, `corrupt block at byte ${pos}: length ${len} is not a multiple of 4 of at least 12`);
  if (len > MAX_BLOCK_LEN) return failLen(s, `corrupt block at byte ${pos}: length ${len} exceeds the 64 MiB limit`);
  return len;
}

/** Handles the whole block of `len` bytes at b[o] (stream offset `pos`); false with s.problem set. */
export function handleBlock(s: NgState, b: Buffer, o: number, len: number, pos: number): boolean {
  const type = u32(s, b, o);
  const trailer = u32(s, b, o + len - 4);
  if (trailer !== len) return fail(s, `corrupt block at byte ${pos}: trailing length ${trailer} differs from leading length ${len}`);
  const body = o + 8;
  const end = o + len - 4;
  switch (type) {
    case BT_EPB: return packetBlock(s, b, body, end, pos, false);
    case BT_SPB: return simplePacket(s, b, body, end, pos);
    case BT_PB: return packetBlock(s, b, body, end, pos, true);
    case BT_IDB: return interfaceBlock(s, b, body, end, pos);
    case BT_SHB: return sectionHeader(s, b, body, end, pos);
    case BT_ISB: return statisticsBlock(s, b, body, end, pos);
    case BT_NRB: return nameResolution(s, b, body, end);
    case BT_DARWIN_PROCESS: return processBlock(s, b, body, end, pos);
    default: return true; // unknown, custom, decryption secrets...: not ours to read
  }
}

function sectionHeader(s: NgState, b: Buffer, body: number, end: number, pos: number): boolean {
  if (end - body < 16) return fail(s, `corrupt section header at byte ${pos}: too short (${end - body + 12} bytes)`);
  const major = u16(s, b, body + 4);
  const minor = u16(s, b, body + 6);
  if (major !== 1) return fail(s, `unsupported pcapng version ${major}.${minor} at byte ${pos} (only 1.x is read)`);
  s.sectionBase = s.r.interfaces.length;
  s.ifLinktype.length = 0;
  s.ifSnaplen.length = 0;
  s.ifUnits.length = 0;
  s.ifOffsetUs.length = 0;
  darwinSection(s.darwin);
  return true;
}

/** Apple's Process Information Block: one more entry of the section's process table. */
function processBlock(s: NgState, b: Buffer, body: number, end: number, pos: number): boolean {
  const problem = readProcessBlock(s.darwin, b, body, end, s.le);
  return problem === null || fail(s, `${problem} at byte ${pos}`);
}

function interfaceBlock(s: NgState, b: Buffer, body: number, end: number, pos: number): boolean {
  if (end - body < 8) return fail(s, `corrupt interface block at byte ${pos}: too short`);
  const linktype = u16(s, b, body);
  const snaplen = u32(s, b, body + 4);
  let name: string | null = null;
  let description: string | null = null;
  let units = 1e6;
  let offsetUs = 0;
  let o = body + 8;
  while (o + 4 <= end) {
    const code = u16(s, b, o);
    const olen = u16(s, b, o + 2);
    const v = o + 4;
    if (code === OPT_ENDOFOPT || v + olen > end) break;
    if (code === IF_NAME) name = b.toString('utf8', v, v + olen);
    else if (code === IF_DESCRIPTION) description = b.toString('utf8', v, v + olen);
    else if (code === IF_TSRESOL && olen >= 1) units = unitsPerSecond(b[v]);
    else if (code === IF_TSOFFSET && olen >= 8) offsetUs = i64(s, b, v) * 1e6;
    o = v + pad4(olen);
  }
  const index = s.r.interfaces.length;
  const info = { index, linktype, name, description, snaplen };
  s.r.interfaces.push(info);
  s.onInterface?.(info);
  s.ifLinktype.push(linktype);
  s.ifSnaplen.push(snaplen);
  s.ifUnits.push(units);
  s.ifOffsetUs.push(offsetUs);
  return true;
}

function i64(s: NgState, b: Buffer, o: number): number {
  return Number(s.le ? b.readBigInt64LE(o) : b.readBigInt64BE(o));
}
function u64(s: NgState, b: Buffer, o: number): number {
  return Number(s.le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
}

/** EPB (type 6) or the obsolete PB (type 2, 16-bit interface id); both carry the same fields. */
function packetBlock(s: NgState, b: Buffer, body: number, end: number, pos: number, obsolete: boolean): boolean {
  if (end - body < 20) return fail(s, `corrupt packet block at byte ${pos}: too short`);
  const id = obsolete ? u16(s, b, body) : u32(s, b, body);
  if (id >= s.ifLinktype.length) {
    return fail(s, `corrupt packet block at byte ${pos}: interface ${id} not described (section has ${s.ifLinktype.length})`);
  }
  const high = u32(s, b, body + 4);
  const low = u32(s, b, body + 8);
  const caplen = u32(s, b, body + 12);
  const origLen = u32(s, b, body + 16);
  const data = body + 20;
  if (caplen > end - data) {
    return fail(s, `corrupt packet block at byte ${pos}: captured length ${caplen} exceeds the block's ${end - data} data bytes`);
  }
  const p = s.p;
  p.ts = unitsToUs(high, low, s.ifUnits[id]) + s.ifOffsetUs[id];
  s.lastTs = p.ts;
  p.caplen = caplen;
  p.origLen = origLen;
  p.linktype = s.ifLinktype[id];
  p.iface = s.sectionBase + id;
  p.buf = b;
  p.off = data;
  p.comment = findComment(s, b, data + pad4(caplen), end);
  clearPacketOptions(p);
  if (sectionHasProcesses(s.darwin)) readPacketOptions(s.darwin, p, b, data + pad4(caplen), end, s.le);
  s.r.packets++;
  s.onPacket(p);
  return true;
}

/**
 * Every opt_comment in [o, end), joined with "\n"; decoded only when present. ptcpdump writes
 * several comments per packet (pid/cmd, parent, container...), so keeping only the first would lose them.
 */
function findComment(s: NgState, b: Buffer, o: number, end: number): string | null {
  let out: string | null = null;
  while (o + 4 <= end) {
    const code = u16(s, b, o);
    const olen = u16(s, b, o + 2);
    const v = o + 4;
    if (code === OPT_ENDOFOPT || v + olen > end) break;
    if (code === OPT_COMMENT) {
      const text = b.toString('utf8', v, v + olen);
      out = out === null ? text : `${out}\n${text}`;
    }
    o = v + pad4(olen);
  }
  return out;
}

/** SPB (type 3): interface 0, no timestamp (the previous packet's is used), no options. */
function simplePacket(s: NgState, b: Buffer, body: number, end: number, pos: number): boolean {
  if (end - body < 4) return fail(s, `corrupt simple packet block at byte ${pos}: too short`);
  if (s.ifLinktype.length === 0) return fail(s, `corrupt simple packet block at byte ${pos}: no interface described`);
  const origLen = u32(s, b, body);
  const data = body + 4;
  const snaplen = s.ifSnaplen[0];
  let caplen = Math.min(origLen, end - data);
  if (snaplen > 0 && snaplen < caplen) caplen = snaplen;
  const p = s.p;
  p.ts = s.lastTs;
  p.caplen = caplen;
  p.origLen = origLen;
  p.linktype = s.ifLinktype[0];
  p.iface = s.sectionBase;
  p.buf = b;
  p.off = data;
  p.comment = null;
  clearPacketOptions(p);
  s.r.packets++;
  s.onPacket(p);
  return true;
}

function statisticsBlock(s: NgState, b: Buffer, body: number, end: number, pos: number): boolean {
  if (end - body < 12) return fail(s, `corrupt statistics block at byte ${pos}: too short`);
  const id = u32(s, b, body);
  if (id >= s.ifLinktype.length) return true; // statistics for nothing we know: harmless, ignore
  let o = body + 12;
  while (o + 4 <= end) {
    const code = u16(s, b, o);
    const olen = u16(s, b, o + 2);
    const v = o + 4;
    if (code === OPT_ENDOFOPT || v + olen > end) break;
    if (code === ISB_IFDROP && olen >= 8) s.ifDrop[s.sectionBase + id] = u64(s, b, v);
    o = v + pad4(olen);
  }
  return true;
}

/** Sets the result's drops from the latest isb_ifdrop of each interface. */
export function finishDrops(s: NgState): void {
  let total: number | null = null;
  for (const d of s.ifDrop) if (d !== undefined) total = (total ?? 0) + d;
  s.r.drops = total;
}

/** NRB (type 4): ipv4/ipv6 records, each an address followed by NUL-terminated names. */
function nameResolution(s: NgState, b: Buffer, body: number, end: number): boolean {
  let o = body;
  while (o + 4 <= end) {
    const type = u16(s, b, o);
    const rlen = u16(s, b, o + 2);
    const v = o + 4;
    if (type === NRB_END || v + rlen > end) break;
    const alen = type === NRB_IPV4 ? 4 : type === NRB_IPV6 ? 16 : 0;
    if (alen > 0 && rlen > alen) {
      const addr = alen === 4 ? ipv4Text(b, v) : ipv6Text(b, v);
      const names = b.toString('utf8', v + alen, v + rlen).split('\0').filter((n) => n.length > 0);
      if (names.length > 0) s.r.nameResolution.push({ addr, names });
    }
    o = v + pad4(rlen);
  }
  return true;
}

function ipv4Text(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** RFC 5952 text: lower-case hex, leading zeros dropped, the longest run (>= 2) of zero groups as "::". */
export function ipv6Text(b: Buffer, o: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(o + i * 2));
  let bestAt = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = (from: number, to: number): string => g.slice(from, to).map((x) => x.toString(16)).join(':');
  if (bestLen < 2) return hex(0, 8);
  return `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}
