/**
 * One live writer per store (issue #9 item 9): a second daemon on the same database would record
 * the same traffic again. Unit cases on a real store, then two real daemons on loopback.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openDb, type Db } from '../../src/store/open-db.js';
import { beginLiveSession } from '../../src/store/live-session.js';
import { thisProcess, writerAlive } from '../../src/store/live-writer.js';
import { describeNeeding } from '../helpers/needs.js';

const root = resolve(import.meta.dirname, '../..');
const fresh = (): Db => openDb(join(mkdtempSync(join(tmpdir(), 'oa-writer-')), 'a.db'));
const start = { kind: 'live' as const, source: 'lo', format: 'live' };
const end = { interfaces: [], packets: 0, startedAt: null, endedAt: null, drops: 0, lossEstimate: null, skipped: {}, warnings: [], stoppedAt: null };

/** A pid that is certainly not running: a child that has exited and been reaped. */
function deadPid(): number {
  return spawnSync('true').pid!;
}

describe('the store has one live writer', () => {
  it('a second live session while the first runs is refused, naming the first', () => {
    const db = fresh();
    // The holder: our parent, a process that is certainly alive and not us.
    const first = beginLiveSession(db, start, { pid: process.ppid, startTicks: null });
    expect(() => beginLiveSession(db, start, thisProcess())).toThrow(new RegExp(`another ollama-audit \\(pid ${process.ppid}\\) .*session ${first.sessionId}.*stop it first, or pass another --db`));
    // Nothing of the refused session was stored.
    expect(db.prepare('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 1 });
  });

  it('a writer that died without ending is taken over; so is a pid reused by a later process', () => {
    const db = fresh();
    const s1 = beginLiveSession(db, start, { pid: deadPid(), startTicks: 5 });
    expect(db.prepare('SELECT session_id FROM live_writer').get()).toEqual({ session_id: s1.sessionId });
    const s2 = beginLiveSession(db, start, thisProcess());
    expect(db.prepare('SELECT pid, session_id FROM live_writer').get()).toEqual({ pid: process.pid, session_id: s2.sessionId });
    // Our own pid, but a different start time: a reused pid, not the writer that took the store.
    expect(writerAlive({ pid: process.pid, startTicks: (thisProcess().startTicks ?? 0) + 1 })).toBe(process.platform !== 'linux');
    expect(writerAlive(thisProcess())).toBe(true);
    expect(writerAlive({ pid: deadPid(), startTicks: null })).toBe(false);
  });

  it('a clean end gives the store back', () => {
    const db = fresh();
    const s = beginLiveSession(db, start, thisProcess());
    s.end(end);
    expect(db.prepare('SELECT count(*) AS n FROM live_writer').get()).toEqual({ n: 0 });
    expect(() => beginLiveSession(db, start, { pid: process.ppid, startTicks: null }).end(end)).not.toThrow();
  });
});

/** The pid holding the store, or null (also while the daemon is still creating it). */
function heldBy(db: string): number | null {
  try {
    const r = openDb(db, { readonly: true });
    try {
      return (r.prepare('SELECT pid FROM live_writer').get() as { pid: number } | undefined)?.pid ?? null;
    } finally {
      r.close();
    }
  } catch {
    return null;
  }
}

describeNeeding(['root', 'cap'], 'two real daemons on one database', () => {
  it('the second exits 2 with one line naming the first one\'s pid; the first keeps recording', async () => {
    if (!existsSync(join(root, 'dist', 'commands', 'cli.js'))) throw new Error('dist/ missing: run npm run build (npm install does it)');
    const db = join(mkdtempSync(join(tmpdir(), 'oa-writer-live-')), 'audit.db');
    const args = [join(root, 'bin', 'ollama-audit.js'), 'daemon', '-i', 'lo', '--db', db, '--evidence', 'none'];
    const first = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      // Wait until the first has taken the store (its live_writer row is committed).
      const deadline = Date.now() + 20_000;
      for (;;) {
        if (heldBy(db) !== null) break;
        if (Date.now() > deadline) throw new Error('the first daemon never took the store');
        await new Promise((ok) => setTimeout(ok, 50));
      }
      const second = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 20_000 });
      expect(second.status).toBe(2);
      expect(second.stderr.trim().split('\n')).toHaveLength(1);
      expect(second.stderr).toContain(`another ollama-audit (pid ${first.pid})`);
      expect(first.exitCode).toBeNull();
    } finally {
      first.kill('SIGTERM');
      await new Promise((ok) => first.once('exit', ok));
    }
    const r = openDb(db, { readonly: true });
    expect(r.prepare('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 1 });
    expect(r.prepare('SELECT count(*) AS n FROM live_writer').get()).toEqual({ n: 0 });
    r.close();
  }, 60_000);
});
