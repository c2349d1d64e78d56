/**
 * `export`: the store's flows in a log format, read only through the read layer. Once: every flow
 * (of --session, at or after --since, past the cursor), then the end. --follow: the same, then
 * again each time another connection commits (data_version moves), new sessions included (a
 * restarted daemon opens one), until the signal given is aborted; the cursor is saved after each
 * pass whose text was handed to the output.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../store/open-db.js';
import { dataVersion, flowsChangedSince, flowWatermark } from '../store/read/changes.js';
import { flowExtrasLookup, sessionCoverageRow } from '../store/read/export-rows.js';
import { sessionIds } from '../store/read/sessions.js';
import { claimsReport } from '../claims/evaluate.js';
import { judgingGapMs } from '../claims/judge-pacing.js';
import { DEFAULTS, type ExportFormat } from '../settings.js';
import { ChunkedOut } from '../text/chunked-out.js';
import { newCursor, saveCursor, SLACK_US, type Cursor, type SessionMark } from './cursor.js';
import { flowToEcs, verdictToEcs } from './ecs.js';
import { csvHeader, csvLine } from './csv.js';
import { zeekFooter, zeekHeader, zeekLine } from './zeek.js';
import type { ExportRow } from './export-row.js';

/** How often --follow looks at data_version (ms). */
const POLL_MS = 500;

export interface ExportOptions {
  format: ExportFormat;
  session?: number;
  /** µs: only flows whose last packet is at or after it (for sessions the cursor does not know yet). */
  sinceUs?: number;
  follow?: boolean;
  /** Where to keep the cursor between passes and runs; without it, one run's own memory. */
  cursorPath?: string;
  cursor?: Cursor;
}

interface Layout {
  begin: () => string;
  flow: (row: ExportRow) => string;
  end: () => string;
}

const LAYOUTS: Record<ExportFormat, Layout> = {
  ecs: { begin: () => '', flow: (r) => `${JSON.stringify(flowToEcs(r))}\n`, end: () => '' },
  zeek: { begin: () => zeekHeader(new Date()), flow: zeekLine, end: () => zeekFooter(new Date()) },
  csv: { begin: csvHeader, flow: csvLine, end: () => '' },
};

class Exporter {
  /** Flow rows written so far. */
  private flows = 0;
  private readonly extras;
  private lastVerdictsAt = 0;
  /** How long the last judging took, ms: paces the next (see verdictsDue). */
  private lastVerdictsMs = 0;
  /** Flows were written since the claims were last judged. */
  private verdictsStale = true;

  constructor(private readonly db: Db, private readonly opts: ExportOptions, private readonly cursor: Cursor, private readonly out: ChunkedOut) {
    this.extras = flowExtrasLookup(db);
  }

  /** Every flow past the cursor, then (ECS) verdicts that changed; the cursor is saved once the text is out. */
  async pass(final: boolean): Promise<void> {
    const before = this.flows;
    for (const id of this.opts.session !== undefined ? [this.opts.session] : sessionIds(this.db)) await this.session(id);
    this.verdictsStale ||= this.flows > before;
    if (this.verdictsDue(final)) await this.verdicts();
    await this.save();
  }

  /** Between passes: claims not judged since flows were written are judged once the interval has passed. */
  async settle(): Promise<void> {
    if (!this.verdictsDue(false)) return;
    await this.verdicts();
    await this.save();
  }

  private verdictsDue(final: boolean): boolean {
    // A store of 30 days can take seconds to judge: it must not become most of what a follower does.
    const due = final || Date.now() - this.lastVerdictsAt >= judgingGapMs(this.lastVerdictsMs, DEFAULTS.judgePace.exportFollow);
    return this.opts.format === 'ecs' && this.verdictsStale && due;
  }

  private async save(): Promise<void> {
    await this.out.flush();
    if (this.opts.cursorPath !== undefined) saveCursor(this.opts.cursorPath, this.cursor);
  }

  private async session(id: number): Promise<void> {
    const coverage = sessionCoverageRow(this.db, id);
    if (coverage === null) return;
    const top = flowWatermark(this.db, id);
    if (top === null) return; // no flows yet
    const mark: SessionMark = this.cursor.sessions[id] ?? { w: this.opts.sinceUs ?? Number.MIN_SAFE_INTEGER, seen: {} };
    const fresh = this.cursor.sessions[id] === undefined;
    const layout = LAYOUTS[this.opts.format];
    // Only rows near the session's latest are remembered (a store may hold millions of older ones):
    // rows committed after `top` was read only move the mark up, past what is left out here.
    const rememberFrom = top - SLACK_US;
    let w = mark.w;
    // Stored times are whole µs: "later than x - 1" is "at or after x". A fresh session starts at
    // --since itself; a known one SLACK_US below its mark, skipping rows written at the same last_seen.
    for (const flow of flowsChangedSince(this.db, id, (fresh ? mark.w : mark.w - SLACK_US) - 1)) {
      const extras = this.extras(flow.id);
      if (extras === null || (mark.seen[flow.id] ?? -Infinity) >= extras.last_seen_us) continue;
      await this.out.write(layout.flow({ flow, extras, session: coverage }));
      this.flows++;
      if (extras.last_seen_us >= rememberFrom) mark.seen[flow.id] = extras.last_seen_us;
      w = Math.max(w, extras.last_seen_us);
    }
    for (const [flowId, at] of Object.entries(mark.seen)) if (at < w - SLACK_US) delete mark.seen[flowId];
    this.cursor.sessions[id] = { w, seen: mark.seen };
  }

  /** Claims judged over the exported sessions; a claim whose verdict differs from the last one written is written. */
  private async verdicts(): Promise<void> {
    this.lastVerdictsAt = Date.now();
    this.verdictsStale = false;
    const sessions = this.opts.session !== undefined ? [this.opts.session] : sessionIds(this.db);
    if (sessions.length === 0) return; // no traffic judged: no verdict to report
    const at = new Date().toISOString();
    const started = performance.now();
    const report = claimsReport(this.db, { sessions });
    this.lastVerdictsMs = performance.now() - started;
    for (const claim of report.claims) {
      const previous = this.cursor.verdicts[claim.id] ?? null;
      if (previous === claim.verdict) continue;
      await this.out.write(`${JSON.stringify(verdictToEcs(claim, previous, at))}\n`);
      this.cursor.verdicts[claim.id] = claim.verdict;
    }
  }
}

/** Runs the export into `stream`; with opts.follow, until `stop` is aborted. */
export async function runExport(db: Db, opts: ExportOptions, stream: NodeJS.WritableStream, stop?: AbortSignal): Promise<void> {
  const out = new ChunkedOut(stream);
  const exporter = new Exporter(db, opts, opts.cursor ?? newCursor(opts.format), out);
  const layout = LAYOUTS[opts.format];
  try {
    await out.write(layout.begin());
    let version = dataVersion(db);
    await exporter.pass(!opts.follow);
    while (opts.follow && !stop?.aborted) {
      await sleep(POLL_MS, undefined, { signal: stop }).catch(() => undefined);
      const now = dataVersion(db);
      if (now === version && !stop?.aborted) {
        await exporter.settle();
        continue;
      }
      version = now;
      await exporter.pass(stop?.aborted ?? false);
    }
    await out.write(layout.end());
    await out.flush();
  } catch (err) {
    // The reader went away (`| head`): stop quietly; the cursor keeps the last batch it did take.
    if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
  }
}
