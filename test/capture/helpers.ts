/** Shared test helpers for the capture readers and writers. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { tsharkColumns } from '../helpers/tshark.js';
import { readCaptureFile } from '../../src/capture/read-file.js';
import type { ReadResult } from '../../src/capture/read-result.js';

export interface SeenPacket {
  ts: number;
  caplen: number;
  origLen: number;
  linktype: number;
  iface: number;
  data: Buffer;
  comment: string | null;
}

export function tmpDir(prefix = 'oa-capture-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Reads a file and copies every packet out of the reused Packet. */
export function readAll(file: string): { result: ReadResult; packets: SeenPacket[] } {
  const packets: SeenPacket[] = [];
  const result = readCaptureFile(file, (p) => {
    packets.push({
      ts: p.ts, caplen: p.caplen, origLen: p.origLen, linktype: p.linktype, iface: p.iface,
      data: Buffer.from(p.buf.subarray(p.off, p.off + p.caplen)), comment: p.comment,
    });
  });
  return { result, packets };
}

export function hasTool(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a test needing `need` cannot run here, or null when it can. Under CI a missing
 * requirement is a failure, not a skip.
 */
export function skipReason(missing: string | null): string | null {
  if (missing === null) return null;
  if (process.env.CI) throw new Error(`required under CI: ${missing}`);
  return missing;
}

export interface TsharkRow {
  /** frame.time_epoch converted to µs (sec * 1e6 + fraction). */
  tsUs: number;
  len: number;
  capLen: number;
  iface: number;
  comment: string | null;
}

/** tshark's own view of a capture, one row per packet. */
export function tsharkRows(file: string): TsharkRow[] {
  const rows = tsharkColumns(file, ['frame.time_epoch', 'frame.len', 'frame.cap_len', 'frame.interface_id', 'frame.comment']);
  return rows.map(([epoch, len, capLen, iface, comment]) => {
    const [sec, frac = ''] = epoch.split('.');
    return {
      tsUs: Number(sec) * 1e6 + Number(frac.padEnd(9, '0')) / 1000,
      len: Number(len),
      capLen: Number(capLen),
      iface: iface === '' ? 0 : Number(iface),
      comment: comment === undefined || comment === '' ? null : comment,
    };
  });
}

/** Little/big-endian integer bytes for hand-built captures. */
export function u16(v: number, le: boolean): Buffer {
  const b = Buffer.alloc(2);
  if (le) b.writeUInt16LE(v);
  else b.writeUInt16BE(v);
  return b;
}
export function u32(v: number, le: boolean): Buffer {
  const b = Buffer.alloc(4);
  if (le) b.writeUInt32LE(v >>> 0);
  else b.writeUInt32BE(v >>> 0);
  return b;
}
export function u64(v: bigint, le: boolean): Buffer {
  const b = Buffer.alloc(8);
  if (le) b.writeBigUInt64LE(v);
  else b.writeBigUInt64BE(v);
  return b;
}

function padded(b: Buffer): Buffer {
  const n = (b.length + 3) & ~3;
  return Buffer.concat([b, Buffer.alloc(n - b.length)]);
}

/** One pcapng option: code, length, value, padding. */
export function opt(code: number, value: Buffer, le: boolean): Buffer {
  return Buffer.concat([u16(code, le), u16(value.length, le), padded(value)]);
}
export const END_OPT = (le: boolean): Buffer => u32(0, le);

/** One pcapng block: type, total length, body (padded), total length. */
export function block(type: number, body: Buffer, le: boolean): Buffer {
  const b = padded(body);
  const len = 12 + b.length;
  return Buffer.concat([u32(type, le), u32(len, le), b, u32(len, le)]);
}

export function shb(le: boolean, major = 1): Buffer {
  return block(0x0a0d0d0a, Buffer.concat([u32(0x1a2b3c4d, le), u16(major, le), u16(0, le), Buffer.alloc(8, 0xff)]), le);
}
