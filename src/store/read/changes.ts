/**
 * "What changed since": for readers that follow a store another process writes (the dashboard,
 * `export --follow`). A reader keeps the store's data_version and a watermark (the largest
 * last_seen it has, µs) and asks again when data_version moves.
 */
import type { Db } from '../open-db.js';
import { iterateFlowsWhere, type FlowRecord } from './flows.js';
import { isoMicrosOrNull } from '../format-time.js';
import { protoName } from '../proto-name.js';

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

/**
 * What the dashboard keeps of a flow (watch/state/flow-state.ts): a FlowRecord has all of it, and
 * watchRowsChangedSince reads only this (no http models, no peer or effective process): a change
 * read of a busy store runs every half second.
 */
export type WatchRow = Pick<FlowRecord, 'id' | 'proto' | 'initiator_addr' | 'responder_addr' | 'responder_port' | 'hostname'
  | 'hostname_source' | 'activity' | 'ollama' | 'bytes_in' | 'bytes_out' | 'first_seen' | 'last_seen' | 'conn_state'>
  & { process: { pid: number; name: string; exe?: string | null } | null };

interface WatchSqlRow {
  id: number; proto: number; initiator_addr: string; responder_addr: string; responder_port: number; hostname: string | null;
  hostname_source: FlowRecord['hostname_source']; activity: string; ollama: number; bytes_in: number; bytes_out: number;
  first_seen: number; last_seen: number; conn_state: string | null; pid: number | null; comm: string | null;
}

/** As flowsChangedSince, only the dashboard's columns. */
export function* watchRowsChangedSince(db: Db, sessionId: number, since: number): Generator<WatchRow> {
  const rows = db.prepare(`SELECT f.id, f.proto, f.initiator_addr, f.responder_addr, f.responder_port, f.hostname, f.hostname_source,
      f.activity, f.ollama, f.bytes_in, f.bytes_out, f.first_seen, f.last_seen, f.conn_state, p.pid, p.comm FROM flows f
    LEFT JOIN processes p ON p.session_id = f.session_id AND p.seq = f.process_seq
    WHERE f.session_id = ? AND f.last_seen > ? ORDER BY f.first_seen, f.id`).iterate(sessionId, since);
  for (const r of rows as Iterable<WatchSqlRow>) {
    yield {
      id: r.id, proto: protoName(r.proto), initiator_addr: r.initiator_addr, responder_addr: r.responder_addr,
      responder_port: r.responder_port, hostname: r.hostname, hostname_source: r.hostname_source, activity: r.activity,
      ollama: r.ollama === 1, bytes_in: r.bytes_in, bytes_out: r.bytes_out, first_seen: isoMicrosOrNull(r.first_seen),
      last_seen: isoMicrosOrNull(r.last_seen), conn_state: r.conn_state, process: r.pid === null ? null : { pid: r.pid, name: r.comm ?? '' },
    };
  }
}
