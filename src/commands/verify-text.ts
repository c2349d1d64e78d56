import { AIRGAP_CLAIM_IDS } from '../knowledge/claims.js';
import { chainText, coverageText, verdictLabel } from '../claims/report-text.js';
import type { VerifyReport, VerifyResult } from './verify-command.js';
import { visible } from '../text/visible.js';

/** The one stderr line of an exit 2 that got as far as a verdict. */
export function cannotTellReason(r: VerifyReport): string {
  const byReason = new Map<string, string[]>();
  for (const c of r.claims) if (c.verdict === 'inconclusive') byReason.set(c.reason, [...(byReason.get(c.reason) ?? []), c.id]);
  return [...r.watched.missing, ...[...byReason].map(([reason, ids]) => `${reason} (${ids.join(', ')})`)].join('; ');
}

const HEADLINE: Record<VerifyResult, string> = {
  silent: 'PASS: no traffic breaks the air-gap claims',
  traffic: 'FAIL: traffic breaks the air-gap claims',
  'cannot-tell': 'CANNOT TELL: the capture cannot support a verdict',
};

export function verifyText(r: VerifyReport, keptDb: string | null): string {
  // Why, from the sessions' own notes (procfs alone, kernel events lost or late, lsof lookups), not guessed here.
  const note = r.coverage.sessions.find((c) => c.confidence_note)?.confidence_note;
  const lower = r.confidence === 'lowered' ? `; confidence lowered: ${visible(note ?? 'see coverage')} (see coverage)` : '';
  const lines = [`ollama-audit verify: ${HEADLINE[r.result]} (exit ${r.exit_code})${lower}`];
  if (r.allow.length) lines.push(`allowed: ${visible(r.allow.join(', '))}`);
  lines.push('', ...r.coverage.sessions.map(coverageText), '');
  for (const c of r.claims) {
    const set = AIRGAP_CLAIM_IDS.includes(c.id) ? '' : ' (claims file)';
    lines.push(`${verdictLabel(c.verdict).padEnd(14)}${visible(c.id)}${set}: ${visible(c.title)}`, `              ${visible(c.reason)}`);
  }
  const broken = new Set(r.claims.filter((c) => c.verdict === 'violated').flatMap((c) => c.evidence.flow_ids));
  const chains = r.chains.filter((ch) => ch.caused.some((f) => broken.has(f.flow_id)));
  if (chains.length) lines.push('', 'Caused by requests on the API port:', ...chains.slice(0, 3).map(chainText));
  for (const m of r.watched.missing) lines.push(`CANNOT TELL   ${visible(m)}`);
  if (r.result === 'traffic') {
    const flows = keptDb === null
      ? 'the temporary store is deleted at exit: run again with --db PATH to keep it, then `ollama-audit flows --db PATH` lists every flow'
      : `\`ollama-audit flows --db ${visible(keptDb)}\` lists every flow`;
    lines.push('', `Expected traffic can be allowed with --allow (e.g. activity:registry, api:lan, host:10.0.0.0/8); ${flows}.`);
  }
  return `${lines.join('\n')}\n`;
}
