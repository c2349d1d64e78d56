/**
 * Buffered synchronous output for the capture writers: records are built in place in one
 * buffer and written in ~1 MiB pieces, not one write call per packet.
 */
import * as fs from 'node:fs';
import { createExclusive } from '../store/safe-files.js';

const FLUSH_SIZE = 1024 * 1024;

export interface FileSink {
  fd: number;
  buf: Buffer;
  /** Bytes pending in buf. */
  len: number;
  /** Bytes handed to the sink so far (written or pending). */
  total: number;
  closed: boolean;
}

/** Creates `path`, which must not exist yet (never truncates or follows an existing name: safe-files.ts). */
export function openSink(path: string, mode = 0o644): FileSink {
  const fd = createExclusive(path, mode);
  return { fd, buf: Buffer.alloc(FLUSH_SIZE), len: 0, total: 0, closed: false };
}

/** Room for `n` more bytes: returns the offset in sink.buf to write them at; commit with `commit`. */
export function reserve(sink: FileSink, n: number): number {
  if (sink.closed) throw new Error('capture writer is closed');
  if (sink.len + n > sink.buf.length) {
    flush(sink);
    if (n > sink.buf.length) sink.buf = Buffer.alloc(n);
  }
  return sink.len;
}

export function commit(sink: FileSink, n: number): void {
  sink.len += n;
  sink.total += n;
  if (sink.len >= FLUSH_SIZE) flush(sink);
}

export function flush(sink: FileSink): void {
  let done = 0;
  while (done < sink.len) done += fs.writeSync(sink.fd, sink.buf, done, sink.len - done);
  sink.len = 0;
}

export function closeSink(sink: FileSink): void {
  if (sink.closed) return;
  try {
    flush(sink);
  } finally {
    sink.closed = true;
    fs.closeSync(sink.fd);
  }
}
