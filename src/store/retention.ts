/**
 * The store's bounds for a daemon that runs for months: `--retain` (flows older than the window)
 * and `--max-db` (oldest flows first while the store is over a size). Only CLOSED flows go, with
 * their DNS, HTTP and evidence-index rows, in small transactions (a batch of flows each), a few
 * per second within a time budget, so the daemon's per-second write never waits long for the
 * lock. Each deleted flow is added to `rollups` (schema 13) in the transaction that deletes it.
 * Session rows stay (coverage history: a session's window, drops and gaps), even when empty.
 */
import type { Db } from './open-db.js';
import { DEFAULT_IDLE_TIMEOUT_US } from '../flows/flow-table.js';

/**
 * A flow of a session still being captured is closed once it is idle past the flow table's longest
 * idle timeout (TCP, 5 min: the table expires it then, and the daemon writes it within a second);
 * a margin for the flush and a loaded machine. A flow of an ended session is closed.
 */
export const OPEN_FLOW_HORIZON_US = Math.max(DEFAULT_IDLE_TIMEOUT_US.tcp, DEFAULT_IDLE_TIMEOUT_US.udp, DEFAULT_IDLE_TIMEOUT_US.other) + 30e6;

/** The rollup key and sums of flows `f` (joined to their process `p`), grouped: shared with read/rollups.ts. */
export const ROLLUP_COLUMNS = 'day, destination, activity, process, ollama, flows, bytes_out, bytes_in, first_seen, last_seen';
export const ROLLUP_OF_FLOWS = `SELECT coalesce(strftime('%Y-%m-%d', f.first_seen / 1000000, 'unixepoch'), 'invalid') AS day,
    coalesce(f.hostname, f.responder_addr) AS destination, f.activity AS activity, coalesce(p.comm, '') AS process, f.ollama AS ollama,
    count(*) AS flows, sum(f.bytes_out) AS bytes_out, sum(f.bytes_in) AS bytes_in, min(f.first_seen) AS first_seen, max(f.last_seen) AS last_seen
  FROM flows f LEFT JOIN processes p ON p.session_id = f.session_id AND p.seq = f.process_seq`;
const ROLLUP_GROUP = 'GROUP BY 1, 2, 3, 4, 5';

export interface RetentionPolicy {
  /** µs: closed flows whose last packet is older than this are deleted; undefined: no age bound. */
  retainUs?: number;
  /** Bytes: while the store's pages in use exceed this, the oldest closed flows are deleted. */
  maxDbBytes?: number;
  /** Flows per transaction (default 100: with their DNS/HTTP/index rows well under 1000 rows, a few ms each). */
  batchFlows?: number;
  /** Time one step may take, ms (default 20: the per-second write stays well under 50 ms). */
  budgetMs?: number;
  /** Pages `PRAGMA incremental_vacuum` frees per step (default 1024: 4 MiB at 4 KiB pages). */
  vacuumPages?: number;
  /** Free pages that make a step vacuum (default 256: 1 MiB), so it does not run for a few pages every second. */
  vacuumFrom?: number;
}

/**
 * The capturing session's own open flows, from the engine that holds them: every other flow of
 * that session is closed (its row, written by the flush just before the step, is final), so a
 * short --retain applies exactly, without the horizon, and one idle open flow holds nothing back.
 */
export interface OpenFlows {
  sessionId: number;
  /** The seqs (flow ids) of the open flows whose last packet is before `beforeUs` (an integer µs). */
  openBefore(beforeUs: number): number[];
}

/** The open flows as the batch queries take them: a JSON array of seqs (json_each). */
interface OpenJson {
  sessionId: number;
  openJson(beforeUs: number): string;
}

/** What one step did. */
export interface RetentionStep {
  flows: number;
  /** Rows deleted in all tables (flows, dns, http, evidence_index). */
  rows: number;
  transactions: number;
  /** Most rows deleted by one transaction. */
  maxRowsPerTransaction: number;
  /** Pages returned to the file system by incremental_vacuum. */
  vacuumedPages: number;
  /** Bytes of the store's pages in use after the step. */
  usedBytes: number;
}

interface Batch { sessionId: number; seqs: number[] }
interface Due { sessionId: number; before: number; open: string }

export function createRetention(db: Db, policy: RetentionPolicy) {
  const batchFlows = policy.batchFlows ?? 100;
  const budgetMs = policy.budgetMs ?? 20;
  const vacuumPages = policy.vacuumPages ?? 1024;
  const vacuumFrom = policy.vacuumFrom ?? 256;
  const sessions = db.prepare('SELECT id, ended_at IS NOT NULL AS ended FROM sessions ORDER BY id');
  const NOT_OPEN = 'seq NOT IN (SELECT value FROM json_each(?))';
  const oldest = db.prepare(`SELECT min(last_seen) AS t FROM flows WHERE session_id = ? AND last_seen < ? AND ${NOT_OPEN}`);
  const pick = db.prepare(`SELECT seq FROM flows WHERE session_id = ? AND last_seen < ? AND ${NOT_OPEN} ORDER BY last_seen LIMIT ?`).pluck();
  const IN_BATCH = 'session_id = ? AND %s IN (SELECT value FROM json_each(?))';
  const rollup = db.prepare(`INSERT INTO rollups (${ROLLUP_COLUMNS}) ${ROLLUP_OF_FLOWS} WHERE ${IN_BATCH.replace('%s', 'f.seq').replace('session_id', 'f.session_id')} ${ROLLUP_GROUP}
    ON CONFLICT (day, destination, activity, process, ollama) DO UPDATE SET flows = flows + excluded.flows,
      bytes_out = bytes_out + excluded.bytes_out, bytes_in = bytes_in + excluded.bytes_in,
      first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`);
  const deletes = ['dns', 'http', 'evidence_index'].map((t) => db.prepare(`DELETE FROM ${t} WHERE ${IN_BATCH.replace('%s', 'flow_seq')}`));
  const deleteFlows = db.prepare(`DELETE FROM flows WHERE ${IN_BATCH.replace('%s', 'seq')}`);
  let incremental = (db.pragma('auto_vacuum', { simple: true }) as number) === 2;
  const fileBytes = () => (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);

  const usedBytes = () => {
    const pages = db.pragma('page_count', { simple: true }) as number;
    const free = db.pragma('freelist_count', { simple: true }) as number;
    return (pages - free) * (db.pragma('page_size', { simple: true }) as number);
  };

  /** Per session, the last_seen bound below which its flows are closed and due (age, or size: any closed flow). */
  function dueBefore(nowUs: number, bySize: boolean, open?: OpenJson): Due[] {
    const ageBound = clampUs(bySize ? Infinity : nowUs - (policy.retainUs ?? Infinity));
    return (sessions.all() as { id: number; ended: number }[]).map((s) => {
      if (s.ended) return { sessionId: s.id, before: ageBound, open: '[]' };
      // The engine's own session: all but its open flows; another never ended (a daemon killed): the horizon.
      if (s.id === open?.sessionId) return { sessionId: s.id, before: ageBound, open: open.openJson(ageBound) };
      return { sessionId: s.id, before: Math.min(ageBound, clampUs(nowUs - OPEN_FLOW_HORIZON_US)), open: '[]' };
    });
  }

  /** The next batch: the session holding the oldest due flow, its oldest due flows. */
  function nextBatch(nowUs: number, bySize: boolean, open?: OpenJson): Batch | null {
    let best: (Due & { t: number }) | null = null;
    for (const d of dueBefore(nowUs, bySize, open)) {
      const t = (oldest.get(d.sessionId, d.before, d.open) as { t: number | null }).t;
      if (t !== null && (best === null || t < best.t)) best = { ...d, t };
    }
    if (best === null) return null;
    return { sessionId: best.sessionId, seqs: pick.all(best.sessionId, best.before, best.open, batchFlows) as number[] };
  }

  const deleteBatch = db.transaction((b: Batch): number => {
    const seqs = JSON.stringify(b.seqs);
    rollup.run(b.sessionId, seqs);
    let rows = 0;
    for (const d of deletes) rows += d.run(b.sessionId, seqs).changes;
    return rows + deleteFlows.run(b.sessionId, seqs).changes;
  });

  /**
   * Deletes due flows until none is left or the time budget is spent, then returns freed pages to
   * the file system. `open`: the capturing engine's own session (else the horizon rule applies to it).
   */
  function step(nowUs: number = Date.now() * 1000, open?: OpenFlows): RetentionStep {
    const started = performance.now();
    // The engine's open flows are asked for, and made the JSON the queries take, once a step (per
    // bound): the flow table does not change during it, and a size bound sends all of them.
    const asked = new Map<number, string>();
    const openOnce = open && { sessionId: open.sessionId, openJson: (us: number) => asked.get(us) ?? asked.set(us, JSON.stringify(open.openBefore(us))).get(us)! };
    const out: RetentionStep = { flows: 0, rows: 0, transactions: 0, maxRowsPerTransaction: 0, vacuumedPages: 0, usedBytes: 0 };
    while (performance.now() - started < budgetMs) {
      const bySize = policy.maxDbBytes !== undefined && usedBytes() > policy.maxDbBytes;
      if (policy.retainUs === undefined && !bySize) break;
      const b = nextBatch(nowUs, bySize, openOnce);
      if (b === null || b.seqs.length === 0) break;
      const rows = deleteBatch.immediate(b);
      out.flows += b.seqs.length;
      out.rows += rows;
      out.transactions++;
      out.maxRowsPerTransaction = Math.max(out.maxRowsPerTransaction, rows);
    }
    if (!incremental && policy.maxDbBytes !== undefined && fileBytes() > policy.maxDbBytes && (db.pragma('freelist_count', { simple: true }) as number) > 0) {
      // A store made before auto_vacuum was set: over --max-db with free pages it cannot give
      // back. One VACUUM (a long lock, once) rewrites it with auto_vacuum on; from then on steps free pages.
      db.pragma('auto_vacuum = INCREMENTAL');
      db.exec('VACUUM');
      incremental = true;
    }
    const free = db.pragma('freelist_count', { simple: true }) as number;
    // Over --max-db, every free page goes back; otherwise only once enough have gathered.
    if (incremental && free > 0 && (free >= vacuumFrom || (policy.maxDbBytes !== undefined && fileBytes() > policy.maxDbBytes))) {
      const before = db.pragma('page_count', { simple: true }) as number;
      db.pragma(`incremental_vacuum(${vacuumPages})`);
      out.vacuumedPages = before - (db.pragma('page_count', { simple: true }) as number);
    }
    out.usedBytes = usedBytes();
    return out;
  }

  return { step };
}

export type Retention = ReturnType<typeof createRetention>;

/** SQLite integers: an unbounded bound (no --retain on a closed session) as the largest one. */
function clampUs(v: number): number {
  return v === Infinity ? Number.MAX_SAFE_INTEGER : Math.floor(v);
}
