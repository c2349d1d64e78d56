import { causeSentence } from '../claims/causes.js';
import type { ClaimsReport } from '../claims/evaluate.js';
import { formatTime } from '../text/format-values.js';
import type { ReportClaim, ReportCoverage } from './report-types.js';

/** The claims engine's result in the report's terms: chains become labelled flow groups, coverage problems gaps. */
export function reportInputFrom(r: ClaimsReport): { claims: ReportClaim[]; coverage: ReportCoverage } {
  const claims = r.claims.map((c) => ({
    id: c.id,
    title: c.title,
    source: c.source,
    verdict: c.verdict,
    reason: c.reason,
    evidence: {
      flow_ids: c.evidence.flow_ids,
      count: c.evidence.count,
      first_seen: c.evidence.first_seen,
      chains: c.evidence.chains.map((ch) => ({
        flow_ids: [ch.request.flow_id, ...ch.caused.map((x) => x.flow_id)],
        label: `${ch.request.method} ${ch.request.path ?? ''} from ${ch.request.client} at ${formatTime(ch.request.ts)} (${ch.link}): ${causeSentence(ch)}`,
      })),
    },
  }));
  const gaps = r.coverage.sessions.flatMap((s) => s.problems.map((p) => `session ${s.session_id}: ${p}`));
  return { claims, coverage: { gaps, sessions: r.coverage.sessions, thresholds: r.coverage.thresholds } };
}
