/** Session rows as stored (times in µs, JSON columns as text): what reports, claims and evidence read. */
import type { Db } from '../open-db.js';

export interface SessionRow {
  id: number;
  kind: string;
  source: string;
  format: string | null;
  interfaces: string;
  started_at: number | null;
  ended_at: number | null;
  packets: number;
  drops: number | null;
  loss_estimate: number | null;
  skipped: string;
  warnings: string;
  stopped_at: number | null;
}

const COLS = 'id, kind, source, format, interfaces, started_at, ended_at, packets, drops, loss_estimate, skipped, warnings, stopped_at';

/** Sessions in id order; only `ids` when given. */
export function sessionRows(db: Db, ids?: readonly number[]): SessionRow[] {
  if (ids === undefined) return db.prepare(`SELECT ${COLS} FROM sessions ORDER BY id`).all() as SessionRow[];
  return db.prepare(`SELECT ${COLS} FROM sessions WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`)
    .all(JSON.stringify(ids)) as SessionRow[];
}

export function sessionIds(db: Db): number[] {
  return (db.prepare('SELECT id FROM sessions ORDER BY id').all() as { id: number }[]).map((r) => r.id);
}

export function processCount(db: Db, sessionId: number): number {
  return (db.prepare('SELECT count(*) AS n FROM processes WHERE session_id = ?').get(sessionId) as { n: number }).n;
}

/**
 * The newest session a daemon wrote (kind 'live') and when its last write committed (µs; null
 * before the first), or null when there is none: what `service status` reports on.
 */
export function latestLiveSession(db: Db): { id: number; writtenAt: number | null } | null {
  const row = db.prepare("SELECT id, written_at FROM sessions WHERE kind = 'live' ORDER BY id DESC LIMIT 1").get() as { id: number; written_at: number | null } | undefined;
  return row === undefined ? null : { id: row.id, writtenAt: row.written_at };
}
