/**
 * "What changed since" (issue #10 part 2): a follower keeps data_version and a watermark; another
 * connection's commit moves data_version, and the changed flows are exactly those past the mark.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/store/open-db.js';
import { dataVersion, flowsChangedSince, flowWatermark } from '../../src/store/read/changes.js';
import { runCli } from '../helpers/run-cli.js';
import { epochToMicros, tsharkColumns } from '../helpers/tshark.js';
import { itNeeding } from '../helpers/needs.js';

const CAPTURE = join(__dirname, '..', '..', 'fixtures', 'api-keepalive.pcap');
let dir = '';
let path = '';
let db: Db;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'oabg-changes-'));
  path = join(dir, 'a.db');
  expect((await runCli('import', CAPTURE, '--db', path)).code).toBe(0);
  db = openDb(path, { readonly: true });
});

afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('flowsChangedSince', () => {
  itNeeding(['tshark'], 'the watermark is the capture\'s last packet (tshark), and nothing is past it', () => {
    const last = tsharkColumns(CAPTURE, ['frame.time_epoch']).at(-1)![0];
    expect(flowWatermark(db, 1)).toBe(epochToMicros(last));
    expect([...flowsChangedSince(db, 1, flowWatermark(db, 1)!)]).toEqual([]);
    expect([...flowsChangedSince(db, 1, flowWatermark(db, 1)! - 1)].map((f) => f.activity)).toEqual(['api:/api/chat']);
  });

  it('another connection\'s commit moves data_version; the updated flow is the one changed since the mark', () => {
    const mark = flowWatermark(db, 1)!;
    const version = dataVersion(db);
    const writer = new Database(path);
    try {
      writer.prepare('UPDATE flows SET last_seen = last_seen + 1000000 WHERE session_id = 1').run();
    } finally {
      writer.close();
    }
    expect(dataVersion(db)).not.toBe(version);
    const changed = [...flowsChangedSince(db, 1, mark)];
    expect(changed).toHaveLength(1);
    expect(Date.parse(changed[0].last_seen!) * 1000).toBe(Math.floor((mark + 1e6) / 1000) * 1000);
  });

  it('is answered from the flows(session_id, last_seen) index', () => {
    const plan = db.prepare('EXPLAIN QUERY PLAN SELECT id FROM flows f WHERE f.session_id = ? AND f.last_seen > ?').all(1, 0) as { detail: string }[];
    expect(plan.map((p) => p.detail).join('\n')).toMatch(/flows_session_last_seen/);
  });
});
