/**
 * The Coverage section as plain text pieces (a lead sentence, one table row per session, the
 * problems and the thresholds in words), shared by report.md and report.html so both say the
 * same thing. Cells are unescaped text; each renderer escapes them.
 */
import { basename } from 'node:path';
import { interfaceText } from '../capture/link-types.js';
import { formatDuration, formatPercent, formatShare, formatTime } from '../text/format-values.js';
import type { ReportCoverage, ReportCoverageSession, ReportSession } from './report-types.js';
import type { TextTable } from './text-table.js';

export interface CoverageView {
  lead: string;
  table: TextTable | null;
  /** Lines that stop a claim from holding, one per problem. */
  problems: string[];
  /** The rules the verdicts used, as a sentence; null when the engine gave none. */
  thresholds: string | null;
}

export function coverageView(c: ReportCoverage, sessions: readonly ReportSession[]): CoverageView {
  const covered = c.sessions ?? [];
  const problems = c.gaps ?? covered.flatMap((s) => s.problems.map((p) => `session ${s.session_id}: ${p}`));
  return {
    lead: leadSentence(covered, problems.length),
    table: covered.length === 0 ? null : {
      id: 'coverage-sessions',
      caption: 'What each session could see',
      head: ['Session', 'Capture', 'Interfaces', 'Packets', 'Kernel drops', 'Capture loss (estimated)', 'Process known for', 'Traffic seen'],
      rows: covered.map((s) => coverageRow(s, sessions.find((x) => x.id === s.session_id))),
    },
    problems: problems.map(sentence),
    thresholds: c.thresholds ? thresholdText(c.thresholds) : null,
  };
}

function leadSentence(covered: readonly ReportCoverageSession[], problems: number): string {
  if (covered.length === 0) return problems === 0 ? 'The claims engine reported no coverage detail.' : 'Coverage problems the claims engine reported:';
  const packets = covered.reduce((n, s) => n + s.packets, 0);
  const what = `${plural(covered.length, 'session')} with ${plural(packets, 'packet')} in all`;
  return problems === 0
    ? `${what}; no coverage problem: loss, drops, interfaces and attribution allow every verdict.`
    : `${what}; ${plural(problems, 'coverage problem')} keep claims that depend on them from holding (listed below the table).`;
}

function coverageRow(s: ReportCoverageSession, session: ReportSession | undefined): string[] {
  return [
    session ? `#${s.session_id} ${session.kind}: ${basename(session.source)}` : `#${s.session_id}`,
    session?.started_at == null ? 'no packet'
      : s.duration_s === null ? `${formatTime(session.started_at)} .. ${formatTime(session.ended_at)}`
        : `${formatDuration(s.duration_s)} from ${formatTime(session.started_at)}`,
    session ? session.interfaces.map(interfaceText).join('; ') || 'none recorded' : 'unknown',
    `${s.packets}`,
    s.drops === null ? 'unknown (not counted by the source)' : `${s.drops}${s.drop_percent === null ? '' : ` (${formatPercent(s.drop_percent)})`}`,
    s.loss_estimate === null ? 'unknown (no TCP data to judge by)' : `${formatPercent(s.loss_estimate)} of acknowledged TCP bytes`,
    attributionText(s),
    `off-host: ${seen(s.off_host_visible)}; loopback: ${seen(s.loopback_visible)}`,
  ];
}

function attributionText(s: ReportCoverageSession): string {
  if (s.attribution === 'unavailable') return 'nothing (no process information)';
  return s.attributed_share === null ? 'no bytes to attribute' : `${formatShare(s.attributed_share)} of bytes`;
}

function seen(v: boolean | null): string {
  return v === null ? 'cannot tell' : v ? 'yes' : 'no';
}

function thresholdText(t: NonNullable<ReportCoverage['thresholds']>): string {
  return `A claim cannot hold when the estimated capture loss is above ${formatPercent(t.max_loss_percent)} of acknowledged TCP bytes ` +
    `or the kernel dropped more than ${formatPercent(t.max_drop_percent)} of packets; flows an API request caused may start up to ` +
    `${formatDuration(t.request_grace_s)} after it ends.`;
}

/** "session 2: no process information: ..." -> "Session 2: no process information: ...." */
function sentence(line: string): string {
  const s = line.charAt(0).toUpperCase() + line.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
