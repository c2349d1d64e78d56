/**
 * One live writer per store. Two daemons on one database would both record the same traffic,
 * counted twice with no warning; so a live session takes the store's single `live_writer` row in
 * the same IMMEDIATE transaction that creates its session (two starting at once are serialized by
 * SQLite), and gives it back when it ends. A row left by a writer that died (kill -9, power loss)
 * is taken over: its pid is gone, or now belongs to a process that started at another time.
 */
import type { Db } from './open-db.js';
import { readStat } from '../attribution/procfs-stat.js';
import { StoreError } from './store-error.js';
import { isoMicros } from './format-time.js';

export interface WriterIdentity {
  pid: number;
  /** Start time in clock ticks after boot (Linux); null where it cannot be read. */
  startTicks: number | null;
}

interface WriterRow { pid: number; start_ticks: number | null; session_id: number; since: number }

export function thisProcess(): WriterIdentity {
  return { pid: process.pid, startTicks: readStat('/proc', process.pid)?.startTicks ?? null };
}

/** Is the process that took the store still the one running under that pid? */
export function writerAlive(w: WriterIdentity): boolean {
  const stat = readStat('/proc', w.pid);
  if (stat !== null) return w.startTicks === null || stat.startTicks === w.startTicks;
  try {
    process.kill(w.pid, 0); // no procfs (macOS): the pid exists; without a start time, take it as alive
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the store for `sessionId`, or throws a StoreError naming the writer that holds it. Call inside a transaction. */
export function takeLiveWriter(db: Db, sessionId: number, me: WriterIdentity, alive = writerAlive): void {
  const held = db.prepare('SELECT pid, start_ticks, session_id, since FROM live_writer WHERE id = 1').get() as WriterRow | undefined;
  if (held && held.pid !== me.pid && alive({ pid: held.pid, startTicks: held.start_ticks })) {
    throw new StoreError(`another ollama-audit (pid ${held.pid}) has been recording into this store since ${isoMicros(held.since)} (session ${held.session_id}): stop it first, or pass another --db`);
  }
  db.prepare('INSERT OR REPLACE INTO live_writer (id, pid, start_ticks, session_id, since) VALUES (1, ?, ?, ?, ?)')
    .run(me.pid, me.startTicks, sessionId, Date.now() * 1000);
}

/** Gives the store back (only if this session still holds it). */
export function releaseLiveWriter(db: Db, sessionId: number, me: WriterIdentity): void {
  db.prepare('DELETE FROM live_writer WHERE id = 1 AND pid = ? AND session_id = ?').run(me.pid, sessionId);
}
