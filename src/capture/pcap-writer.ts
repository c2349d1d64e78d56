/**
 * Classic pcap writer (pcap-savefile(5)): either byte order, microsecond or nanosecond magic,
 * any link type and snaplen. Builds test and benchmark inputs; buffered like the pcapng writer.
 */
import { closeSink, commit, openSink, reserve, type FileSink } from './file-sink.js';
import { withGetters } from '../fast-object.js';

export interface PcapWriterOptions {
  linktype: number;
  /** Default 262144. */
  snaplen?: number;
  /** Default true. */
  littleEndian?: boolean;
  /** Nanosecond timestamps (magic a1b23c4d); default false (microseconds, a1b2c3d4). */
  nano?: boolean;
  mode?: number;
}

export interface PcapWriter {
  writePacket(tsUs: number, buf: Buffer, off: number, caplen: number, origLen: number): void;
  close(): void;
  readonly bytesWritten: number;
}

export function createPcapWriter(path: string, opts: PcapWriterOptions): PcapWriter {
  const sink: FileSink = openSink(path, opts.mode);
  const le = opts.littleEndian ?? true;
  const nano = opts.nano ?? false;
  const w32 = (v: number, at: number): void => {
    if (le) sink.buf.writeUInt32LE(v, at);
    else sink.buf.writeUInt32BE(v, at);
  };
  const w16 = (v: number, at: number): void => {
    if (le) sink.buf.writeUInt16LE(v, at);
    else sink.buf.writeUInt16BE(v, at);
  };
  let at = reserve(sink, 24);
  w32(nano ? 0xa1b23c4d : 0xa1b2c3d4, at);
  w16(2, at + 4);
  w16(4, at + 6);
  w32(0, at + 8); // thiszone
  w32(0, at + 12); // sigfigs
  w32(opts.snaplen ?? 262144, at + 16);
  w32(opts.linktype >>> 0, at + 20);
  commit(sink, 24);
  const writer: Omit<PcapWriter, 'bytesWritten'> = {
    writePacket(tsUs, buf, off, caplen, origLen) {
      if (caplen < 0 || off < 0 || off + caplen > buf.length) throw new RangeError(`pcap writer: packet bytes [${off}, ${off + caplen}) outside a ${buf.length}-byte buffer`);
      let sec = Math.floor(tsUs / 1e6);
      let frac = Math.round((tsUs - sec * 1e6) * (nano ? 1000 : 1));
      const perSec = nano ? 1e9 : 1e6;
      if (frac >= perSec) {
        sec += 1;
        frac -= perSec;
      }
      at = reserve(sink, 16 + caplen);
      w32(sec, at);
      w32(frac, at + 4);
      w32(caplen, at + 8);
      w32(origLen, at + 12);
      buf.copy(sink.buf, at + 16, off, off + caplen);
      commit(sink, 16 + caplen);
    },
    close() {
      closeSink(sink);
    },
  };
  return withGetters(writer, { bytesWritten: () => sink.total });
}
