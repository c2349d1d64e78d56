/**
 * One hostile capture must not poison the store (issue #9 item 4). Real captures (the committed
 * fixtures) get broken clocks planted: a pcapng interface with if_tsoffset = -2^62 s, a pcapng
 * packet stamped 0xFFFFFFFFFFFFFFFF, classic pcap packets in 1970 and at the last second a pcap
 * can say (2106: 32-bit seconds cannot reach 2300). Import must skip exactly those packets as
 * `bad-timestamp` and keep the rest; afterwards every reader of the store must still work.
 * Packet counts come from capinfos, the real packets' times from tshark -n, never from us.
 */
import { execFileSync } from 'node:child_process';
import { epochToMicros, tsharkColumns } from '../helpers/tshark.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../helpers/run-cli.js';
import { describeNeeding } from '../helpers/needs.js';
import { fixture } from '../differential/fixture-files.js';
import { withEpbTimestamp, withPcapSeconds, withTsOffset } from '../helpers/hostile-times.js';
import { importFile } from '../../src/commands/import-file.js';
import { openDb } from '../../src/store/open-db.js';
import { createIngest } from '../../src/pipeline/ingest.js';
import { readCaptureFile } from '../../src/capture/read-file.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'oats-times-'));

interface Summary { session_id: number; packets: number; flows: number; skipped: Record<string, number> }

function capinfosCount(file: string): number {
  const text = execFileSync('capinfos', ['-c', '-M', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return Number(/Number of packets:\s*(\d+)/.exec(text)![1]);
}

/** tshark -n: µs since the epoch of every packet matching `filter`, in file order. */
function tsharkTimesUs(file: string, filter: string): number[] {
  return tsharkColumns(file, ['frame.time_epoch'], filter).map((r) => epochToMicros(r[0]));
}

async function importJson(db: string, file: string): Promise<{ run: CliRun; summary: Summary }> {
  const run = await runCli('import', file, '--db', db, '--json');
  return { run, summary: (JSON.parse(run.stdout) as Summary[])[0] };
}

/** Every reader of the store, as a user would run it; each must finish without a thrown error. */
async function readAll(db: string): Promise<Record<string, CliRun>> {
  const out = join(tmp(), 'report');
  return {
    flows: await runCli('flows', '--db', db),
    flowsJson: await runCli('flows', '--db', db, '--json'),
    sessions: await runCli('sessions', '--db', db),
    sessionsJson: await runCli('sessions', '--db', db, '--json'),
    claims: await runCli('claims', '--db', db),
    claimsJson: await runCli('claims', '--db', db, '--json'),
    verify: await runCli('verify', '--db', db, '--allow-idle'),
    exposure: await runCli('exposure', '--db', db, '--no-live'),
    report: await runCli('report', '--db', db, '--out', out),
  };
}

function expectNoCrash(runs: Record<string, CliRun>): void {
  for (const [name, r] of Object.entries(runs)) {
    expect(`${name}: ${r.stderr}`).not.toMatch(/RangeError|Invalid time value|\n\s+at /);
    // verify may rightly say "cannot tell" (exit 2) of these captures: then as one line, not a crash.
    expect(`${name}: exit ${r.code}`).toMatch(/: exit [012]$/);
    if (r.code === 2) expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }
  expect(runs.flows.code).toBe(0);
  expect(runs.flowsJson.code).toBe(0);
  expect(runs.sessions.code).toBe(0);
  expect(runs.report.code).toBe(0);
}

/** Times the store holds, by separate SQL: none may lie outside [lo, hi]. */
function storedTimesOutside(db: string, lo: number, hi: number): number {
  const d = new Database(db, { readonly: true });
  try {
    const q = (sql: string) => (d.prepare(sql).get({ lo, hi }) as { n: number }).n;
    return q('SELECT count(*) n FROM flows WHERE first_seen NOT BETWEEN @lo AND @hi OR last_seen NOT BETWEEN @lo AND @hi')
      + q('SELECT count(*) n FROM sessions WHERE started_at NOT BETWEEN @lo AND @hi OR ended_at NOT BETWEEN @lo AND @hi')
      + q('SELECT count(*) n FROM dns WHERE ts NOT BETWEEN @lo AND @hi')
      + q('SELECT count(*) n FROM http WHERE ts NOT BETWEEN @lo AND @hi');
  } finally {
    d.close();
  }
}

describeNeeding(['tshark', 'capinfos'], 'hostile capture clocks', () => {
  const PULL = fixture('pull-dumpcap.pcapng');

  it('pcapng interface with if_tsoffset = -2^62 s: its packets skipped as bad-timestamp, the other interface imported, readers work', async () => {
    const dir = tmp();
    const file = join(dir, 'tsoffset.pcapng');
    const planted = withTsOffset(PULL, file, 1, -(2n ** 62n));
    const db = join(dir, 'audit.db');
    const { run, summary } = await importJson(db, file);
    expect(run.code).toBe(0);
    expect(summary.packets).toBe(capinfosCount(file));
    expect(planted.packetsOnIface).toBeGreaterThan(0);
    expect(summary.skipped['bad-timestamp']).toBe(planted.packetsOnIface);
    expect(summary.flows).toBeGreaterThan(0);
    // The good interface's packets, by tshark on the untouched original, bound everything stored.
    const good = tsharkTimesUs(PULL, 'frame.interface_id == 0');
    expect(storedTimesOutside(db, Math.min(...good), Math.max(...good) + 1)).toBe(0);
    const text = await runCli('import', file, '--db', join(dir, 'text.db'));
    expect(text.stdout).toContain(`bad-timestamp ${planted.packetsOnIface}`);
    expectNoCrash(await readAll(db));
  });

  it('pcapng packet stamped 0xFFFFFFFFFFFFFFFF: that one packet skipped, the rest imported, readers work', async () => {
    const dir = tmp();
    const file = join(dir, 'ts-max.pcapng');
    withEpbTimestamp(PULL, file, 10, 0xffffffff, 0xffffffff);
    const db = join(dir, 'audit.db');
    const { run, summary } = await importJson(db, file);
    expect(run.code).toBe(0);
    expect(summary.packets).toBe(capinfosCount(file));
    expect(summary.skipped['bad-timestamp']).toBe(1);
    const all = tsharkTimesUs(PULL, 'frame');
    expect(storedTimesOutside(db, Math.min(...all), Math.max(...all) + 1)).toBe(0);
    expect(tsharkTimesUs(file, 'frame.number == 11')[0]).toBeGreaterThan(Date.UTC(2500, 0, 1) * 1000);
    expectNoCrash(await readAll(db));
  });

  it('classic pcap with a 1970 packet and a 2106 packet: both skipped, the other 59 imported, readers work', async () => {
    const dir = tmp();
    const src = fixture('conn-states.pcap');
    const file = join(dir, 'old-and-new.pcap');
    withPcapSeconds(src, file, [[5, 1000], [6, 0xffffffff]]);
    const times = tsharkTimesUs(file, 'frame.number == 6 || frame.number == 7');
    expect(new Date(times[0] / 1000).getUTCFullYear()).toBe(1970);
    expect(new Date(times[1] / 1000).getUTCFullYear()).toBe(2106);
    const db = join(dir, 'audit.db');
    const { run, summary } = await importJson(db, file);
    expect(run.code).toBe(0);
    expect(summary.packets).toBe(capinfosCount(file));
    expect(summary.skipped['bad-timestamp']).toBe(2);
    const real = tsharkTimesUs(src, 'frame');
    expect(storedTimesOutside(db, Math.min(...real), Math.max(...real) + 1)).toBe(0);
    const d = new Database(db, { readonly: true });
    const row = d.prepare('SELECT skipped FROM sessions WHERE id = ?').get(summary.session_id) as { skipped: string };
    d.close();
    expect(JSON.parse(row.skipped)['bad-timestamp']).toBe(2);
    expectNoCrash(await readAll(db));
  });

  it('"more than a day in the future" is measured from the import\'s clock', async () => {
    const dir = tmp();
    const real = tsharkTimesUs(PULL, 'frame');
    const first = Math.min(...real);
    const last = Math.max(...real);
    for (const name of ['a.db', 'b.db']) openDb(join(dir, name)).close();
    const early = await importFile(join(dir, 'a.db'), PULL, { nowUs: first - 2 * 86_400e6 });
    expect(early.skipped['bad-timestamp']).toBe(real.length);
    expect(early.flows).toBe(0);
    const halfDay = await importFile(join(dir, 'b.db'), PULL, { nowUs: last - 12 * 3600e6 });
    expect(halfDay.skipped['bad-timestamp']).toBeUndefined();
    expect(halfDay.packets).toBe(real.length);
  });

  it('a live capture\'s bound moves with its clock: tick() lets in what a day later is no longer the future', () => {
    const real = tsharkTimesUs(PULL, 'frame');
    const first = Math.min(...real);
    const ingest = createIngest({ flow: () => {}, dns: () => {}, http: () => {} }, {}, { nowUs: first - 2 * 86_400e6 });
    readCaptureFile(PULL, ingest.packet);
    expect(ingest.counts.skips['bad-timestamp']).toBe(real.length);
    ingest.tick(first); // the daemon calls tick(Date.now() * 1000) every second
    readCaptureFile(PULL, ingest.packet);
    expect(ingest.counts.skips['bad-timestamp']).toBe(real.length);
    expect(ingest.counts.decoded).toBeGreaterThan(0);
    expect(ingest.counts.packets).toBe(2 * real.length);
  });
});

describe('a store that already holds a bad time (written by an older version)', () => {
  it('every reader succeeds and shows the bad times as invalid', async () => {
    const dir = tmp();
    const db = join(dir, 'audit.db');
    const { run } = await importJson(db, fixture('api-keepalive.pcap'));
    expect(run.code).toBe(0);
    const d = new Database(db);
    // What the old import stored from if_tsoffset = -2^62 s and from a 0xFFFF... pcapng timestamp.
    d.prepare('UPDATE flows SET first_seen = ?, last_seen = ? WHERE id = (SELECT min(id) FROM flows)').run(-4.611686018427388e24, 1.8446744073709552e19);
    d.prepare('UPDATE sessions SET started_at = ?').run(-4.611686018427388e24);
    d.prepare('UPDATE http SET ts = ? WHERE id = (SELECT min(id) FROM http)').run(1.8446744073709552e19);
    d.close();
    const runs = await readAll(db);
    expectNoCrash(runs);
    expect(runs.flows.stdout).toContain('invalid');
    expect(runs.sessions.stdout).toContain('invalid');
    expect(runs.claims.stdout).toContain('stored capture window is invalid');
    const out = /report written to (\S+)/.exec(runs.report.stdout)![1];
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/\| invalid \|/);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('invalid');
    const flows = JSON.parse(runs.flowsJson.stdout) as { first_seen: string | null; last_seen: string | null; time_note?: string }[];
    const bad = flows.filter((f) => f.first_seen === null);
    expect(bad).toHaveLength(1);
    expect(bad[0].last_seen).toBeNull();
    expect(bad[0].time_note).toMatch(/invalid/);
    expect(flows.filter((f) => f.first_seen !== null).length).toBe(flows.length - 1);
    const sessions = JSON.parse(runs.sessionsJson.stdout) as { started_at: string | null; time_note?: string }[];
    expect(sessions[0].started_at).toBeNull();
    expect(sessions[0].time_note).toMatch(/invalid/);
    // The way out the note names: deleting that import leaves a store with no invalid time.
    expect((await runCli('sessions', 'delete', '1', '--db', db)).code).toBe(0);
    const after = await runCli('flows', '--db', db, '--json');
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toEqual([]);
  });
});
