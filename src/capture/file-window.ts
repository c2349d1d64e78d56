/**
 * A sliding window over a capture file, read synchronously in large chunks.
 *
 * Readers ask for `need` bytes at file position `pos`; the window keeps them contiguous in one
 * Buffer (carrying a partial record across a chunk boundary by moving it to the front) so a
 * record can be parsed in place, without per-record copies. The file is never read whole.
 */
import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import { CaptureFileError } from './read-result.js';

export const CHUNK_SIZE = 4 * 1024 * 1024;

export interface FileWindow {
  fd: number;
  path: string;
  fileSize: number;
  /** Holds file bytes [base, base + len). Replaced (not resized) when a record is larger. */
  buf: Buffer;
  base: number;
  len: number;
  onProgress: ((bytesRead: number, fileSize: number) => void) | undefined;
  /** SHA-256 of the file's bytes [0, hashedTo), fed by the reads the readers make anyway; null: not asked for. */
  hash: Hash | null;
  hashedTo: number;
}

/** Opens `path` for reading; every failure becomes a CaptureFileError naming the cause. */
export function openWindow(path: string, onProgress?: (bytesRead: number, fileSize: number) => void, hash = false): FileWindow {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    throw new CaptureFileError(describeOpenError(path, err));
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new CaptureFileError(`${path} is a directory, not a capture file`);
    if (!st.isFile()) throw new CaptureFileError(`${path} is not a regular file`);
    const size = st.size;
    return { fd, path, fileSize: size, buf: Buffer.allocUnsafe(Math.min(CHUNK_SIZE, Math.max(size, 64))), base: 0, len: 0, onProgress, hash: hash ? createHash('sha256') : null, hashedTo: 0 };
  } catch (err) {
    fs.closeSync(fd);
    if (err instanceof CaptureFileError) throw err;
    throw new CaptureFileError(describeOpenError(path, err));
  }
}

export function closeWindow(w: FileWindow): void {
  fs.closeSync(w.fd);
}

function describeOpenError(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT': return `${path} does not exist`;
    case 'EACCES':
    case 'EPERM': return `${path} cannot be read: permission denied`;
    case 'EISDIR': return `${path} is a directory, not a capture file`;
    default: return `${path} cannot be read: ${(err as Error).message}`;
  }
}

/**
 * Buffer offset of file position `pos` with at least `need` bytes readable there, or -1 when the
 * file ends first. The fast path is two comparisons; callers bound `need` before asking.
 */
export function at(w: FileWindow, pos: number, need: number): number {
  const o = pos - w.base;
  if (o >= 0 && o + need <= w.len) return o;
  return refill(w, pos, need);
}

function refill(w: FileWindow, pos: number, need: number): number {
  if (pos + need > w.fileSize) return -1;
  const keepFrom = pos - w.base;
  let target = w.buf;
  if (need > w.buf.length) target = Buffer.allocUnsafe(Math.max(need, CHUNK_SIZE));
  let kept = 0;
  if (keepFrom >= 0 && keepFrom < w.len) {
    kept = w.len - keepFrom;
    w.buf.copy(target, 0, keepFrom, w.len);
  }
  w.buf = target;
  w.base = pos;
  w.len = kept;
  while (w.len < need) {
    const n = fs.readSync(w.fd, target, w.len, target.length - w.len, pos + w.len);
    if (n === 0) return -1; // the file shrank under us
    w.len += n;
  }
  if (w.hash !== null) hashNewBytes(w);
  if (w.onProgress) w.onProgress(pos, w.fileSize);
  return 0;
}

/**
 * Feeds the hash the window's bytes past `hashedTo`, when the window reaches that far and starts
 * at or before it. Readers go forward, so this hashes each 4 MiB read once as it arrives; a jump
 * (a block range, a skipped record) leaves a gap that finishHash reads instead.
 */
function hashNewBytes(w: FileWindow): void {
  const end = w.base + w.len;
  if (w.hashedTo < w.base || w.hashedTo >= end) return;
  w.hash!.update(w.buf.subarray(w.hashedTo - w.base, w.len));
  w.hashedTo = end;
}

/**
 * Hex SHA-256 of the whole file as it was opened (its first `fileSize` bytes): what the readers
 * read is already hashed; the rest (after a stop at damaged bytes, or the tail a reader never
 * needed) is read here. Call once, after reading.
 */
export function finishHash(w: FileWindow): string {
  if (w.hash === null) throw new Error('finishHash on a window opened without hashing');
  if (w.hashedTo < w.fileSize) {
    const scratch = Buffer.allocUnsafe(Math.min(CHUNK_SIZE, w.fileSize - w.hashedTo));
    while (w.hashedTo < w.fileSize) {
      const n = fs.readSync(w.fd, scratch, 0, Math.min(scratch.length, w.fileSize - w.hashedTo), w.hashedTo);
      if (n === 0) throw new CaptureFileError(`${w.path} shrank while it was read (${w.hashedTo} of ${w.fileSize} bytes left): import it again once nothing writes to it`);
      w.hash.update(scratch.subarray(0, n));
      w.hashedTo += n;
    }
  }
  return w.hash.digest('hex');
}
