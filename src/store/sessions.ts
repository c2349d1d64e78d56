/**
 * Sessions as a whole: which exist, what each holds, and deleting one with everything that
 * belongs to it. Readers of flows, claims and reports find their rows elsewhere.
 */
import type { Db } from './open-db.js';

/** One session and its flow counts, as `sessions` lists it. Times in µs. */
export interface SessionSummaryRow {
  id: number;
  kind: string;
  source: string;
  format: string | null;
  started_at: number | null;
  ended_at: number | null;
  recorded_at: number;
  packets: number;
  source_sha256: string | null;
  flows: number;
  ollama_flows: number;
}

export function listSessions(db: Db): SessionSummaryRow[] {
  return db.prepare(`SELECT s.id, s.kind, s.source, s.format, s.started_at, s.ended_at, s.recorded_at, s.packets, s.source_sha256,
      (SELECT count(*) FROM flows f WHERE f.session_id = s.id) AS flows,
      (SELECT count(*) FROM flows f WHERE f.session_id = s.id AND f.ollama = 1) AS ollama_flows
    FROM sessions s ORDER BY s.id`).all() as SessionSummaryRow[];
}

/** The ids among `ids` that name no session in the store, in the order given. */
export function unknownSessions(db: Db, ids: readonly number[]): number[] {
  const known = new Set((db.prepare('SELECT id FROM sessions').all() as { id: number }[]).map((r) => r.id));
  return ids.filter((id) => !known.has(id));
}

/** Whether a session is a live capture still open (ended_at NULL): a daemon may be writing it, or one was killed. */
export function sessionState(db: Db, id: number): { kind: string; ended: boolean } | null {
  const r = db.prepare('SELECT kind, ended_at FROM sessions WHERE id = ?').get(id) as { kind: string; ended_at: number | null } | undefined;
  return r === undefined ? null : { kind: r.kind, ended: r.ended_at !== null };
}

export interface DeletedSession {
  /** Rows removed, per table (the sessions row itself included). */
  rows: Record<string, number>;
  /** The session's evidence segment files, as the store named them: the caller removes them once this committed. */
  evidenceFiles: string[];
}

/**
 * Deletes session `id` and every row that belongs to it, in one transaction: every table with a
 * `session_id` column (found in the schema, so a table added later is not forgotten), evidence
 * index rows of its segments, then the session itself. Returns null (nothing done) when there is
 * no such session. Foreign-key cascades are not relied on: readers open the store without them.
 */
export function deleteSession(db: Db, id: number): DeletedSession | null {
  const tables = (db.prepare(`SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c
      WHERE m.type = 'table' AND c.name = 'session_id' AND m.name <> 'sessions' ORDER BY m.name`).all() as { name: string }[])
    .map((r) => r.name);
  return db.transaction((): DeletedSession | null => {
    if (db.prepare('SELECT 1 FROM sessions WHERE id = ?').get(id) === undefined) return null;
    const evidenceFiles = (db.prepare('SELECT path FROM evidence_files WHERE session_id = ? ORDER BY seq').all(id) as { path: string }[])
      .map((r) => r.path);
    const rows: Record<string, number> = {};
    // Index rows point at segment files by file id: take those of the session's files first.
    rows.evidence_index = db.prepare(`DELETE FROM evidence_index
      WHERE session_id = ? OR file_id IN (SELECT id FROM evidence_files WHERE session_id = ?)`).run(id, id).changes;
    for (const t of tables) {
      if (t === 'evidence_index') continue;
      rows[t] = db.prepare(`DELETE FROM "${t}" WHERE session_id = ?`).run(id).changes;
    }
    rows.sessions = db.prepare('DELETE FROM sessions WHERE id = ?').run(id).changes;
    return { rows, evidenceFiles };
  }).immediate();
}
