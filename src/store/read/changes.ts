/**
 * "What changed since": for readers that follow a store another process writes (the dashboard,
 * `export --follow`). A reader keeps the store's data_version and a watermark (the largest
 * last_seen it has, µs) and asks again when data_version moves.
 */
import type { Db } from '../open-db.js';
import { iterateFlowsWhere, type FlowRecord } from './flows.js';

/** SQLite's data_version: changes whenever another connection commits to the store. */
export function dataVersion(db: Db): number {
  return db.pragma('data_version', { simple: true }) as number;
}

/** Largest last_seen of a session's flows (µs), or null when it has none: the next watermark. */
export function flowWatermark(db: Db, sessionId: number): number | null {
  return (db.prepare('SELECT max(last_seen) AS w FROM flows WHERE session_id = ?').get(sessionId) as { w: number | null }).w;
}

/**
 * The session's flows whose last packet is later than `since` (µs), new or updated (a live flow's
 * row grows in place), in time order, one at a time. Uses flows(session_id, last_seen).
 */
export function flowsChangedSince(db: Db, sessionId: number, since: number): Generator<FlowRecord> {
  return iterateFlowsWhere(db, 'f.session_id = ? AND f.last_seen > ?', [sessionId, since]);
}
