/**
 * A report is written into a staging folder beside its target and renamed into place; a staging
 * folder left by a process killed midway (out of memory) is removed by the next report.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';

const CAPTURE = join(__dirname, '..', '..', 'fixtures', 'api-keepalive.pcap');
let dir = '';
let db = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'oabg-staging-'));
  db = join(dir, 'a.db');
  expect((await runCli('import', CAPTURE, '--db', db)).code).toBe(0);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('report staging', () => {
  it('leaves only the report folder beside it, and removes the staging folder of a dead process', async () => {
    const dead = spawnSync('true').pid!;
    const stale = join(dir, `.report.partial-${dead}-0badf00d`);
    mkdirSync(stale, { mode: 0o700 });
    const mine = join(dir, `.report.partial-${process.pid}-0badf00d`);
    mkdirSync(mine, { mode: 0o700 });
    const r = await runCli('report', '--db', db, '--out', join(dir, 'report'));
    expect(r.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual([`.report.partial-${process.pid}-0badf00d`, 'a.db', 'a.db-shm', 'a.db-wal', 'report'].sort());
    expect(readdirSync(join(dir, 'report')).sort()).toEqual(['manifest.json', 'report.html', 'report.json', 'report.md']);
    rmSync(mine, { recursive: true });
  });

  it('a second report into the same folder replaces the first one\'s files and keeps others', async () => {
    const out = join(dir, 'report');
    mkdirSync(join(out, 'notes'), { recursive: true });
    const r = await runCli('report', '--db', db, '--out', out);
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['manifest.json', 'notes', 'report.html', 'report.json', 'report.md']);
    expect(readdirSync(dir).filter((n) => n.includes('.partial'))).toEqual([]);
  });
});
