/**
 * What `export` adds to a flow record: the columns the flow table does not show but log formats
 * carry (Zeek's payload byte counts, the IP version, the owning process's parent, start time, hash
 * and user), and each session's coverage, which every exported row repeats.
 */
import type { Db } from '../open-db.js';

export interface FlowExtras {
  /** The stored times in µs (FlowRecord shows them as text). */
  first_seen_us: number;
  last_seen_us: number;
  ip_version: number;
  /** Transport payload bytes from the initiator / responder (Zeek's orig_bytes / resp_bytes). */
  payload_out: number;
  payload_in: number;
  ppid: number | null;
  /** µs since the epoch; null when not known. */
  process_start: number | null;
  exe_sha256: string | null;
  uid: number | null;
}

export interface SessionCoverageRow {
  id: number;
  kind: string;
  drops: number | null;
  loss_estimate: number | null;
  /** JSON array of windows the store could not write (NULL: none). */
  gaps: string | null;
  /** JSON {kind: count} of flows closed before their time. */
  expired_early: string;
}

/** A lookup of one flow's extras by flow id (one prepared statement, reused for every flow). */
export function flowExtrasLookup(db: Db): (flowId: number) => FlowExtras | null {
  const stmt = db.prepare(`SELECT f.first_seen AS first_seen_us, f.last_seen AS last_seen_us, f.ip_version, f.payload_out, f.payload_in, p.ppid, p.start_time AS process_start,
      p.exe_sha256, p.uid FROM flows f
    LEFT JOIN processes p ON p.session_id = f.session_id AND p.seq = f.process_seq WHERE f.id = ?`);
  return (flowId) => (stmt.get(flowId) as FlowExtras | undefined) ?? null;
}

/** The coverage columns of one session, or null when the store has no such session. */
export function sessionCoverageRow(db: Db, id: number): SessionCoverageRow | null {
  return (db.prepare('SELECT id, kind, drops, loss_estimate, gaps, expired_early FROM sessions WHERE id = ?')
    .get(id) as SessionCoverageRow | undefined) ?? null;
}
