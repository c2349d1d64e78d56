/**
 * Which flows a human-readable report lists: all it holds up to a cap; past it, every finding
 * and every Ollama flow, then the others in time order until the cap. The report holds at most
 * the findings and the top flows by bytes (gather.ts); `total` counts every flow, so `hidden`
 * says how many only report.json has.
 */
import type { ReportFlow } from './report-types.js';

export const MAX_LISTED_FLOWS = 2000;

export function pickFlows(flows: readonly ReportFlow[], total: number, cap = MAX_LISTED_FLOWS): { shown: ReportFlow[]; hidden: number } {
  if (flows.length <= cap) return { shown: [...flows], hidden: Math.max(0, total - flows.length) };
  const must = flows.filter((f) => f.finding || f.ollama);
  let room = Math.max(0, cap - must.length);
  const keep = new Set(must);
  for (const f of flows) {
    if (room === 0) break;
    if (!keep.has(f)) {
      keep.add(f);
      room--;
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
