import { openDb, type Db } from '../store/open-db.js';
import { resolveDbPath } from '../settings.js';
import { INVALID_TIME, invalidTimeNote, isoMicros, isoMicrosOrNull } from '../store/format-time.js';
import { listSessions, type SessionSummaryRow } from '../store/sessions.js';
import { loadSessionFacts } from '../claims/session-facts.js';
import { sessionCoverage, type SessionCoverage } from '../claims/coverage.js';
import { EXIT_OK } from '../errors.js';
import { visible } from '../text/visible.js';

export interface SessionsOptions {
  db?: string;
  json?: boolean;
}

/** One element of `sessions --json` (README documents the fields). */
export interface SessionListing {
  id: number;
  kind: string;
  source: string;
  format: string | null;
  /** null when the session has no packet, or (with time_note) when the stored time cannot be shown. */
  started_at: string | null;
  ended_at: string | null;
  duration_s: number | null;
  recorded_at: string;
  packets: number;
  flows: number;
  ollama_flows: number;
  source_sha256: string | null;
  /** What the session could see: the same object as a session of `claims --json` coverage. */
  coverage: SessionCoverage;
  /** Present only when a stored time of the session cannot be shown (store/format-time.ts): why it is null. */
  time_note?: string;
}

/** `sessions`: every session in the store with its window, counts and coverage. */
export function runSessions(opts: SessionsOptions, out: NodeJS.WritableStream = process.stdout): number {
  const db = openDb(resolveDbPath(opts.db), { readonly: true });
  try {
    const list = listSessions(db).map((row) => listing(db, row));
    out.write(opts.json ? `${JSON.stringify(list, null, 2)}\n` : formatSessions(list));
  } finally {
    db.close();
  }
  return EXIT_OK;
}

function listing(db: Db, r: SessionSummaryRow): SessionListing {
  // The claims engine's own coverage, so this column never disagrees with a verdict's reasons.
  const coverage = sessionCoverage(loadSessionFacts(db, r.id)!);
  const started = r.started_at === null ? null : isoMicrosOrNull(r.started_at);
  const ended = r.ended_at === null ? null : isoMicrosOrNull(r.ended_at);
  const unshowable = (r.started_at !== null && started === null) || (r.ended_at !== null && ended === null);
  return {
    id: r.id,
    kind: r.kind,
    source: r.source,
    format: r.format,
    started_at: started,
    ended_at: ended,
    duration_s: coverage.duration_s,
    recorded_at: isoMicros(r.recorded_at),
    packets: r.packets,
    flows: r.flows,
    ollama_flows: r.ollama_flows,
    source_sha256: r.source_sha256,
    coverage,
    ...(unshowable ? { time_note: invalidTimeNote(r.id) } : {}),
  };
}

export function formatSessions(list: SessionListing[]): string {
  if (list.length === 0) return 'no sessions in the store: `ollama-audit import FILE` or `ollama-audit daemon` records one\n';
  const header = ['ID', 'KIND', 'SOURCE', 'WINDOW (UTC)', 'PACKETS', 'FLOWS', 'OLLAMA', 'COVERAGE'];
  const rows = list.map((s) => [
    String(s.id), s.kind, visible(s.source), windowText(s), String(s.packets), String(s.flows), String(s.ollama_flows), coverageSummary(s.coverage),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

function windowText(s: SessionListing): string {
  const at = (iso: string) => iso.replace('T', ' ').slice(0, 19);
  if (s.time_note !== undefined) return `${INVALID_TIME} (a time before 1990 or past 9999: sessions delete ${s.id} removes it)`;
  if (s.started_at === null) return '-';
  if (s.ended_at === null) return `${at(s.started_at)} .. not ended${s.kind === 'live' ? ' (running, or the daemon was killed)' : ''}`;
  const end = at(s.ended_at);
  const sameDay = end.slice(0, 10) === at(s.started_at).slice(0, 10);
  return `${at(s.started_at)} .. ${sameDay ? end.slice(11) : end} (${(s.duration_s ?? 0).toFixed(1)} s)`;
}

/** Loss, drops and attribution in a few words, then how many coverage problems the claims will cite. */
export function coverageSummary(c: SessionCoverage): string {
  const loss = c.loss_estimate === null ? 'loss unknown' : `loss ${c.loss_estimate.toFixed(2)}%`;
  const drops = c.drops === null ? 'drops unknown' : `drops ${c.drops}${c.drops > 0 ? ` (${c.drop_percent!.toFixed(2)}%)` : ''}`;
  const attributed = c.attribution === 'unavailable' ? 'no process information'
    : c.attributed_share === null ? 'attributed -' : `attributed ${(c.attributed_share * 100).toFixed(0)}%`;
  const problems = c.problems.length === 0 ? 'no problem' : `${c.problems.length} problem${c.problems.length === 1 ? '' : 's'}`;
  return `${loss}, ${drops}, ${attributed}; ${problems}`;
}
