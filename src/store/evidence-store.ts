/**
 * Evidence rows in SQLite: the segment files and, per flow and segment, where the flow's
 * packets sit. Called by the daemon inside its once-a-second transaction with what the
 * evidence writer drained; opens no transaction of its own.
 * The tables are migration 2 in src/store/schema.ts.
 */
import type { Db } from './open-db.js';
import type { EvidenceIndexRow, SegmentInfo } from './evidence-writer.js';
import type { ExportRow } from './evidence-export.js';


/** Upserts drained segments and index rows (counts are cumulative), then forgets deleted files. */
export function writeEvidenceRows(
  db: Db, sessionId: number, segments: readonly SegmentInfo[], rows: readonly EvidenceIndexRow[], deleted: readonly string[],
): void {
  const upsertFile = db.prepare(`INSERT INTO evidence_files
      (session_id, seq, path, first_ts, last_ts, bytes, packets, sha256, closed, incomplete)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT(path) DO UPDATE SET first_ts = excluded.first_ts, last_ts = excluded.last_ts,
      bytes = excluded.bytes, packets = excluded.packets, sha256 = excluded.sha256,
      closed = excluded.closed, incomplete = excluded.incomplete`);
  const upsertRow = db.prepare(`INSERT INTO evidence_index
      (file_id, session_id, flow_seq, first_offset, last_offset, packets)
    SELECT id, ?, ?, ?, ?, ? FROM evidence_files WHERE path = ?
    ON CONFLICT(file_id, flow_seq) DO UPDATE SET last_offset = excluded.last_offset, packets = excluded.packets`);
  const forget = db.prepare('DELETE FROM evidence_files WHERE path = ?');
  for (const s of segments) {
    upsertFile.run(sessionId, s.seq, s.path, s.firstTs, s.lastTs, s.bytes, s.packets, s.sha256, s.closed ? 1 : 0, s.incomplete ? 1 : 0);
  }
  for (const r of rows) upsertRow.run(sessionId, r.flowSeq, r.firstOffset, r.lastOffset, r.packets, r.segmentPath);
  for (const p of deleted) forget.run(p);
}

/** What exportFlows needs for some flows of a session: segment paths oldest first, and their rows. */
export function evidenceForFlows(db: Db, sessionId: number, flowSeqs: readonly number[]): { segmentOrder: string[]; rows: ExportRow[] } {
  const rows = db.prepare(`SELECT i.flow_seq AS flowSeq, f.path AS segmentPath, i.first_offset AS firstOffset,
      i.last_offset AS lastOffset, f.seq AS seq
    FROM evidence_index i JOIN evidence_files f ON f.id = i.file_id
    WHERE i.session_id = ? AND i.flow_seq IN (SELECT value FROM json_each(?))
    ORDER BY f.seq, i.first_offset`).all(sessionId, JSON.stringify(flowSeqs)) as (ExportRow & { seq: number })[];
  const segmentOrder = [...new Set(rows.map((r) => r.segmentPath))];
  return { segmentOrder, rows: rows.map(({ flowSeq, segmentPath, firstOffset, lastOffset }) => ({ flowSeq, segmentPath, firstOffset, lastOffset })) };
}
