import type { WindowBuffers } from './file-window.js';
import type { InterfaceInfo } from './packet.js';
import { UserFacingError } from '../errors.js';

/** What reading a capture file produced, beside the packets themselves. */
export interface ReadResult {
  format: 'pcap' | 'pcapng';
  /** Every interface the file described (classic pcap: exactly one). */
  interfaces: InterfaceInfo[];
  /** Packets handed to the callback. */
  packets: number;
  /** File bytes consumed by complete, valid records. */
  bytesRead: number;
  fileSize: number;
  /** Byte offset where reading stopped before the end of the file (truncated or corrupt), else null. */
  stoppedAt: number | null;
  /** One human-readable line per problem, e.g. "truncated at byte 1234: record needs 98 bytes, 40 remain". */
  warnings: string[];
  /** Kernel drops the file reports (sum of pcapng ISB isb_ifdrop), null when the file does not say. */
  drops: number | null;
  /** pcapng Name Resolution Block entries (address text -> names), empty otherwise. */
  nameResolution: { addr: string; names: string[] }[];
}

/** The file cannot be read as a capture at all (not a capture, unsupported version, unreadable). */
export class CaptureFileError extends UserFacingError {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureFileError';
  }
}

export interface ReadOptions {
  /** Called now and then (about every 4 MiB) with progress; never per packet. */
  onProgress?: (bytesRead: number, fileSize: number) => void;
  /** Called for each interface as the file describes it, before any of its packets. */
  onInterface?: (info: InterfaceInfo) => void;
  /**
   * Called with every byte of the file exactly once, in order, with its offset in the file, from
   * the reads the reader makes anyway (plus the bytes it did not need, at the end): import
   * hashes the file with it. The Buffer is reused: copy what you keep. Not with startAt/endAt.
   */
  onBytes?: (bytes: Buffer, offset: number) => void;
  /** The reader's window reads into these two shared buffers (file-window.ts), so onBytes's consumer may use them without a copy. */
  windowBuffers?: WindowBuffers;
}
