/**
 * What `watch` prints when it cannot draw (stdout or stdin not a terminal): one line per second,
 * or with --json one JSON object per second (values exact, strings as they are: JSON needs no
 * escaping for a terminal). Pure: from a frame.
 */
import { formatBytes, formatDuration } from '../text/format-values.js';
import type { Frame } from './data/frame.js';

function verdictCounts(f: Frame): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of f.claims) counts[c.verdict] = (counts[c.verdict] ?? 0) + 1;
  return counts;
}

export function summaryLine(f: Frame): string {
  const b = f.banner;
  const doubt = f.doubt === null ? '' : ` (unverified: ${f.doubt})`;
  const banner = b.kind === 'silent' ? `SILENT for ${formatDuration(b.forS)}${doubt}` : `TRAFFIC: ${b.flows} flow(s) to ${b.topHost}, ${formatBytes(b.bytes)} in the last minute`;
  const state = f.header.session === null ? 'no session in the store yet' : `session ${f.header.session} ${f.header.live ? 'LIVE' : 'ENDED'}`;
  const claims = Object.entries(verdictCounts(f)).map(([v, n]) => `${n} ${v}`).join(', ') || 'not evaluated yet';
  const cov = f.coverage ? `${f.coverage.packets} packets, drops ${f.coverage.drops ?? 'unknown'}, ${f.coverage.problems.length} coverage problem(s)` : 'coverage not evaluated yet';
  return `${new Date(f.nowMs).toISOString().slice(0, 19)}Z ${state} · ${banner} · ${f.sessionFlows} flows in the session · ${f.total} Ollama flows · claims: ${claims} · ${cov}`;
}

export function summaryJson(f: Frame): string {
  return JSON.stringify({
    time: new Date(f.nowMs).toISOString(),
    session: f.header.session,
    live: f.header.live,
    banner: f.banner,
    doubt: f.doubt,
    ollama_flows: f.total,
    session_flows: f.sessionFlows,
    claims: f.claims.map((c) => ({ id: c.id, verdict: c.verdict, reason: c.reason })),
    coverage: f.coverage,
  });
}
