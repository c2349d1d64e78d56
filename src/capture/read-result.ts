import type { InterfaceInfo } from './packet.js';

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
  /** Hex SHA-256 of the file's bytes when ReadOptions.sha256 asked for it, else null. */
  sha256: string | null;
}

/** The file cannot be read as a capture at all (not a capture, unsupported version, unreadable). */
export class CaptureFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureFileError';
  }
}

export interface ReadOptions {
  /** Called now and then (about every 4 MiB) with progress; never per packet. */
  onProgress?: (bytesRead: number, fileSize: number) => void;
  /** Also hash the whole file (SHA-256), from the same reads: import uses it to refuse a file imported before. */
  sha256?: boolean;
}
