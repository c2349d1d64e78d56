import type { Db } from './open-db.js';
import {
  sessionEndRow, FINISH_SESSION, INSERT_DNS, INSERT_HTTP, INSERT_SESSION, PROGRESS_SESSION, UPSERT_FLOW, UPSERT_PROCESS, type Row,
  type SessionEnd, type SessionStart,
} from './session-rows.js';
import { writeEvidenceRows } from './evidence-store.js';
import type { EvidenceIndexRow, SegmentInfo } from './evidence-writer.js';
import type { AttributionRecord } from '../attribution/os/linux/kernel-attribution.js';
import { releaseLiveWriter, takeLiveWriter, thisProcess, type WriterIdentity } from './live-writer.js';

/** The session's progress, written with every chunk of a second's write. */
export interface LiveProgress {
  packets: number; startedAt: number | null; drops: number | null; lossEstimate: number | null; skipped: Record<string, number>;
  /** Every window so far whose rows could not be written (sessions.gaps); empty: none. */
  gaps: StoreGap[];
  /** Flows closed before their time so far, by kind (sessions.expired_early). */
  expiredEarly?: Record<string, number>;
  /** Which attribution sources were on (sessions.attribution). */
  attribution?: AttributionRecord;
}

/**
 * One transaction of a live write, as plain rows (session-rows.ts, built on the capture thread)
 * that the store thread (live-store-thread.ts) writes: a chunk of a second's changes.
 */
export interface LiveRows {
  flows: Row[];
  dns: Row[];
  http: Row[];
  processes: Row[];
  evidence: { segments: SegmentInfo[]; rows: EvidenceIndexRow[]; deleted: string[] } | null;
  progress: LiveProgress;
}

/** A window of a live capture whose rows the store could not write (its disk was full). */
export interface StoreGap {
  /** µs: the last write that succeeded before it, and the last that failed. */
  start_us: number;
  end_us: number;
  /** Flows that closed in the window and have no row at all. */
  flows_not_stored: number;
  /** Flows that closed in the window whose row holds an earlier state (their last change was lost). */
  flows_incomplete: number;
  /** DNS and HTTP records not stored. */
  records_not_stored: number;
}

/**
 * A live capture's session: the session row is committed at once (readers see a capture in
 * progress, ended_at NULL), together with the store's live-writer row, so a second daemon on this
 * store is refused before it has written anything (live-writer.ts). The live engine writes it
 * from its store thread (live-store-thread.ts: liveSessionWrites there, on its own connection).
 */
export function beginLiveSession(db: Db, start: SessionStart, me: WriterIdentity = thisProcess()) {
  const sessionId = db.transaction(() => {
    const id = Number(db.prepare(INSERT_SESSION).run(start.kind, start.source, start.format, start.filter ?? null, Date.now() * 1000).lastInsertRowid);
    takeLiveWriter(db, id, me);
    return id;
  }).immediate();
  return { sessionId, ...liveSessionWrites(db, sessionId, me) };
}

/**
 * The writes of a live session (the store thread's): every `flush` is one transaction, so a
 * crash or kill -9 loses at most what arrived since the last one and leaves the database
 * consistent; `end` marks the session ended and gives the store back.
 */
export function liveSessionWrites(db: Db, sessionId: number, me: WriterIdentity) {
  const upsertFlow = db.prepare(UPSERT_FLOW);
  const insertDns = db.prepare(INSERT_DNS);
  const insertHttp = db.prepare(INSERT_HTTP);
  const upsertProcess = db.prepare(UPSERT_PROCESS);
  const progress = db.prepare(PROGRESS_SESSION);
  const finish = db.prepare(FINISH_SESSION);

  const run = (stmt: typeof upsertFlow, rows: Row[]) => {
    for (const row of rows) {
      row[0] = sessionId;
      stmt.run(...row);
    }
  };

  // Each write's number, in commit order (this thread is the session's one writer): the flows it
  // writes carry it (flows.write_seq), so a reader asks for exactly the rows written since (read/changes.ts).
  let writeSeq = (db.prepare('SELECT max(write_seq) FROM flows WHERE session_id = ?').pluck().get(sessionId) as number | null) ?? 0;
  const flush = db.transaction((b: LiveRows) => {
    run(upsertProcess, b.processes);
    writeSeq++;
    for (const row of b.flows) {
      row[0] = sessionId;
      upsertFlow.run(...row, writeSeq);
    }
    run(insertDns, b.dns);
    run(insertHttp, b.http);
    if (b.evidence) writeEvidenceRows(db, sessionId, b.evidence.segments, b.evidence.rows, b.evidence.deleted);
    const p = b.progress;
    progress.run(p.packets, round(p.startedAt), p.drops, p.lossEstimate, JSON.stringify(p.skipped), p.gaps.length ? JSON.stringify(p.gaps) : null, JSON.stringify(p.expiredEarly ?? {}), Date.now() * 1000,
      p.attribution ? JSON.stringify(p.attribution) : null, sessionId);
  });

  function end(e: SessionEnd): void {
    db.transaction(() => {
      finish.run(...sessionEndRow(e), sessionId);
      releaseLiveWriter(db, sessionId, me);
    }).immediate();
  }

  return { flush: (b: LiveRows) => flush.immediate(b), end };
}

function round(v: number | null): number | null {
  return v === null ? null : Math.round(v);
}
