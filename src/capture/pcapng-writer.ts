/**
 * Small synchronous pcapng writer (draft-ietf-opsawg-pcapng): one section, interfaces (IDB with
 * if_name and if_tsresol), packets (EPB with an optional opt_comment). Used for evidence files
 * and to build test inputs.
 *
 * Our own because no maintained npm package writes (or reads) pcapng.
 */
import { closeSink, commit, openSink, reserve, type FileSink } from './file-sink.js';
import { usToUnits } from './pcapng-timestamp.js';
import { withGetters } from '../fast-object.js';

export interface PcapngWriterOptions {
  /** Byte order of the section (default true: little-endian). */
  littleEndian?: boolean;
  /** shb_userappl: the application that wrote the file. */
  userAppl?: string;
  /** File mode, e.g. 0o600 for evidence. */
  mode?: number;
}

export interface PcapngInterface {
  linktype: number;
  snaplen: number;
  name?: string;
  /** Timestamp resolution as a power of ten: 6 (µs, the default) or 9 (ns). */
  tsresol?: 6 | 9;
}

export interface PcapngWriter {
  /** Describes an interface; returns its id for writePacket. */
  addInterface(i: PcapngInterface): number;
  /** Writes buf[off, off + caplen) as one packet on interface ifIndex at tsUs µs since the epoch. */
  writePacket(ifIndex: number, tsUs: number, buf: Buffer, off: number, caplen: number, origLen: number, comment?: string | null): void;
  /** Flushes and closes the file. */
  close(): void;
  readonly bytesWritten: number;
}

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 1;
const BT_EPB = 6;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_TSRESOL = 9;

function pad4(n: number): number {
  return (n + 3) & ~3;
}

interface Out {
  sink: FileSink;
  le: boolean;
}

function w16(o: Out, v: number, at: number): void {
  if (o.le) o.sink.buf.writeUInt16LE(v, at);
  else o.sink.buf.writeUInt16BE(v, at);
}
function w32(o: Out, v: number, at: number): void {
  if (o.le) o.sink.buf.writeUInt32LE(v, at);
  else o.sink.buf.writeUInt32BE(v, at);
}

/** Writes one option (code, length, value, zero padding) at `at`; returns the next offset. */
function writeOption(o: Out, at: number, code: number, value: Buffer | string, valueLen: number): number {
  w16(o, code, at);
  w16(o, valueLen, at + 2);
  const b = o.sink.buf;
  if (typeof value === 'string') b.write(value, at + 4, valueLen, 'utf8');
  else value.copy(b, at + 4, 0, valueLen);
  b.fill(0, at + 4 + valueLen, at + 4 + pad4(valueLen));
  return at + 4 + pad4(valueLen);
}

/** Option bytes needed for a string value plus the closing opt_endofopt (0 when there is none). */
function stringOptionLen(byteLen: number): number {
  return 4 + pad4(byteLen);
}

export function createPcapngWriter(path: string, opts: PcapngWriterOptions = {}): PcapngWriter {
  const out: Out = { sink: openSink(path, opts.mode), le: opts.littleEndian ?? true };
  const units: number[] = [];
  const tsParts = [0, 0];
  writeSectionHeader(out, opts.userAppl);
  const writer: Omit<PcapngWriter, 'bytesWritten'> = {
    addInterface(i: PcapngInterface): number {
      writeInterface(out, i);
      units.push(i.tsresol === 9 ? 1e9 : 1e6);
      return units.length - 1;
    },
    writePacket(ifIndex, tsUs, buf, off, caplen, origLen, comment) {
      if (!(ifIndex >= 0 && ifIndex < units.length)) throw new RangeError(`pcapng writer: interface ${ifIndex} was not added`);
      if (caplen < 0 || off < 0 || off + caplen > buf.length) throw new RangeError(`pcapng writer: packet bytes [${off}, ${off + caplen}) outside a ${buf.length}-byte buffer`);
      usToUnits(tsUs, units[ifIndex], tsParts);
      writeEnhancedPacket(out, ifIndex, tsParts[0], tsParts[1], buf, off, caplen, origLen, comment ?? null);
    },
    close() {
      closeSink(out.sink);
    },
  };
  return withGetters(writer, { bytesWritten: () => out.sink.total });
}

function writeSectionHeader(o: Out, userAppl: string | undefined): void {
  const applLen = userAppl === undefined ? 0 : Buffer.byteLength(userAppl);
  const optLen = applLen > 0 ? stringOptionLen(applLen) + 4 : 0;
  const len = 28 + optLen;
  const at = reserve(o.sink, len);
  w32(o, BT_SHB, at);
  w32(o, len, at + 4);
  w32(o, 0x1a2b3c4d, at + 8);
  w16(o, 1, at + 12);
  w16(o, 0, at + 14);
  o.sink.buf.fill(0xff, at + 16, at + 24); // section length -1: not given
  let p = at + 24;
  if (userAppl !== undefined && applLen > 0) {
    p = writeOption(o, p, SHB_USERAPPL, userAppl, applLen);
    w32(o, 0, p);
    p += 4;
  }
  w32(o, len, p);
  commit(o.sink, len);
}

function writeInterface(o: Out, i: PcapngInterface): void {
  const nameLen = i.name === undefined ? 0 : Buffer.byteLength(i.name);
  let optLen = 0;
  if (nameLen > 0) optLen += stringOptionLen(nameLen);
  if (i.tsresol === 9) optLen += 8;
  if (optLen > 0) optLen += 4;
  const len = 20 + optLen;
  const at = reserve(o.sink, len);
  w32(o, BT_IDB, at);
  w32(o, len, at + 4);
  w16(o, i.linktype, at + 8);
  w16(o, 0, at + 10);
  w32(o, i.snaplen, at + 12);
  let p = at + 16;
  if (i.name !== undefined && nameLen > 0) p = writeOption(o, p, IF_NAME, i.name, nameLen);
  if (i.tsresol === 9) {
    w16(o, IF_TSRESOL, p);
    w16(o, 1, p + 2);
    o.sink.buf.writeUInt32BE(0x09000000, p + 4); // value 9 then three padding bytes
    p += 8;
  }
  if (optLen > 0) {
    w32(o, 0, p);
    p += 4;
  }
  w32(o, len, p);
  commit(o.sink, len);
}

function writeEnhancedPacket(
  o: Out, ifIndex: number, high: number, low: number,
  buf: Buffer, off: number, caplen: number, origLen: number, comment: string | null,
): void {
  const commentLen = comment === null ? 0 : Buffer.byteLength(comment);
  const optLen = commentLen > 0 ? stringOptionLen(commentLen) + 4 : 0;
  const dataLen = pad4(caplen);
  const len = 32 + dataLen + optLen;
  const at = reserve(o.sink, len);
  const b = o.sink.buf;
  w32(o, BT_EPB, at);
  w32(o, len, at + 4);
  w32(o, ifIndex, at + 8);
  w32(o, high, at + 12);
  w32(o, low, at + 16);
  w32(o, caplen, at + 20);
  w32(o, origLen, at + 24);
  buf.copy(b, at + 28, off, off + caplen);
  b.fill(0, at + 28 + caplen, at + 28 + dataLen);
  let p = at + 28 + dataLen;
  if (comment !== null && commentLen > 0) {
    p = writeOption(o, p, OPT_COMMENT, comment, commentLen);
    w32(o, 0, p);
    p += 4;
  }
  w32(o, len, p);
  commit(o.sink, len);
}
