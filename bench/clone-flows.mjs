/**
 * Makes a big store fast: copies one real flow row (from an imported capture) `count` times with
 * SQL, in one transaction. Each copy gets its own seq, a later time (1 ms apart), its own
 * initiator port and a slightly different byte count, so ordering and "top N by bytes" have
 * something to sort. Used by bench/big-store.mjs and test/store/big-store.test.ts.
 */
import Database from 'better-sqlite3';

/** Copies the flow `templateId` (default: the one with the most bytes) `count` times; returns the store's flow count. */
export function cloneFlows(dbPath, count, templateId) {
  const db = new Database(dbPath);
  try {
    const tpl = templateId ?? db.prepare('SELECT id FROM flows ORDER BY bytes_out + bytes_in DESC, id LIMIT 1').get().id;
    const varied = {
      seq: '(SELECT max(seq) FROM flows WHERE session_id = t.session_id) + n.i',
      first_seen: 't.first_seen + n.i * 1000',
      last_seen: 't.last_seen + n.i * 1000',
      initiator_port: '10000 + n.i % 50000',
      bytes_out: 't.bytes_out + n.i % 997',
    };
    const cols = db.prepare('PRAGMA table_info(flows)').all().map((c) => c.name).filter((c) => c !== 'id');
    const values = cols.map((c) => varied[c] ?? `t.${c}`);
    db.transaction(() => {
      db.prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
        INSERT INTO flows (${cols.join(', ')}) SELECT ${values.join(', ')} FROM n, flows t WHERE t.id = ?`).run(count, tpl);
      db.prepare(`UPDATE sessions SET ended_at = max(coalesce(ended_at, 0), (SELECT max(last_seen) FROM flows WHERE session_id = sessions.id))`).run();
    })();
    return db.prepare('SELECT count(*) AS n FROM flows').get().n;
  } finally {
    db.close();
  }
}
