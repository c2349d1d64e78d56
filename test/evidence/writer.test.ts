import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createEvidenceWriter, type EvidenceWriterOptions, type SegmentInfo } from '../../src/store/evidence-writer.js';
import { feeder, HDRS, SEC, T0, tcpPacket, tmpDir, tsharkMissing, writeEvidenceFrom, type Ep } from './helpers.js';
import { tsharkColumns } from '../helpers/tshark.js';

const root = tmpDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => path.join(root, `d${++n}`, 'evidence');

const C: Ep = { ip: '10.0.0.1', port: 40000 };
const S: Ep = { ip: '10.0.0.2', port: 443 };
const OLLAMA = { pid: 1234, name: 'ollama', exe: '/usr/bin/ollama' };

function writer(over: Partial<EvidenceWriterOptions> = {}) {
  const closed: SegmentInfo[] = [];
  const deleted: SegmentInfo[] = [];
  const w = createEvidenceWriter({
    dir: freshDir(), policy: 'full', session: 't',
    onSegmentClosed: (s) => closed.push(s), onSegmentDeleted: (s) => deleted.push(s), ...over,
  });
  return { w, closed, deleted };
}

/** `count` data packets of `size` payload bytes from C to S, one second apart from `t0`. */
function stream(feed: ReturnType<typeof feeder>['feed'], count: number, size: number, t0 = T0, from = C): void {
  for (let i = 0; i < count; i++) feed(tcpPacket(from, S, Buffer.alloc(size, 0x41), t0 + i * SEC), OLLAMA);
}

const noTshark = tsharkMissing();

describe('evidence writer: segments', () => {
  it('rotates at the size limit; files are 0600 in a 0700 folder; hashes match sha256sum', () => {
    const { w, closed } = writer({ maxSegmentBytes: 4096 });
    const f = feeder(w);
    stream(f.feed, 20, 600);
    w.close();
    const segs = w.segments();
    expect(segs.length).toBeGreaterThanOrEqual(3);
    expect(segs.map((s) => s.seq)).toEqual(segs.map((_, i) => i + 1));
    expect(closed.map((s) => s.path)).toEqual(segs.map((s) => s.path));
    const dir = path.dirname(segs[0].path);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    let packets = 0;
    for (const s of segs) {
      const st = fs.statSync(s.path);
      expect(st.mode & 0o777).toBe(0o600);
      expect(st.size).toBe(s.bytes);
      // Closed once it reached the limit: at most one packet block (32 + 656 + comment) beyond it.
      expect(s.bytes).toBeLessThan(4096 + 32 + 656 + 48);
      expect(path.basename(s.path)).toMatch(/^evidence-t-\d{6}\.pcapng$/);
      expect(s.sha256).toBe(execFileSync('sha256sum', [s.path], { encoding: 'utf8' }).split(' ')[0]);
      packets += s.packets;
    }
    expect(packets).toBe(20);
  });

  it('rotates when a segment spans maxSegmentUs of capture time', () => {
    const { w } = writer({ maxSegmentUs: 10 * SEC });
    stream(feeder(w).feed, 25, 10);
    w.close();
    expect(w.segments().map((s) => s.packets)).toEqual([10, 10, 5]);
  });

  it('retention by size deletes the oldest closed segments first and never the open one', () => {
    const { w, deleted } = writer({ maxSegmentBytes: 4096, maxTotalBytes: 12_000 });
    stream(feeder(w).feed, 60, 600);
    const left = w.segments();
    const total = left.reduce((a, s) => a + s.bytes, 0);
    expect(total).toBeLessThanOrEqual(12_000 + 700);
    expect(deleted.length).toBeGreaterThan(0);
    expect(deleted.map((s) => s.seq)).toEqual(deleted.map((_, i) => i + 1)); // 1, 2, 3...: oldest first
    expect(left[0].seq).toBe(deleted.length + 1);
    for (const d of deleted) expect(fs.existsSync(d.path)).toBe(false);
    for (const s of left) expect(fs.existsSync(s.path)).toBe(true);
    expect(w.drainDeleted()).toEqual(deleted.map((s) => s.path));
    expect(left[left.length - 1].closed).toBe(false);
    w.close();
  });

  it('retention by age (fake clock) deletes closed segments whose last packet is older than --retain', () => {
    let now = T0;
    const { w, deleted } = writer({ maxSegmentUs: 10 * SEC, retainUs: 60 * SEC, now: () => now });
    stream(feeder(w).feed, 40, 10); // segments [0,10) [10,20) [20,30) [30,40) s; the last stays open
    expect(w.segments().length).toBe(4);
    now = T0 + 80 * SEC; // cutoff 20 s: segments ending at 9 s and 19 s go
    w.prune();
    expect(deleted.map((s) => s.lastTs)).toEqual([T0 + 9 * SEC, T0 + 19 * SEC]);
    expect(w.segments().map((s) => s.seq)).toEqual([3, 4]);
    now = T0 + 1000 * SEC;
    w.prune();
    expect(w.segments().map((s) => s.seq)).toEqual([4]); // open: kept
    w.close();
  });

  it('files of earlier runs count against the limits and go first', () => {
    const dir = freshDir();
    fs.mkdirSync(dir, { recursive: true });
    const old = path.join(dir, 'evidence-earlier-000001.pcapng');
    fs.writeFileSync(old, Buffer.alloc(1000));
    const t = (T0 - 3600 * SEC) / SEC;
    fs.utimesSync(old, t, t);
    const deleted: string[] = [];
    const w = createEvidenceWriter({
      dir, policy: 'full', session: 'now', retainUs: 1800 * SEC, now: () => T0,
      onSegmentDeleted: (s) => deleted.push(s.path),
    });
    expect(deleted).toEqual([old]);
    expect(fs.existsSync(old)).toBe(false);
    w.close();
  });

  it('indexes each flow per segment: offsets of its first and last packet block, packet counts', () => {
    const { w } = writer({ maxSegmentBytes: 4096 });
    const f = feeder(w);
    const other: Ep = { ip: '10.0.0.3', port: 40001 };
    for (let i = 0; i < 12; i++) {
      f.feed(tcpPacket(C, S, Buffer.alloc(500, 0x41 + i), T0 + i * SEC));
      f.feed(tcpPacket(other, S, Buffer.alloc(300, 0x61 + i), T0 + i * SEC + 1));
    }
    const rows = w.drainIndex();
    w.close();
    rows.push(...w.drainIndex()); // nothing new: closing writes no packets
    const segs = w.segments();
    expect(new Set(rows.map((r) => `${r.flowSeq}/${r.segmentSeq}`)).size).toBe(rows.length);
    for (const flowSeq of [1, 2]) {
      const mine = rows.filter((r) => r.flowSeq === flowSeq);
      expect(mine.reduce((a, r) => a + r.packets, 0)).toBe(12);
      expect(mine.map((r) => r.segmentSeq)).toEqual(segs.filter((s) => mine.some((r) => r.segmentSeq === s.seq)).map((s) => s.seq));
    }
    // Independently of our reader: the block at each offset is an EPB holding that flow's payload.
    for (const r of rows) {
      const file = fs.readFileSync(r.segmentPath);
      for (const off of [r.firstOffset, r.lastOffset]) {
        expect(file.readUInt32LE(off)).toBe(6);
        const caplen = file.readUInt32LE(off + 20);
        expect(caplen).toBe(HDRS + (r.flowSeq === 1 ? 500 : 300));
        const srcPort = file.readUInt16BE(off + 28 + 34);
        expect(srcPort).toBe(r.flowSeq === 1 ? C.port : other.port);
      }
    }
  });

  it('drains segment rows once per change, with the hash once closed', () => {
    const { w } = writer({ maxSegmentBytes: 4096 });
    stream(feeder(w).feed, 3, 100);
    const first = w.drainSegments();
    expect(first.map((s) => [s.seq, s.packets, s.closed])).toEqual([[1, 3, false]]);
    expect(w.drainSegments()).toEqual([]);
    w.close();
    const last = w.drainSegments();
    expect(last.map((s) => [s.seq, s.packets, s.closed])).toEqual([[1, 3, true]]);
    expect(last[0].sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('policy none writes no file at all', () => {
    const { w } = writer({ policy: 'none' });
    stream(feeder(w).feed, 5, 100);
    w.close();
    expect(w.segments()).toEqual([]);
  });
});

const API: Ep = { ip: '127.0.0.1', port: 11434 };
const CLI: Ep = { ip: '127.0.0.1', port: 51000 };
const MARKER = 'SECRET-PROMPT-6f1d2c';
const ANSWER = 'SECRET-ANSWER-9a8b7c';

describe.skipIf(noTshark !== null)(`evidence writer: tshark's view${noTshark ? ` (skipped: ${noTshark})` : ''}`, () => {
  for (const policy of ['head', 'full'] as const) {
    it(`${policy}: process comments, cut packets keep their length, no API body bytes`, () => {
      const { w } = writer({ policy });
      const f = feeder(w);
      const head = 'POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1:11434\r\nContent-Length: 33\r\n\r\n';
      f.feed(tcpPacket(CLI, API, '', T0, 0x02), null);
      f.feed(tcpPacket(CLI, API, head + `{"prompt":"${MARKER}"}`, T0 + 1), { pid: 4321, name: 'curl', exe: '/usr/bin/curl' });
      const apiFlow = f.feed(tcpPacket(CLI, API, `{"more":"${MARKER}"}`, T0 + 2));
      // Both ends on loopback: the server's packets name the server, once it is known.
      apiFlow.peerProcess = { pid: 777, name: 'ollama', exe: '/usr/local/bin/ollama' };
      f.feed(tcpPacket(API, CLI, `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n{"response":"${ANSWER}"}`, T0 + 3));
      // A big download elsewhere: head keeps 16 KiB of it whole, then headers.
      for (let i = 0; i < 30; i++) f.feed(tcpPacket(S, C, Buffer.alloc(1400, 0x5a), T0 + 10 + i), OLLAMA);
      w.close();
      const [seg] = w.segments();
      const bytes = fs.readFileSync(seg.path);
      expect(bytes.includes(MARKER)).toBe(false);
      expect(bytes.includes(ANSWER)).toBe(false);
      expect(bytes.includes('POST /api/generate HTTP/1.1')).toBe(true);
      expect(bytes.includes('HTTP/1.1 200 OK')).toBe(true);

      const rows = tsharkColumns(seg.path, ['frame.comment', 'frame.len', 'frame.cap_len', 'tcp.srcport']);
      expect(rows.length).toBe(34);
      // The flow's process became known on its second packet: the first has no comment. The reply is the server's.
      expect(rows.slice(0, 4).map((r) => r[0])).toEqual(['', 'PID: 4321\\nCmd: /usr/bin/curl', 'PID: 4321\\nCmd: /usr/bin/curl', 'PID: 777\\nCmd: /usr/local/bin/ollama']);
      for (const r of rows.slice(4)) expect(r[0]).toBe('PID: 1234\\nCmd: /usr/bin/ollama');
      const cut = rows.filter((r) => Number(r[2]) < Number(r[1]));
      // API body packets (2 cut on both policies) plus, under head, downloads past 16 KiB (12 whole: 11 * 1400 < 16384).
      expect(cut.length).toBe(policy === 'head' ? 3 + 18 : 3);
      for (const r of cut.filter((x) => x[3] === String(S.port))) expect(Number(r[2])).toBe(HDRS);
      expect(Number(rows[2][2])).toBe(HDRS); // request body packet: headers only
      expect(Number(rows[2][1])).toBe(HDRS + `{"more":"${MARKER}"}`.length);
    });
  }
});

describe.skipIf(noTshark !== null)(`evidence writer: comments name each packet's sender${noTshark ? ` (skipped: ${noTshark})` : ''}`, () => {
  it('a real loopback capture with its comments taken off: the client\'s packets name the client, the server\'s the server, as the original comments did', () => {
    const file = path.join(import.meta.dirname, '../../fixtures/ptcpdump-comments.pcapng');
    const { w } = writer({ policy: 'full' });
    writeEvidenceFrom(file, w, true);
    const LOOPBACK_TCP = 'ip.src == 127.0.0.1 && ip.dst == 127.0.0.1 && tcp';
    const fields = ['tcp.srcport', 'tcp.dstport', 'frame.comment'];
    const pidOf = (comment: string): string => /^PID: (\d+)/.exec(comment)?.[1] ?? '';
    // The fixture's comments (made from what each program logged about itself) per direction of each connection.
    const original = new Map<string, Set<string>>();
    for (const [sp, dp, c] of tsharkColumns(file, fields, LOOPBACK_TCP)) {
      if (!c) continue;
      const k = `${sp}>${dp}`;
      original.set(k, (original.get(k) ?? new Set()).add(pidOf(c)));
    }
    const ours = w.segments().flatMap((seg) => tsharkColumns(seg.path, fields, LOOPBACK_TCP)).filter((r) => r[2]);
    expect(ours.length).toBeGreaterThanOrEqual(40);
    for (const [sp, dp, c] of ours) expect([...(original.get(`${sp}>${dp}`) ?? [])]).toEqual([pidOf(c)]);
    // Replies from the API port name the server, not the client that asked.
    const replies = ours.filter((r) => r[0] === '11434');
    expect(replies.length).toBeGreaterThan(0);
    for (const r of replies) expect(r[2]).toMatch(/Cmd: \/tmp\/oafx-bin\/ollama/);
  });
});

describe('evidence writer: a full disk', () => {
  const notRoot = process.getuid?.() !== 0 ? 'mounting a tiny tmpfs needs root' : null;
  if (notRoot && process.env.CI) throw new Error(`required under CI: ${notRoot}`);
  const mnt = tmpDir('oa-evidence-full-');
  let mounted = false;
  afterAll(() => {
    if (mounted) execFileSync('umount', [mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  });

  // Small segments hit the full disk when one closes (its last flush); a big one mid-write.
  for (const maxSegmentBytes of [100_000, 8 << 20]) {
    it.skipIf(notRoot !== null)(`segments of ${maxSegmentBytes} bytes: stops writing evidence, reports it once, never throws${notRoot ? ` (skipped: ${notRoot})` : ''}`, () => {
      if (!mounted) execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
      mounted = true;
      const dir = path.join(mnt, 'evidence');
      fs.rmSync(dir, { recursive: true, force: true });
      const full: Error[] = [];
      const other: Error[] = [];
      const w = createEvidenceWriter({
        dir, policy: 'full', session: 'full', maxSegmentBytes,
        onDiskFull: (e) => full.push(e), onError: (e) => other.push(e),
      });
      const f = feeder(w);
      let flow = null;
      for (let i = 0; i < 2000; i++) flow = f.feed(tcpPacket(C, S, Buffer.alloc(1400, 0x42), T0 + i * 1000), OLLAMA);
      expect(flow!.packetsOut).toBe(2000); // flows go on
      expect(() => w.close()).not.toThrow();
      expect(full.length).toBe(1);
      expect((full[0] as NodeJS.ErrnoException).code).toBe('ENOSPC');
      expect(other).toEqual([]);
      expect(w.stopped).toBe('disk-full');
      const segs = w.segments();
      expect(segs[segs.length - 1].incomplete).toBe(true);
      expect(segs.slice(0, -1).every((s) => s.closed && !s.incomplete)).toBe(true);
      expect(segs.reduce((a, s) => a + s.bytes, 0)).toBeLessThanOrEqual(256 * 1024);
    });
  }
});
