import type { Db } from './open-db.js';
import type { Flow } from '../flows/flow.js';
import type { Classification } from '../classify/classify.js';
import type { DnsRecord, HttpRecord } from '../enrich/records.js';
import {
  dnsRow, flowRow, httpRow, processRow, sessionEndRow, FINISH_SESSION, INSERT_DNS, INSERT_HTTP, INSERT_SESSION,
  PROGRESS_SESSION, UPSERT_FLOW, UPSERT_PROCESS, type ProcessRecord, type Row, type SessionEnd, type SessionStart,
} from './session-rows.js';
import { writeEvidenceRows } from './evidence-store.js';
import type { EvidenceIndexRow, SegmentInfo } from './evidence-writer.js';
import type { AttributionRecord } from '../attribution/os/linux/kernel-attribution.js';
import { releaseLiveWriter, takeLiveWriter, thisProcess, type WriterIdentity } from './live-writer.js';

/** What one flush writes: everything that changed since the last one. */
export interface LiveBatch {
  flows: { flow: Flow; cls: Classification; processSeq: number | null; peerProcessSeq: number | null }[];
  dns: DnsRecord[];
  http: HttpRecord[];
  processes: { seq: number; rec: ProcessRecord }[];
  evidence: { segments: SegmentInfo[]; rows: EvidenceIndexRow[]; deleted: string[] } | null;
  progress: {
    packets: number; startedAt: number | null; drops: number | null; lossEstimate: number | null; skipped: Record<string, number>;
    /** Every window so far whose rows could not be written (sessions.gaps); empty: none. */
    gaps: StoreGap[];
    /** Flows closed before their time so far, by kind (sessions.expired_early). */
    expiredEarly?: Record<string, number>;
    /** Which attribution sources were on (sessions.attribution). */
    attribution?: AttributionRecord;
  };
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
 * progress, ended_at NULL), then every flush is one transaction, so a crash or kill -9 loses at
 * most what arrived since the last flush and leaves the database consistent. One live session
 * writes a store at a time (live-writer.ts). Runs on the
 * capture thread: a second's worth of changed rows is small next to an import.
 */
export function beginLiveSession(db: Db, start: SessionStart, me: WriterIdentity = thisProcess()) {
  // The session row and the store's live-writer row in one transaction: a second daemon on this
  // store is refused before it has written anything.
  const sessionId = db.transaction(() => {
    const id = Number(db.prepare(INSERT_SESSION).run(start.kind, start.source, start.format, start.filter ?? null, Date.now() * 1000).lastInsertRowid);
    takeLiveWriter(db, id, me);
    return id;
  }).immediate();
  const upsertFlow = db.prepare(UPSERT_FLOW);
  const insertDns = db.prepare(INSERT_DNS);
  const insertHttp = db.prepare(INSERT_HTTP);
  const upsertProcess = db.prepare(UPSERT_PROCESS);
  const progress = db.prepare(PROGRESS_SESSION);
  const finish = db.prepare(FINISH_SESSION);

  const run = (stmt: typeof upsertFlow, row: Row) => {
    row[0] = sessionId;
    stmt.run(...row);
  };

  const flush = db.transaction((b: LiveBatch) => {
    for (const p of b.processes) run(upsertProcess, processRow(p.seq, p.rec));
    for (const f of b.flows) run(upsertFlow, flowRow(f.flow, f.cls, f.processSeq, f.peerProcessSeq));
    for (const r of b.dns) run(insertDns, dnsRow(r));
    for (const r of b.http) run(insertHttp, httpRow(r));
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

  return { sessionId, flush: (b: LiveBatch) => flush.immediate(b), end };
}

function round(v: number | null): number | null {
  return v === null ? null : Math.round(v);
}

export type LiveSession = ReturnType<typeof beginLiveSession>;
