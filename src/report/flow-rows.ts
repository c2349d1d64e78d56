import { isCloudModel } from '../knowledge/model-names.js';
import type { ReportFlow, ReportHttp } from './report-types.js';

export const MAX_LISTED_FLOWS = 2000;

/**
 * Which flows a human-readable report lists, at most `cap`: all it holds when they fit; past it,
 * findings first, then Ollama flows, then the others, each in time order. The report holds the
 * findings and the top flows by bytes (gather.ts); `total` counts every flow, so `hidden` says how
 * many only report.json has.
 */
export function pickFlows(flows: readonly ReportFlow[], total: number, cap = MAX_LISTED_FLOWS): { shown: ReportFlow[]; hidden: number } {
  if (flows.length <= cap) return { shown: [...flows], hidden: Math.max(0, total - flows.length) };
  const rank = (f: ReportFlow) => (f.finding ? 0 : f.ollama ? 1 : 2);
  const keep = new Set<ReportFlow>();
  for (let r = 0; r <= 2 && keep.size < cap; r++) {
    for (const f of flows) {
      if (keep.size >= cap) break;
      if (rank(f) === r) keep.add(f);
    }
  }
  const shown = flows.filter((f) => keep.has(f));
  return { shown, hidden: Math.max(0, total - shown.length) };
}

/** A claim verdict's tone for styling: what the engine said, read loosely. */
export function verdictTone(verdict: string): 'good' | 'bad' | 'neutral' {
  if (/^(holds?|pass(ed)?|ok|true|confirmed|upheld)$/i.test(verdict)) return 'good';
  if (/violat|fail|false|refuted|contradict|broken/i.test(verdict)) return 'bad';
  return 'neutral';
}

/** The Model cell of an HTTP request: the model (marked when a cloud model), why it is unknown, or — when not read. Unescaped. */
export function modelCell(h: Pick<ReportHttp, 'model' | 'model_status'>): string {
  if (h.model !== null) return isCloudModel(h.model) ? `${h.model} (cloud)` : h.model;
  return h.model_status === null ? '—' : h.model_status === 'absent' ? 'none named' : `unknown: ${h.model_status}`;
}
