/**
 * Entry point for capture files: opens the file, recognises the format by its first four
 * bytes, and hands it to the pcap or pcapng reader. Synchronous, chunked (see file-window.ts).
 */
import type { Packet } from './packet.js';
import { CaptureFileError, type ReadOptions, type ReadResult } from './read-result.js';
import { at, closeWindow, feedRest, openWindow, type FileWindow } from './file-window.js';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US, readPcap } from './pcap-reader.js';
import { BT_SHB, readPcapng, type BlockRange } from './pcapng-reader.js';

const ACCEPTED = 'accepted formats: pcap (magic a1b2c3d4 or a1b23c4d, either byte order) and pcapng (0a0d0d0a)';

/**
 * Reads a pcap or pcapng file, calling `onPacket` once per packet with one reused Packet whose
 * `buf` is the reader's chunk buffer: copy what you keep. Problems inside the file end the read
 * with a warning and `stoppedAt`; a file that is no capture at all throws CaptureFileError.
 * `startAt`/`endAt` (pcapng only, see BlockRange) read part of a file by block offsets.
 */
export function readCaptureFile(path: string, onPacket: (p: Packet) => void, opts?: ReadOptions & BlockRange): ReadResult {
  const range = opts?.startAt !== undefined || opts?.endAt !== undefined ? opts : undefined;
  if (range && opts?.onBytes) throw new RangeError('onBytes feeds the whole file: not with startAt/endAt');
  const w = openWindow(path, opts?.onProgress, opts?.onBytes, opts?.windowBuffers);
  try {
    const result = dispatch(w, onPacket, range, opts?.onInterface);
    feedRest(w);
    opts?.onProgress?.(result.bytesRead, result.fileSize);
    return result;
  } finally {
    closeWindow(w);
  }
}

function dispatch(
  w: FileWindow, onPacket: (p: Packet) => void, range: BlockRange | undefined, onInterface: ReadOptions['onInterface'],
): ReadResult {
  if (w.fileSize === 0) throw new CaptureFileError(`${w.path} is empty (0 bytes), not a capture file`);
  const o = at(w, 0, Math.min(4, w.fileSize));
  if (w.fileSize < 4) {
    throw new CaptureFileError(`${w.path} is too short to be a capture file (${w.fileSize} bytes: ${describeBytes(w.buf, o, w.fileSize)}); ${ACCEPTED}`);
  }
  const be = w.buf.readUInt32BE(o);
  const le = w.buf.readUInt32LE(o);
  if (be === BT_SHB) return readPcapng(w, onPacket, range, onInterface);
  if (be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS || le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS) {
    if (range) throw new RangeError(`${w.path}: startAt/endAt need a pcapng file, this is classic pcap`);
    return readPcap(w, onPacket);
  }
  const head = at(w, 0, Math.min(8, w.fileSize));
  throw new CaptureFileError(
    `${w.path} is not a capture file: it starts with ${describeBytes(w.buf, head, Math.min(8, w.fileSize))}; ${ACCEPTED}`,
  );
}

/** Hex of the first bytes, plus their text when some are printable (helps spot "PK", "<htm"...). */
function describeBytes(b: Buffer, o: number, n: number): string {
  const hex = b.toString('hex', o, o + n).replace(/(..)(?!$)/g, '$1 ');
  let text = '';
  let printable = 0;
  for (let i = o; i < o + n; i++) {
    const printableByte = b[i] >= 0x20 && b[i] <= 0x7e;
    if (printableByte) printable++;
    text += printableByte ? String.fromCharCode(b[i]) : '.';
  }
  return printable >= 2 ? `${hex} ("${text}")` : hex;
}
