/** Building and finishing a ReadResult, shared by the pcap and pcapng readers. */
import type { FileWindow } from './file-window.js';
import type { ReadResult } from './read-result.js';

/** `w`: the file's window, or `{ fileSize }` of a stream (the bytes received so far). */
export function emptyResult(format: ReadResult['format'], w: Pick<FileWindow, 'fileSize'>): ReadResult {
  return {
    format,
    interfaces: [],
    packets: 0,
    bytesRead: 0,
    fileSize: w.fileSize,
    stoppedAt: null,
    warnings: [],
    drops: null,
    nameResolution: [],
  };
}

/** Records why reading stopped at byte `pos`; everything before it stays in the result. */
export function stopAt(r: ReadResult, pos: number, why: string): ReadResult {
  r.stoppedAt = pos;
  r.warnings.push(why);
  return r;
}

/** The standard wording for a record cut by the end of the file. */
export function truncatedAt(r: ReadResult, pos: number, what: string, need: number): ReadResult {
  const remain = r.fileSize - pos;
  return stopAt(r, pos, `truncated at byte ${pos}: ${what} needs ${need} bytes, ${remain} remain`);
}
