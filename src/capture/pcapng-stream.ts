/**
 * pcapng read as it arrives from a pipe (`tcpdump -w -`): the same block parsing as the file
 * reader (pcapng-reader.ts: blockLength, handleBlock), over a buffer that bytes are appended to.
 * A block that has not fully arrived waits for more bytes; a stream that ends inside a block is a
 * clean stop with the file reader's truncation warning; a corrupt block stops reading with its
 * warning (later bytes are ignored, everything before is kept).
 *
 * Memory: one growable buffer holding the unread tail (at most one block plus a chunk); packets
 * are handed on from it in place, as the file reader does, so nothing is allocated per packet.
 */
import type { InterfaceInfo, Packet } from './packet.js';
import { CaptureFileError, type ReadResult } from './read-result.js';
import { emptyResult, stopAt } from './result.js';
import { BT_SHB, blockLength, blockTruncated, finishDrops, handleBlock, headerTruncated, newNgState, type NgState } from './pcapng-reader.js';
import { withGetters } from '../fast-object.js';

const INITIAL_BUFFER = 256 * 1024;

export interface PcapngStream {
  /** Appends bytes and hands on every block they complete. Throws CaptureFileError when the stream does not start as pcapng. */
  push(chunk: Buffer): void;
  /** The stream ended: a block left incomplete becomes the truncation warning. Returns the result (also `result`). */
  end(): ReadResult;
  /** What was read so far: packets, interfaces, drops (ISB isb_ifdrop), warnings, bytesRead. */
  readonly result: ReadResult;
  /** True once a corrupt block stopped reading. */
  readonly stopped: boolean;
}

/** A pcapng reader fed in chunks; `name` names the stream in errors (e.g. "tcpdump's output"). */
export function createPcapngStream(
  name: string, onPacket: (p: Packet) => void, onInterface?: (info: InterfaceInfo) => void,
): PcapngStream {
  const s = newNgState(emptyResult('pcapng', { fileSize: 0 }), name, onPacket, onInterface);
  let buf = Buffer.allocUnsafe(INITIAL_BUFFER);
  /** buf[start, len) holds stream bytes [pos, pos + len - start). */
  let start = 0;
  let len = 0;
  let pos = 0;
  let stopped = false;
  let ended = false;

  function append(chunk: Buffer): void {
    if (len + chunk.length > buf.length) {
      const kept = len - start;
      const target = kept + chunk.length > buf.length ? Buffer.allocUnsafe(Math.max(buf.length * 2, kept + chunk.length)) : buf;
      buf.copy(target, 0, start, len);
      buf = target;
      start = 0;
      len = kept;
    }
    chunk.copy(buf, len);
    len += chunk.length;
  }

  /** Handles every complete block in the buffer. */
  function drain(): void {
    while (len - start >= 12) {
      if (pos === 0 && buf.readUInt32LE(start) !== BT_SHB) return stop(`it starts with ${buf.toString('hex', start, start + 4)}, not a section header block (0a0d0d0a)`);
      const blen = blockLength(s, buf, start, pos);
      if (blen < 0) return stop(s.problem);
      if (len - start < blen) return; // the rest of the block is still on its way
      if (!handleBlock(s, buf, start, blen, pos)) return stop(s.problem);
      start += blen;
      pos += blen;
      s.r.bytesRead = pos;
    }
  }

  function stop(why: string): void {
    if (pos === 0) throw new CaptureFileError(`${name} is not a usable pcapng stream: ${why}`);
    stopped = true;
    stopAt(s.r, pos, why);
    finishDrops(s);
  }

  const stream: Omit<PcapngStream, 'result' | 'stopped'> = {
    push(chunk) {
      if (stopped || ended) return;
      s.r.fileSize += chunk.length;
      append(chunk);
      drain();
      finishDrops(s);
    },
    end() {
      if (ended || stopped) return s.r;
      ended = true;
      const remain = len - start;
      if (remain > 0) stopAt(s.r, pos, remain < 12 ? headerTruncated(pos, remain) : truncatedBlock(s, buf, start, pos, remain));
      finishDrops(s);
      return s.r;
    },
  };
  return withGetters(stream, { result: () => s.r, stopped: () => stopped });
}

/** The truncation warning of a block whose header arrived and whose rest did not. */
function truncatedBlock(s: NgState, b: Buffer, o: number, pos: number, remain: number): string {
  return blockTruncated(s, b, o, pos, blockLength(s, b, o, pos), remain);
}
