import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCaptureFile } from '../../src/capture/read-file.js';
import { createPcapngWriter } from '../../src/capture/pcapng-writer.js';
import { createPcapWriter } from '../../src/capture/pcap-writer.js';
import { addrToString } from '../../src/decode/addr.js';
import type { Flow } from '../../src/flows/flow.js';
import { openDb } from '../../src/store/open-db.js';
import { exportFlows, matcherOf } from '../../src/store/evidence-export.js';
import { evidenceForFlows, writeEvidenceRows } from '../../src/store/evidence-store.js';
import { createEvidenceWriter, type EvidenceIndexRow, type SegmentInfo } from '../../src/store/evidence-writer.js';
import { tmpDir, tsharkMissing, writeEvidenceFrom } from './helpers.js';
import { tsharkColumns } from '../helpers/tshark.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/ptcpdump-comments.pcapng', import.meta.url));
const root = tmpDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** The fixture through decode, flow table, comment attribution and the evidence writer. */
function ingestFixture(dir: string): { flows: Flow[]; segments: SegmentInfo[]; rows: EvidenceIndexRow[]; drained: SegmentInfo[] } {
  const w = createEvidenceWriter({ dir, policy: 'full', session: 'fx', maxSegmentBytes: 32768 });
  const { flows, rows } = writeEvidenceFrom(FIXTURE, w);
  return { flows, segments: w.segments(), rows, drained: w.drainSegments() };
}

/** tshark display filter for one flow's 5-tuple (ICMP errors quoting it left out). */
function tupleFilter(f: Flow): string {
  const ip = f.ipVersion === 6 ? 'ipv6' : 'ip';
  const tp = f.proto === 6 ? 'tcp' : 'udp';
  return `${ip}.addr == ${addrToString(f.initiatorAddr)} && ${ip}.addr == ${addrToString(f.responderAddr)} && ` +
    `${tp}.port == ${f.initiatorPort} && ${tp}.port == ${f.responderPort} && !icmp && !icmpv6`;
}

const noTshark = tsharkMissing();

describe.skipIf(noTshark !== null)(`evidence export${noTshark ? ` (skipped: ${noTshark})` : ''}`, () => {
  let fx: ReturnType<typeof ingestFixture>;
  beforeAll(() => {
    fx = ingestFixture(path.join(root, 'segments'));
  });

  /** TCP/UDP flows, the one spread over the most segments first. */
  function bySpread(): Flow[] {
    const spread = (f: Flow) => fx.rows.filter((r) => r.flowSeq === f.id).length;
    return fx.flows.filter((f) => f.proto === 6 || f.proto === 17).sort((a, b) => spread(b) - spread(a) || a.id - b.id);
  }

  it('writes many segments that tshark reads in full, each starting with its interface blocks', () => {
    expect(fx.segments.length).toBeGreaterThan(3);
    const total = fx.segments.reduce((a, s) => a + s.packets, 0);
    expect(fx.segments.reduce((a, s) => a + tsharkColumns(s.path, ['frame.number']).length, 0)).toBe(total);
    expect(total).toBe(fx.flows.reduce((a, f) => a + f.packetsOut + f.packetsIn, 0));
    // Walking the raw blocks: SHB, then every IDB, then packets only (what startAt relies on).
    for (const s of fx.segments) {
      const b = fs.readFileSync(s.path);
      const types: number[] = [];
      for (let o = 0; o < b.length; o += b.readUInt32LE(o + 4)) types.push(b.readUInt32LE(o));
      const firstEpb = types.indexOf(6);
      expect(types[0]).toBe(0x0a0d0d0a);
      expect(types.slice(1, firstEpb).every((t) => t === 1)).toBe(true);
      expect(types.slice(firstEpb).every((t) => t === 6)).toBe(true);
    }
  });

  it('one flow: exactly its packets, as tshark counts them by 5-tuple in the source segments', () => {
    const [flow] = bySpread();
    expect(fx.rows.filter((r) => r.flowSeq === flow.id).length).toBeGreaterThan(1);
    const filter = tupleFilter(flow);
    const expected = fx.segments.reduce((a, s) => a + tsharkColumns(s.path, ['frame.number'], filter).length, 0);
    expect(expected).toBe(flow.packetsOut + flow.packetsIn);
    const out = path.join(root, 'one.pcapng');
    const res = exportFlows(fx.segments.map((s) => s.path), fx.rows, [matcherOf(flow)], out);
    expect(res.warnings).toEqual([]);
    expect(res.packets).toBe(expected);
    const all = tsharkColumns(out, ['frame.comment']);
    expect(all.length).toBe(expected);
    expect(tsharkColumns(out, ['frame.number'], filter).length).toBe(expected);
    for (const [comment] of all) expect(comment).toMatch(/^PID: \d+\\nCmd: /);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
  });

  it('several flows at once, per-flow counts; a deleted segment is a warning, not an error', () => {
    // The widest-spread flows, plus every pair of flows that reused one 5-tuple (port reuse, DNS
    // retries): each must get its own packets, not its twin's.
    const twins = fx.flows.filter((f) => fx.flows.some((g) => g !== f && tupleFilter(g) === tupleFilter(f)));
    const chosen = [...new Set([...bySpread().slice(0, 4), ...twins])];
    const out = path.join(root, 'several.pcapng');
    const res = exportFlows(fx.segments.map((s) => s.path), fx.rows, chosen.map(matcherOf), out);
    expect(res.warnings).toEqual([]);
    for (const f of chosen) expect(res.perFlow.get(f.id), `flow ${f.id}`).toBe(f.packetsOut + f.packetsIn);
    for (const filter of new Set(chosen.map(tupleFilter))) {
      const sameTuple = chosen.filter((f) => tupleFilter(f) === filter);
      const inSegments = fx.segments.reduce((a, s) => a + tsharkColumns(s.path, ['frame.number'], filter).length, 0);
      const inExport = tsharkColumns(out, ['frame.number'], filter).length;
      expect([inExport, inSegments]).toEqual(Array(2).fill(sameTuple.reduce((a, f) => a + res.perFlow.get(f.id)!, 0)));
    }
    expect(tsharkColumns(out, ['frame.number']).length).toBe(res.packets);

    const gone = path.join(root, 'gone.pcapng');
    const row = fx.rows.find((r) => r.flowSeq === chosen[0].id)!;
    const res2 = exportFlows([], [{ ...row, segmentPath: gone }], [matcherOf(chosen[0])], path.join(root, 'x.pcapng'));
    expect(res2.packets).toBe(0);
    expect(res2.warnings.join()).toContain('gone.pcapng');
  });

  it('through the store tables (migration 2): write the drained rows, read them back, export the same', () => {
    const db = openDb(path.join(root, 'db', 'audit.db'));
    const sessionId = Number(db.prepare(`INSERT INTO sessions (kind, source, interfaces, recorded_at) VALUES ('live', 'lo', '[]', 0)`).run().lastInsertRowid);
    db.transaction(() => writeEvidenceRows(db, sessionId, fx.drained, fx.rows, []))();
    const files = db.prepare('SELECT path, sha256, packets, closed FROM evidence_files ORDER BY seq').all() as { path: string; sha256: string; packets: number; closed: number }[];
    expect(files).toEqual(fx.segments.map((s) => ({ path: s.path, sha256: s.sha256, packets: s.packets, closed: 1 })));
    const [flow] = bySpread();
    const got = evidenceForFlows(db, sessionId, [flow.id]);
    const out = path.join(root, 'from-db.pcapng');
    const res = exportFlows(got.segmentOrder, got.rows, [matcherOf(flow)], out);
    expect(res.packets).toBe(flow.packetsOut + flow.packetsIn);
    // Retention forgets a file with its index rows.
    db.transaction(() => writeEvidenceRows(db, sessionId, [], [], [fx.segments[0].path]))();
    expect(db.prepare('SELECT count(*) AS n FROM evidence_files').get()).toEqual({ n: fx.segments.length - 1 });
    const firstSegRows = fx.rows.filter((r) => r.segmentPath === fx.segments[0].path).length;
    expect(db.prepare('SELECT count(*) AS n FROM evidence_index').get()).toEqual({ n: fx.rows.length - firstSegRows });
    db.close();
  });
});

describe('reading a block range (readCaptureFile startAt/endAt)', () => {
  it('reads the leading interface blocks, then only the blocks from startAt through endAt', () => {
    const file = path.join(root, 'range.pcapng');
    const w = createPcapngWriter(file);
    w.addInterface({ linktype: 1, snaplen: 65535 });
    w.addInterface({ linktype: 101, snaplen: 65535 });
    const offsets: number[] = [];
    for (let i = 0; i < 10; i++) {
      offsets.push(w.bytesWritten);
      w.writePacket(i % 2, 1_700_000_000_000_000 + i, Buffer.alloc(40 + i, i), 0, 40 + i, 40 + i, null);
    }
    w.close();
    const seen: [number, number][] = [];
    const r = readCaptureFile(file, (p) => seen.push([p.caplen - 40, p.linktype]), { startAt: offsets[3], endAt: offsets[6] });
    expect(seen).toEqual([[3, 101], [4, 1], [5, 101], [6, 1]]);
    expect(r.warnings).toEqual([]);
    const all: number[] = [];
    readCaptureFile(file, (p) => all.push(p.caplen - 40));
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a classic pcap cannot be read by block range', () => {
    const file = path.join(root, 'range.pcap');
    const w = createPcapWriter(file, { linktype: 1 });
    w.writePacket(0, Buffer.alloc(60), 0, 60, 60);
    w.close();
    expect(() => readCaptureFile(file, () => {}, { startAt: 24 })).toThrow(RangeError);
  });
});
