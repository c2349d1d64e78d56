/**
 * Where evidence.pcapng comes from when it is not a plain import: a live session's evidence
 * segments, a source capture that is gone or was replaced. Missing packets must be said.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createEvidenceWriter, type SegmentInfo } from '../../src/store/evidence-writer.js';
import { writeEvidenceRows } from '../../src/store/evidence-store.js';
import type { Db } from '../../src/store/open-db.js';
import { writeReport } from '../../src/report/write-report.js';
import type { ReportData } from '../../src/report/report-types.js';
import { fixture } from '../differential/fixture-files.js';
import { writeEvidenceFrom } from '../evidence/helpers.js';
import { claim, DEMO, flowIds, importInto, missing, tmpDir, tupleFilter } from './helpers.js';
import { tsharkColumns } from '../helpers/tshark.js';

const root = tmpDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const readJson = (dir: string, name: string) => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));

/** A copy of session 1 as a live session (id returned) whose packets sit in evidence segments, as the daemon leaves them. */
function fakeLiveSession(db: Db, segDir: string): { id: number; segments: SegmentInfo[] } {
  const id = Number(db.prepare(`INSERT INTO sessions (kind, source, format, interfaces, recorded_at, packets, started_at, ended_at)
    SELECT 'live', 'oafx-h0,lo', 'live', interfaces, recorded_at, packets, started_at, ended_at FROM sessions WHERE id = 1`).run().lastInsertRowid);
  for (const table of ['flows', 'processes']) {
    const cols = (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name).filter((c) => c !== 'id');
    db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) SELECT ${cols.map((c) => (c === 'session_id' ? `${id}` : c)).join(', ')}
      FROM ${table} WHERE session_id = 1`).run();
  }
  // Policy `full` keeps the runner's body in the segments: the report must still cut it.
  const w = createEvidenceWriter({ dir: segDir, policy: 'full', session: 'live', maxSegmentBytes: 32768 });
  const { rows } = writeEvidenceFrom(DEMO, w);
  writeEvidenceRows(db, id, w.drainSegments(), rows, []);
  return { id, segments: w.segments() };
}

const noTshark = missing('tshark');

describe.skipIf(noTshark !== null)(`evidence from a live session's segments${noTshark ? ` (skipped: ${noTshark})` : ''}`, () => {
  let db: Db;
  let live: { id: number; segments: SegmentInfo[] };
  let findings: number[];
  let importFindings: number[];

  beforeAll(async () => {
    const dir = path.join(root, 'live');
    fs.mkdirSync(dir);
    db = (await importInto(dir, DEMO)).db;
    live = fakeLiveSession(db, path.join(dir, 'segments'));
    const where = "(activity = 'registry' OR activity = 'runner' OR activity = 'api:/api/generate')";
    findings = flowIds(db, `session_id = ${live.id} AND ${where}`);
    importFindings = flowIds(db, `session_id = 1 AND ${where}`);
  });
  afterAll(() => db.close());

  it('exports the finding flows from the segments, cut and without command lines', () => {
    expect(live.segments.length).toBeGreaterThan(3);
    const segBytes = Buffer.concat(live.segments.map((s) => fs.readFileSync(s.path)));
    expect(segBytes.includes('sky blue')).toBe(true); // the runner's request body and curl's Args are in the segments
    const out = path.join(root, 'live-report');
    const r = writeReport(db, out, { sessions: [live.id], claims: [claim('c', findings)], coverage: null });
    expect(r.manifest.sessions).toEqual([live.id]);
    expect(r.manifest.evidence).toMatchObject({ complete: true, warnings: [] });
    const ev = path.join(out, 'evidence.pcapng');
    const expected = importFindings.reduce((n, id) => n + tsharkColumns(DEMO, ['frame.number'], tupleFilter(db, id)).length, 0);
    expect(tsharkColumns(ev, ['frame.number']).length).toBe(expected);
    expect(tsharkColumns(ev, ['tls.handshake.extensions_server_name'], 'tls.handshake.type==1').map((x) => x[0])).toContain('registry.ollama.ai');
    const bytes = fs.readFileSync(ev);
    expect(bytes.includes('sky blue')).toBe(false);
    expect(bytes.includes('Args:')).toBe(false);
    expect(bytes.includes('POST /completion HTTP/1.1\r\n')).toBe(true);
  });

  it('says so when a segment was deleted by retention', () => {
    const gone = live.segments.find((s) => fs.readFileSync(s.path).includes('registry.ollama.ai'))!;
    fs.rmSync(gone.path);
    const out = path.join(root, 'live-report-gone');
    const r = writeReport(db, out, { sessions: [live.id], claims: [claim('c', findings)], coverage: null });
    expect(r.manifest.evidence.complete).toBe(false);
    expect(r.manifest.evidence.warnings.join('\n')).toContain(`${gone.path} is gone`);
    expect(r.manifest.evidence.warnings.some((w) => /^flow \d+: \d+ of its \d+ packets are in the evidence file$/.test(w))).toBe(true);
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('<strong>incomplete</strong>');
  });
});

describe('evidence from an imported file that is gone or changed', () => {
  it('a deleted source: no evidence file, and the report and manifest say why', async () => {
    const dir = path.join(root, 'gone');
    fs.mkdirSync(dir);
    const copy = path.join(dir, 'pull.pcapng');
    fs.copyFileSync(DEMO, copy);
    const st = await importInto(dir, copy);
    const ids = flowIds(st.db, "activity = 'registry'");
    fs.rmSync(copy);
    const out = path.join(dir, 'report');
    const r = writeReport(st.db, out, { claims: [claim('c', ids)], coverage: null });
    st.db.close();
    expect(fs.existsSync(path.join(out, 'evidence.pcapng'))).toBe(false);
    expect(r.manifest.evidence.file).toBeNull();
    expect(r.manifest.evidence.complete).toBe(false);
    expect(r.manifest.evidence.warnings[0]).toBe(`session 1: its capture file ${copy} is gone: the packets of ${ids.length} finding flow(s) are not in the evidence file`);
    const report = readJson(out, 'report.json') as ReportData;
    expect(report.evidence.warnings).toEqual(r.manifest.evidence.warnings);
    expect(fs.readFileSync(path.join(out, 'report.md'), 'utf8')).toContain('is gone');
    expect(fs.readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('is gone');
  });

  it('a source replaced by another capture: the report says it changed', async () => {
    const dir = path.join(root, 'changed');
    fs.mkdirSync(dir);
    const copy = path.join(dir, 'pull.pcap');
    fs.copyFileSync(DEMO, copy);
    const st = await importInto(dir, copy);
    const ids = flowIds(st.db, "activity = 'registry'");
    fs.copyFileSync(fixture('pull-eth-nano.pcap'), copy);
    const r = writeReport(st.db, path.join(dir, 'report'), { claims: [claim('c', ids)], coverage: null });
    st.db.close();
    expect(r.manifest.evidence.complete).toBe(false);
    expect(r.manifest.evidence.warnings.join('\n')).toMatch(new RegExp(`session 1: its capture file ${copy.replace(/[.]/g, '\\.')} changed since it was imported`));
  });
});
