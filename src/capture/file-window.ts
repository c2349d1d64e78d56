/**
 * A sliding window over a capture file, read synchronously in large chunks.
 *
 * Readers ask for `need` bytes at file position `pos`; the window keeps them contiguous in one
 * Buffer (carrying a partial record across a chunk boundary by moving it to the front) so a
 * record can be parsed in place, without per-record copies. The file is never read whole.
 */
import * as fs from 'node:fs';
import { CaptureFileError } from './read-result.js';

export const CHUNK_SIZE = 4 * 1024 * 1024;
/** The file's first read (see refill). */
const FIRST_READ = 64 * 1024;

export interface FileWindow {
  fd: number;
  path: string;
  fileSize: number;
  /** Holds file bytes [base, base + len). Replaced (not resized) when a record is larger. */
  buf: Buffer;
  base: number;
  len: number;
  onProgress: ((bytesRead: number, fileSize: number) => void) | undefined;
  /** Receives every byte of the file once, in order, with its file offset (see feedNewBytes); null: nobody asked. */
  onBytes: ((bytes: Buffer, offset: number) => void) | null;
  /** Bytes [0, fedTo) went to onBytes. */
  fedTo: number;
  /** Two buffers the window alternates between, shared with whoever onBytes hands them to; null: its own. */
  shared: WindowBuffers | null;
}

/**
 * Window buffers shared with another thread (the import's hasher, src/store/session-writer.ts),
 * so that onBytes can hand on the bytes just read without copying them or reading them again.
 * The window reads into one while the other may still be in use there; `beforeReuse` returns once
 * the other side is done with a buffer the window is about to overwrite. Each is CHUNK_SIZE long.
 */
export interface WindowBuffers {
  readonly buffers: readonly [Buffer, Buffer];
  beforeReuse(buf: Buffer): void;
}

/** Opens `path` for reading; every failure becomes a CaptureFileError naming the cause. */
export function openWindow(
  path: string, onProgress?: (bytesRead: number, fileSize: number) => void, onBytes?: (bytes: Buffer, offset: number) => void,
  shared?: WindowBuffers,
): FileWindow {
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
    const buf = shared ? shared.buffers[0] : Buffer.allocUnsafe(Math.min(CHUNK_SIZE, Math.max(size, 64)));
    return { fd, path, fileSize: size, buf, base: 0, len: 0, onProgress, onBytes: onBytes ?? null, fedTo: 0, shared: shared ?? null };
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

/** The shared buffer the window did not read into last, once the other side is done with it. */
function otherShared(shared: WindowBuffers, current: Buffer): Buffer {
  const next = current === shared.buffers[0] ? shared.buffers[1] : shared.buffers[0];
  shared.beforeReuse(next);
  return next;
}

function refill(w: FileWindow, pos: number, need: number): number {
  if (pos + need > w.fileSize) return -1;
  const keepFrom = pos - w.base;
  let target = w.shared === null ? w.buf : otherShared(w.shared, w.buf);
  if (need > target.length) target = Buffer.allocUnsafe(Math.max(need, CHUNK_SIZE));
  let kept = 0;
  if (keepFrom >= 0 && keepFrom < w.len) {
    kept = w.len - keepFrom;
    w.buf.copy(target, 0, keepFrom, w.len);
  }
  w.buf = target;
  w.base = pos;
  w.len = kept;
  // The file's first read is short (FIRST_READ), so that readers take this path a second time
  // within their first few hundred records: V8 compiles a reader's loop (with `at` inlined) only
  // after thousands, and a path it has never seen taken is one it compiles without. With a first
  // read of CHUNK_SIZE the first refill came ~27,000 packets in and threw the compiled loop (the
  // whole per-packet pipeline inlined) away, to be compiled again.
  const room = pos === 0 ? Math.min(FIRST_READ, target.length) : target.length;
  while (w.len < need) {
    const n = fs.readSync(w.fd, target, w.len, Math.max(room, need) - w.len, pos + w.len);
    if (n === 0) return -1; // the file shrank under us
    w.len += n;
  }
  if (w.onBytes !== null) feedNewBytes(w);
  if (w.onProgress) w.onProgress(pos, w.fileSize);
  return 0;
}

/**
 * Hands onBytes the window's bytes past `fedTo`, when the window reaches that far and starts at
 * or before it. Readers go forward, so each 4 MiB read is passed on once as it arrives (no second
 * read of the file for its hash); a jump (a block range, a skipped record) leaves a gap that
 * feedRest reads instead. The Buffer is the window's: onBytes copies what it keeps.
 */
function feedNewBytes(w: FileWindow): void {
  const end = w.base + w.len;
  if (w.fedTo < w.base || w.fedTo >= end) return;
  w.onBytes!(w.buf.subarray(w.fedTo - w.base, w.len), w.fedTo);
  w.fedTo = end;
}

/**
 * Hands onBytes the file's bytes the readers did not need (after a stop at damaged bytes, a
 * gap, or the tail), up to the size the file had when opened. Call once, after reading.
 */
export function feedRest(w: FileWindow): void {
  if (w.onBytes === null || w.fedTo >= w.fileSize) return;
  const scratch = Buffer.allocUnsafe(Math.min(CHUNK_SIZE, w.fileSize - w.fedTo));
  while (w.fedTo < w.fileSize) {
    const n = fs.readSync(w.fd, scratch, 0, Math.min(scratch.length, w.fileSize - w.fedTo), w.fedTo);
    if (n === 0) throw new CaptureFileError(`${w.path} shrank while it was read (at byte ${w.fedTo} of ${w.fileSize}): import it once nothing writes to it any more`);
    w.onBytes(scratch.subarray(0, n), w.fedTo);
    w.fedTo += n;
  }
}
