import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createPcapWriter } from '../../src/capture/pcap-writer.js';
import { createPcapngWriter } from '../../src/capture/pcapng-writer.js';
import { readCaptureFile } from '../../src/capture/read-file.js';
import { CaptureFileError, type ReadResult } from '../../src/capture/read-result.js';
import { mulberry32 } from '../helpers/seeded-random.js';
import { tmpDir } from './helpers.js';

const dir = tmpDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Text payloads: read misaligned as a length, 'a'..'z' bytes give values far above any snaplen. */
const payloads = [60, 91, 42, 77, 55].map((n, i) => Buffer.from('the quick brown fox jumps over the lazy dog '.repeat(3).slice(i, i + n)));
// µs parts at or above 0x80000 so they too are absurd as lengths.
const times = [1700000000600000, 1700000000700001, 1700000001800002, 1700000001900003, 1700000002999999];

/** A valid file plus the file offset where each packet record ends, both from the writer. */
interface Sample { bytes: Buffer; headerLen: number; recordEnds: number[] }

function pcapSample(): Sample {
  const file = path.join(dir, 'sample.pcap');
  const w = createPcapWriter(file, { linktype: 1, snaplen: 128 });
  const ends: number[] = [];
  payloads.forEach((d, i) => { w.writePacket(times[i], d, 0, d.length, d.length + 10); ends.push(w.bytesWritten); });
  w.close();
  return { bytes: fs.readFileSync(file), headerLen: 24, recordEnds: ends };
}

function pcapngSample(): Sample {
  const file = path.join(dir, 'sample.pcapng');
  const w = createPcapngWriter(file, { userAppl: 'robustness' });
  const headerLen = w.bytesWritten;
  w.addInterface({ linktype: 1, snaplen: 128, name: 'eth0' });
  w.addInterface({ linktype: 113, snaplen: 128, tsresol: 9 });
  const ends: number[] = [];
  payloads.forEach((d, i) => { w.writePacket(i % 2, times[i], d, 0, d.length, d.length, i % 2 === 0 ? `PID: ${1000 + i} Cmd: curl` : null); ends.push(w.bytesWritten); });
  w.close();
  return { bytes: fs.readFileSync(file), headerLen, recordEnds: ends };
}

/** Reads `bytes` as a file; returns the result or the CaptureFileError, failing on anything else. */
function tryRead(bytes: Buffer, name: string): { result: ReadResult | null; error: CaptureFileError | null; seen: number } {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  let seen = 0;
  try {
    const result = readCaptureFile(file, (p) => {
      seen++;
      if (p.off < 0 || p.off + p.caplen > p.buf.length) throw new Error(`packet outside its buffer: ${p.off}+${p.caplen} > ${p.buf.length}`);
    });
    return { result, error: null, seen };
  } catch (err) {
    if (err instanceof CaptureFileError) return { result: null, error: err, seen };
    throw err;
  }
}

for (const [kind, make] of [['pcap', pcapSample], ['pcapng', pcapngSample]] as const) {
  describe(`${kind} robustness`, () => {
    const s = make();
    const total = payloads.length;

    it('the sample itself reads whole', () => {
      const { result } = tryRead(s.bytes, `whole.${kind}`);
      expect(result).toMatchObject({ packets: total, stoppedAt: null, warnings: [] });
      expect(s.recordEnds[total - 1]).toBe(s.bytes.length);
    });

    it('every truncation point keeps exactly the complete records before the cut', () => {
      for (let cut = 0; cut <= s.bytes.length; cut++) {
        const { result, error, seen } = tryRead(s.bytes.subarray(0, cut), `cut.${kind}`);
        if (cut < s.headerLen) {
          expect(error, `cut ${cut}`).toBeInstanceOf(CaptureFileError);
          continue;
        }
        expect(error, `cut ${cut}: ${error?.message}`).toBeNull();
        const complete = s.recordEnds.filter((e) => e <= cut).length;
        expect(result!.packets, `cut ${cut}`).toBe(complete);
        expect(seen).toBe(complete);
        const boundary = cut === s.headerLen || s.recordEnds.includes(cut) || (kind === 'pcapng' && cut <= s.recordEnds[0] && isBlockBoundary(s.bytes, cut));
        if (boundary) {
          expect(result!.stoppedAt, `cut ${cut}`).toBeNull();
          expect(result!.warnings).toEqual([]);
          expect(result!.bytesRead).toBe(cut);
        } else {
          const lastEnd = Math.max(s.headerLen, ...s.recordEnds.filter((e) => e <= cut));
          expect(result!.stoppedAt, `cut ${cut}`).toBeGreaterThanOrEqual(lastEnd);
          expect(result!.warnings, `cut ${cut}`).toHaveLength(1);
          expect(result!.warnings[0]).toMatch(new RegExp(`^truncated at byte ${result!.stoppedAt}: .* needs \\d+ bytes, ${cut - result!.stoppedAt!} remain$`));
        }
      }
    });

    it('2,000 seeded random corruptions: a result or a CaptureFileError, never more packets', () => {
      const rnd = mulberry32(kind === 'pcap' ? 0xc0ffee : 0xbadcafe);
      const stats = { results: 0, errors: 0, stopped: 0 };
      for (let round = 0; round < 2000; round++) {
        const b = Buffer.from(s.bytes);
        const edits = 1 + Math.floor(rnd() * 4);
        for (let e = 0; e < edits; e++) {
          const at = Math.floor(rnd() * b.length);
          const mode = rnd();
          if (mode < 0.5) b[at] = Math.floor(rnd() * 256);
          else if (mode < 0.75) b[at] ^= 1 << Math.floor(rnd() * 8);
          else {
            // A whole aligned 32-bit word set to an extreme: lengths, ids, magic.
            const w = at & ~3;
            if (w + 4 <= b.length) b.writeUInt32LE([0, 0xffffffff, 0x7fffffff, 12, 0x1000000][Math.floor(rnd() * 5)], w);
          }
        }
        const { result, error, seen } = tryRead(b, `corrupt.${kind}`);
        if (error) { stats.errors++; continue; }
        stats.results++;
        expect(result!.packets, `round ${round}`).toBeLessThanOrEqual(total);
        expect(seen).toBe(result!.packets);
        expect(result!.bytesRead).toBeLessThanOrEqual(b.length);
        if (result!.stoppedAt !== null) {
          stats.stopped++;
          expect(result!.warnings.length, `round ${round}`).toBeGreaterThan(0);
          expect(result!.warnings.join(' ')).toContain(`byte ${result!.stoppedAt}`);
        }
      }
      // The corruptions must actually exercise both outcomes.
      expect(stats.errors).toBeGreaterThan(20);
      expect(stats.stopped).toBeGreaterThan(100);
    });
  });
}

/** True when a pcapng block ends exactly at `cut` (walking the leading lengths from 0, LE). */
function isBlockBoundary(b: Buffer, cut: number): boolean {
  let pos = 0;
  while (pos < cut) pos += b.readUInt32LE(pos + 4);
  return pos === cut;
}
