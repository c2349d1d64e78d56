/**
 * Follows a store another process writes (a daemon), or browses a finished session: a read-only
 * connection; every poll asks SQLite's data_version (one pragma, no table read) and only when it
 * moved reads the flows changed since the watermark (store/read/changes.ts). Each read is one
 * short statement run to its end: no read transaction stays open, so the daemon's WAL checkpoints.
 * Claims and coverage are evaluated again at most every CLAIMS_EVERY_MS, and only after a change.
 */
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { openDb, type Db } from '../../store/open-db.js';
import { capPageCache, dataVersion, watchRowsChangedSince } from '../../store/read/changes.js';
import { queryFlows } from '../../store/read/flows.js';
import { sessionIds, sessionRows, type SessionRow } from '../../store/read/sessions.js';
import { claimsReport } from '../../claims/evaluate.js';
import { judgingGapMs } from '../../claims/judge-pacing.js';
import { DEFAULTS } from '../../settings.js';
import { visible } from '../../text/visible.js';
import { WatchModel } from './model.js';
import { detailLines } from './detail.js';
import type { Header } from './frame.js';

/**
 * Of a session whose rows carry no write_seq (an import, a store written before schema 14), read
 * again from this long before the watermark: a row can be committed after a later one (a flow
 * reclassified when it closes keeps its last_seen). Merging a row twice changes nothing. A live
 * session's rows carry their write: its reads ask for exactly the rows written since, no overlap.
 */
const OVERLAP_US = 2_000_000;

/** The read-only connection's page cache: the merged state is kept in memory, the store's pages need not be. */
const PAGE_CACHE_KIB = 2048;

export class StorePoller {
  readonly model = new WatchModel();
  /** Change reads done (each a flows query): what an unchanged data_version must not add to. */
  reads = 0;
  private readonly db: Db;
  private version: number | null = null;
  private session: SessionRow | null = null;
  private claimsAtMs = -Infinity;
  private claimsStale = false;
  /** claimsEveryMs, or longer after a slow evaluation: claims cost at most DEFAULTS.watch.claimsMaxShare of a core on a big session. */
  private claimsGapMs: number;
  /** Each claim's evidence flow ids, sorted (a typed array: a claim may cite 50,000 flows), for the detail's "claims citing it". */
  private citing: { label: string; ids: Float64Array }[] = [];

  constructor(private readonly path: string, private readonly wantSession: number | undefined, private readonly claimsEveryMs: number) {
    this.db = openDb(path, { readonly: true });
    capPageCache(this.db, PAGE_CACHE_KIB);
    this.claimsGapMs = claimsEveryMs;
  }

  /**
   * One poll at wall-clock `nowMs`: true when the store had changed and was read, or the claims
   * were judged again (held back by their interval after the last change: a frame must show them).
   */
  poll(nowMs: number, judge = true): boolean {
    const v = dataVersion(this.db);
    const changed = v !== this.version;
    this.version = v;
    if (changed) this.readChanges(nowMs);
    if (this.session) this.model.header = { ...this.model.header, lastWriteAgoS: this.lastWriteAgoS(nowMs) };
    return (judge && this.judgeOwed(nowMs)) || changed;
  }

  /** Judges the claims when a change made them stale and their interval has passed: true if it did. */
  judgeOwed(nowMs: number): boolean {
    // this.db.open: the first evaluation is owed after the first frame, and the source may be closed by then.
    const owed = this.db.open && this.claimsStale && nowMs - this.claimsAtMs >= this.claimsGapMs;
    if (owed) this.evaluateClaims(nowMs);
    return owed;
  }

  private readChanges(nowMs: number): void {
    const row = this.currentSession();
    if (!row) return;
    if (row.id !== this.session?.id) {
      this.model.reset(headerOf(row, this.path), row.started_at ?? nowMs * 1000);
      this.claimsAtMs = -Infinity;
    }
    this.session = row;
    this.model.header = { ...this.model.header, live: row.kind === 'live' && row.ended_at === null };
    this.model.setDataEnd(row.ended_at ?? row.started_at ?? 0);
    const since = this.model.flows.watermarkUs === null ? -1 : this.model.flows.watermarkUs - OVERLAP_US;
    this.reads++;
    this.model.merge(watchRowsChangedSince(this.db, row.id, since, this.model.flows.writeSeq), nowMs);
    this.claimsStale = true;
    this.model.judging = this.claimsAtMs === -Infinity;
  }

  /** The session asked for, else the newest (a daemon that restarts begins a new one). */
  private currentSession(): SessionRow | null {
    if (this.wantSession !== undefined) return sessionRows(this.db, [this.wantSession])[0] ?? null;
    const ids = sessionIds(this.db);
    return ids.length ? sessionRows(this.db, [ids[ids.length - 1]])[0] : null;
  }

  private evaluateClaims(nowMs: number): void {
    if (!this.session) return;
    const started = performance.now();
    const report = claimsReport(this.db, { sessions: [this.session.id] });
    this.claimsGapMs = judgingGapMs(performance.now() - started, { minGapMs: this.claimsEveryMs, maxShare: DEFAULTS.watch.claimsMaxShare });
    this.model.setClaims(report);
    this.citing = report.claims.map((c) => ({ label: `${visible(c.id)} (${c.verdict})`, ids: Float64Array.from(c.evidence.flow_ids).sort() }));
    this.claimsAtMs = nowMs;
    this.claimsStale = false;
    this.model.judging = false;
  }

  /** A live session's store: seconds since its files were last written (the daemon writes each second). */
  private lastWriteAgoS(nowMs: number): number | null {
    if (!this.model.header.live) return null;
    const mtimes = [this.path, `${this.path}-wal`].map((p) => { try { return statSync(p).mtimeMs; } catch { return 0; } });
    return Math.max(0, (nowMs - Math.max(...mtimes)) / 1000);
  }

  /** Reads one flow's detail into the model (Enter). */
  loadDetail(flowId: number): void {
    const rec = this.session ? queryFlows(this.db, { ids: [flowId], session: this.session.id })[0] : undefined;
    const citedBy = this.citing.filter((c) => hasId(c.ids, flowId)).map((c) => c.label);
    this.model.setDetail(flowId, rec ? detailLines(rec, citedBy) : [`flow #${flowId} is not in the store`]);
  }

  get sessionId(): number | null {
    return this.session?.id ?? null;
  }

  /** Runs `fn` on the read-only connection (exports and reports read the store). */
  withDb<T>(fn: (db: Db) => T): T {
    return fn(this.db);
  }

  close(): void {
    this.db.close();
  }
}

/** Binary search of a sorted id list. */
function hasId(ids: Float64Array, id: number): boolean {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ids[mid] === id) return true;
    if (ids[mid] < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

function headerOf(row: SessionRow, path: string): Header {
  const source = row.kind === 'live' ? `live ${visible(row.source)} · store ${visible(path)}` : `import ${visible(basename(row.source))} · store ${visible(path)}`;
  return { session: row.id, source, lastWriteAgoS: null, live: false };
}
