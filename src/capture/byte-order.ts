/**
 * Unsigned fields of capture-file headers in either byte order. Buffer#readUInt32LE and
 * friends cost a call with range checks per field (about 40 ms per million pcap records in a
 * CPU profile); the readers have already made sure the bytes are there (file-window `at`).
 */
export function u16(b: Buffer, o: number, le: boolean): number {
  return le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
}

export function u32(b: Buffer, o: number, le: boolean): number {
  return le
    ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0
    : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
