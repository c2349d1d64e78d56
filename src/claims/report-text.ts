/** The human text of a claims report: coverage, verdicts with reasons, cause-and-effect chains. */
import { causeSentence, type Chain } from './causes.js';
import type { SessionCoverage } from './coverage.js';
import type { ClaimResult, ClaimsReport, Verdict } from './evaluate.js';
import { formatDuration, formatPercent, formatShare, formatTime } from '../text/format-values.js';
import { visible } from '../text/visible.js';

const LABEL: Record<Verdict, string> = {
  holds: 'HOLDS',
  violated: 'VIOLATED',
  inconclusive: 'INCONCLUSIVE',
  'not exercised': 'NOT EXERCISED',
};

export function verdictLabel(v: Verdict): string {
  return LABEL[v];
}

/** One session's coverage in two sentences: what was watched, then how much of it can be trusted. */
export function coverageText(c: SessionCoverage): string {
  const loss = c.loss_estimate === null ? 'capture loss unknown (no TCP data to judge by)' : `estimated capture loss ${formatPercent(c.loss_estimate)} of acknowledged TCP bytes`;
  const drops = c.drops === null ? 'kernel drops unknown' : `kernel drops ${c.drops}${c.drop_percent === null ? '' : ` (${formatPercent(c.drop_percent)} of packets)`}`;
  const attribution = c.attribution === 'unavailable'
    ? 'no process information'
    : c.attributed_share === null ? 'processes known, but no bytes to attribute' : `process known for ${formatShare(c.attributed_share)} of bytes`;
  const span = c.started_at === null ? 'no packet'
    : c.duration_s === null ? `window ${formatTime(c.started_at)} .. ${formatTime(c.ended_at)}`
      : `${formatDuration(c.duration_s)} from ${formatTime(c.started_at)}`;
  const lines = [
    `  session ${c.session_id} (${c.kind}) ${visible(c.source)}`,
    `    ${span}, ${c.packets} packets on ${c.interfaces.map(visible).join('; ') || 'unknown interfaces'}.`,
    `    ${drops}; ${loss}; ${attribution}.`,
  ];
  for (const p of c.problems) lines.push(`    ! ${visible(p)}`);
  if (c.confidence_note) lines.push(`    ~ confidence lowered: ${visible(c.confidence_note)}`);
  return lines.join('\n');
}

export function claimText(r: ClaimResult): string {
  const wild = r.supported ? '' : r.claimed ? ` [claimed in the wild: "${visible(r.claimed)}"; not supported by the source]` : ' [not supported by the source]';
  const lines = [
    `${verdictLabel(r.verdict).padEnd(14)}${visible(r.id)}`,
    `              ${visible(r.title)}${wild}`,
    `              ${visible(r.reason)}`,
    `              source: ${visible(r.source)}`,
  ];
  return lines.join('\n');
}

export function chainText(c: Chain): string {
  const r = c.request;
  const head = `  ${visible(r.method)} ${visible(r.path ?? '')} from ${visible(r.client)} at ${r.ts} (flow #${r.flow_id}, session ${c.session_id}): ${visible(causeSentence(c))}`;
  if (c.caused.length === 0) return head;
  const how = c.link === 'process' ? 'by the Ollama tree' : 'linked by time only (no process attribution)';
  const rows = c.caused.map((f) => `      -> #${f.flow_id} ${f.activity} ${visible(f.hostname ?? '')} ${f.far_addr}:${f.far_port} at ${f.first_seen.slice(11)}`);
  return [`${head}, ${how}:`, ...rows].join('\n');
}

export function reportText(rep: ClaimsReport): string {
  const parts = [
    'Coverage',
    ...rep.coverage.sessions.map(coverageText),
    '',
    'Claims',
    ...rep.claims.map(claimText),
  ];
  const chains = rep.chains.filter((c) => c.caused.length > 0 || rep.chains.length <= 10);
  if (chains.length > 0) parts.push('', 'Cause and effect (requests on the API port and the flows they caused)', ...chains.map(chainText));
  return `${parts.join('\n')}\n`;
}
