/**
 * `export`'s options (issue #12): --since as RFC 3339 or a duration, --session, --out and --cursor
 * through safe-files (exclusive create, links and others' files refused), and every bad value as
 * one line on stderr with exit 2, nothing written.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSince } from '../../src/commands/parse-units.js';
import { itNeeding } from '../helpers/needs.js';
import { runCli } from '../helpers/run-cli.js';
import { CONN_STATES, exported, FIXTURES, flowsJson, storeWith, tempDir } from './helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'ollama-audit.js');
const tmp = tempDir('oaex-opts-');
afterAll(tmp.remove);

let db: string;
beforeAll(async () => { db = await storeWith(tmp.dir, CONN_STATES); });

/** A refused run: exit 2, one line on stderr, nothing on stdout. */
async function refused(...args: string[]): Promise<string> {
  const r = await runCli('export', '--db', db, ...args);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stdout).toBe('');
  return r.stderr;
}

const csvRows = (text: string) => text.trimEnd().split('\r\n').slice(1);

describe('--since', () => {
  it('reads RFC 3339 times (Z, offsets, fractions) and durations back from now', () => {
    expect(parseSince('2026-11-30T12:00:00Z')).toBe(Date.UTC(2026, 10, 30, 12) * 1000);
    expect(parseSince('2026-11-30T13:00:00+01:00')).toBe(Date.UTC(2026, 10, 30, 12) * 1000);
    expect(parseSince('2026-11-30t12:00:00.000123z')).toBe(Date.UTC(2026, 10, 30, 12) * 1000 + 123);
    expect(parseSince('90m', Date.UTC(2026, 10, 30, 12))).toBe(Date.UTC(2026, 10, 30, 10, 30) * 1000);
    for (const bad of ['yesterday', '2026-02-30T00:00:00Z', '2026-11-30T12:00:00', '2026-11-30', '12:00', '-5m']) expect(() => parseSince(bad), bad).toThrow(/RFC 3339/);
  });

  it('keeps the flows whose last packet is at or after it (the store\'s flows --json says which)', async () => {
    const flows = await flowsJson(db);
    const cut = flows[10].last_seen!;
    const expected = flows.filter((f) => f.last_seen! >= cut).map((f) => String(f.id)).sort();
    const got = csvRows(await exported(db, '--format', 'csv', '--since', cut)).map((l) => l.split(',')[1]).sort();
    expect(got).toEqual(expected);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(flows.length);
    expect(csvRows(await exported(db, '--format', 'csv', '--since', '1s'))).toEqual([]); // the capture is older
    expect(csvRows(await exported(db, '--format', 'csv', '--since', '36500d'))).toHaveLength(flows.length);
  });

  it('a bad time or duration: one line, exit 2', async () => {
    expect(await refused('--format', 'ecs', '--since', 'yesterday')).toMatch(/--since.*RFC 3339/);
  });
});

describe('bad values', () => {
  it('--format must be ecs, zeek or csv; it is required', async () => {
    expect(await refused('--format', 'json')).toMatch(/ecs, zeek, csv/);
    expect(await refused()).toMatch(/--format/);
  });

  it('an unknown --session', async () => {
    expect(await refused('--format', 'ecs', '--session', '9')).toMatch(/no session 9/);
  });
});

describe('--out', () => {
  it('writes a new 0600 file with what standard output would get', async () => {
    const out = join(tmp.dir, 'conn.csv');
    expect((await runCli('export', '--db', db, '--format', 'csv', '--out', out)).code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readFileSync(out, 'utf8')).toBe(await exported(db, '--format', 'csv'));
  });

  it('refuses an existing file, a link (even dangling) and a folder others can write', async () => {
    const existing = join(tmp.dir, 'existing.ndjson');
    writeFileSync(existing, 'keep me\n');
    expect(await refused('--format', 'ecs', '--out', existing)).toMatch(/already exists/);
    expect(readFileSync(existing, 'utf8')).toBe('keep me\n');
    const link = join(tmp.dir, 'link.ndjson');
    symlinkSync(join(tmp.dir, 'nowhere'), link);
    expect(await refused('--format', 'ecs', '--out', link)).toMatch(/symbolic link/);
    expect(existsSync(join(tmp.dir, 'nowhere'))).toBe(false);
    const open = join(tmp.dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(await refused('--format', 'ecs', '--out', join(open, 'x.ndjson'))).toMatch(/written by other users/);
  });
});

describe('--cursor', () => {
  it('a second run with the cursor writes nothing new; another format\'s cursor or a file that is not one is refused', async () => {
    const cursor = join(tmp.dir, 'c.cursor');
    expect(csvRows(await exported(db, '--format', 'csv', '--cursor', cursor))).toHaveLength((await flowsJson(db)).length);
    expect(statSync(cursor).mode & 0o777).toBe(0o600);
    expect(csvRows(await exported(db, '--format', 'csv', '--cursor', cursor))).toEqual([]);
    expect(await refused('--format', 'zeek', '--cursor', cursor)).toMatch(/--format csv/);
    const junk = join(tmp.dir, 'junk.cursor');
    writeFileSync(junk, '{"not": "a cursor"}', { mode: 0o600 });
    expect(await refused('--format', 'csv', '--cursor', junk)).toMatch(/not an export cursor/);
    const link = join(tmp.dir, 'link.cursor');
    symlinkSync(cursor, link);
    expect(await refused('--format', 'csv', '--cursor', link)).toMatch(/symbolic link/);
  });
});

itNeeding(['dist', 'bash'], 'a reader that leaves early (| head -1) ends the export quietly, exit 0', async () => {
  const big = await storeWith(tmp.dir, join(FIXTURES, 'syn-flood.pcap')); // 601 flows: ~600 KB of ECS, more than a pipe holds
  const r = spawnSync('bash', ['-c', `node "${BIN}" export --db "${big}" --format ecs | head -1; echo "exit=\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
  const [first, status] = r.stdout.trimEnd().split('\n');
  expect(first).toMatch(/^\{"@timestamp"/);
  expect(status).toBe('exit=0');
  expect(r.stderr).toBe('');
});
