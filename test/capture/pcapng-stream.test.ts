/**
 * The streaming pcapng reader fed Apple's two captures (fixtures/darwin/, written by Apple's
 * tcpdump) in small random chunks (seeded, replayable), as a pipe delivers them: the packets,
 * process blocks, interfaces and warnings must be exactly what the file reader gives for the same
 * bytes (the file reader's values are themselves checked against the captures' facts and tshark in
 * pcapng-darwin.test.ts). Truncated and corrupted copies stop the same way the file reader does.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCaptureFile } from '../../src/capture/read-file.js';
import { createPcapngStream } from '../../src/capture/pcapng-stream.js';
import { CaptureFileError, type ReadResult } from '../../src/capture/read-result.js';
import type { Packet, PktapProcess } from '../../src/capture/packet.js';
import { mulberry32, randomInt } from '../helpers/seeded-random.js';
import { toBigEndian } from '../helpers/pcapng-swap.js';
import { tmpDir } from './helpers.js';

const IPERF = path.resolve('fixtures/darwin/radar-101007576-iperf.pcapng');
const UTUN = path.resolve('fixtures/darwin/radar-88502733.pcapng');
const dir = tmpDir('oa-stream-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Seen {
  ts: number; caplen: number; origLen: number; linktype: number; iface: number; hex: string; comment: string | null;
  process: PktapProcess | null; effective: PktapProcess | null; serviceClass: number; flags: number; direction: number;
}

function collector(): { seen: Seen[]; onPacket: (p: Packet) => void; table: () => readonly PktapProcess[] } {
  const seen: Seen[] = [];
  let table: readonly PktapProcess[] = [];
  return {
    seen,
    table: () => table,
    onPacket(p) {
      table = p.pktapProcesses ?? [];
      seen.push({
        ts: p.ts, caplen: p.caplen, origLen: p.origLen, linktype: p.linktype, iface: p.iface,
        hex: p.buf.toString('hex', p.off, p.off + p.caplen), comment: p.comment,
        process: p.pktapProcess < 0 ? null : { ...p.pktapProcesses![p.pktapProcess] },
        effective: p.pktapEffective < 0 ? null : { ...p.pktapProcesses![p.pktapEffective] },
        serviceClass: p.serviceClass, flags: p.pktapFlags, direction: p.direction,
      });
    },
  };
}

function viaFile(file: string) {
  const c = collector();
  const result = readCaptureFile(file, c.onPacket);
  return { result, seen: c.seen, table: [...c.table()] };
}

/** Feeds `bytes` in chunks of 1..maxChunk bytes (seeded). */
function viaStream(bytes: Buffer, seed: number, maxChunk: number) {
  const c = collector();
  const stream = createPcapngStream('test stream', c.onPacket);
  const rand = mulberry32(seed);
  for (let o = 0; o < bytes.length;) {
    const n = 1 + randomInt(rand, maxChunk);
    // A copy per chunk, as a pipe gives fresh Buffers: the reader must not keep the caller's.
    stream.push(Buffer.from(bytes.subarray(o, o + n)));
    o += n;
  }
  const result = stream.end();
  return { result, seen: c.seen, table: [...c.table()] };
}

function sameRead(a: { result: ReadResult }, b: { result: ReadResult }): void {
  for (const k of ['packets', 'bytesRead', 'fileSize', 'stoppedAt', 'warnings', 'drops', 'interfaces', 'nameResolution'] as const) {
    expect(b.result[k], k).toEqual(a.result[k]);
  }
}

function copy(name: string, bytes: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

describe('streaming pcapng: Apple captures in random chunks give the file reader\'s packets and process blocks', () => {
  for (const [label, file, packets] of [['iperf (lo0, 3 PIBs)', IPERF, 24], ['utun (packetdrill)', UTUN, 4]] as const) {
    it(`${label}: 20 seeds, chunks of 1..64 bytes, and one chunk per byte`, () => {
      const bytes = fs.readFileSync(file);
      const expected = viaFile(file);
      expect(expected.seen).toHaveLength(packets);
      expect(expected.result.warnings).toEqual([]);
      for (let seed = 1; seed <= 20; seed++) {
        const got = viaStream(bytes, seed, 64);
        expect(got.seen, `seed ${seed}`).toEqual(expected.seen);
        expect(got.table).toEqual(expected.table);
        sameRead(expected, got);
      }
      const byByte = viaStream(bytes, 0, 1);
      expect(byByte.seen).toEqual(expected.seen);
      const whole = viaStream(bytes, 0, bytes.length);
      expect(whole.seen).toEqual(expected.seen);
    });
  }

  it('the big-endian copy of the iperf capture, in chunks, reads as the file reader reads it', () => {
    const be = toBigEndian(fs.readFileSync(IPERF));
    const expected = viaFile(copy('iperf-be.pcapng', be));
    expect(expected.seen).toHaveLength(24);
    for (let seed = 100; seed < 105; seed++) expect(viaStream(be, seed, 97).seen).toEqual(expected.seen);
  });
});

describe('streaming pcapng: a stream that ends mid-block, or goes bad, stops as the file reader does', () => {
  it('cut at every byte of the iperf capture: same packets, same stop and warning as the truncated file', () => {
    const bytes = fs.readFileSync(IPERF);
    // Every cut in the first 1 KiB, then every 97th byte: each block boundary and block interior kind.
    const cuts: number[] = [];
    for (let n = 1; n < bytes.length; n += n < 1024 ? 1 : 97) cuts.push(n);
    let midBlock = 0;
    for (const n of cuts) {
      const part = bytes.subarray(0, n);
      let expected: ReturnType<typeof viaFile> | null = null;
      let fileError: string | null = null;
      try {
        expected = viaFile(copy('cut.pcapng', part));
      } catch (e) {
        fileError = (e as Error).message;
      }
      const got = viaStream(part, n, 50);
      if (expected === null) {
        // The file reader refuses a file too short to be pcapng; the stream just never started.
        expect(fileError).toMatch(/pcapng|capture/);
        expect(got.seen).toEqual([]);
        continue;
      }
      expect(got.seen, `cut at ${n}`).toEqual(expected.seen);
      expect(got.result.warnings, `cut at ${n}`).toEqual(expected.result.warnings);
      expect(got.result.stoppedAt).toEqual(expected.result.stoppedAt);
      if (got.result.stoppedAt !== null) midBlock++;
    }
    expect(midBlock).toBeGreaterThan(100);
  });

  it('a corrupt trailing length mid-stream: the packets before it, one warning naming its byte, later bytes ignored', () => {
    const bytes = Buffer.from(fs.readFileSync(UTUN));
    const expectedWhole = viaFile(UTUN);
    // The last block's trailing length (the capture ends with an EPB).
    const lastLen = bytes.readUInt32LE(bytes.length - 4);
    const lastAt = bytes.length - lastLen;
    bytes.writeUInt32LE(lastLen + 4, bytes.length - 4);
    const expected = viaFile(copy('corrupt.pcapng', bytes));
    const got = viaStream(bytes, 7, 33);
    expect(got.result.warnings).toEqual([`corrupt block at byte ${lastAt}: trailing length ${lastLen + 4} differs from leading length ${lastLen}`]);
    expect(got.result.warnings).toEqual(expected.result.warnings);
    expect(got.seen).toEqual(expectedWhole.seen.slice(0, 3));
  });

  it('bytes that are not pcapng: a CaptureFileError naming the stream, nothing handed on', () => {
    const c = collector();
    const stream = createPcapngStream("tcpdump's output", c.onPacket);
    const pcap = fs.readFileSync(path.resolve('fixtures/darwin/radar-88502733.pcapng'));
    // A classic pcap header (magic a1b2c3d4) followed by pcapng bytes.
    const bad = Buffer.concat([Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex'), pcap]);
    expect(() => stream.push(bad)).toThrow(CaptureFileError);
    expect(() => createPcapngStream("tcpdump's output", c.onPacket).push(bad)).toThrow(/^tcpdump's output is not a usable pcapng stream: /);
    expect(c.seen).toEqual([]);
  });
});
