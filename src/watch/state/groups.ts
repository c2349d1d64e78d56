/**
 * The Hosts and Activities views: flows added up per far end or per activity (totals and current
 * rates), busiest first. Pure, over the same rows and scope as the Flows view.
 */
import { rateOf, type WatchFlow } from './flow-state.js';

export interface GroupRow {
  key: string;
  flows: number;
  /** Flows of the Ollama tree among them. */
  ollama: number;
  bytesIn: number;
  bytesOut: number;
  rateIn: number;
  rateOut: number;
  lastSeenUs: number;
  /** Activities (Hosts view) or far ends (Activities view), at most a few, most bytes first. */
  other: string[];
}

const OTHER_SHOWN = 3;

export function groupFlows(flows: Iterable<WatchFlow>, by: 'host' | 'activity', nowMs: number, include: (f: WatchFlow) => boolean): GroupRow[] {
  const groups = new Map<string, GroupRow & { otherBytes: Map<string, number> }>();
  for (const f of flows) {
    if (!include(f)) continue;
    const key = by === 'host' ? f.remote : f.activity;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, flows: 0, ollama: 0, bytesIn: 0, bytesOut: 0, rateIn: 0, rateOut: 0, lastSeenUs: 0, other: [], otherBytes: new Map() }));
    const r = rateOf(f, nowMs);
    g.flows++;
    g.ollama += f.ollama ? 1 : 0;
    g.bytesIn += f.bytesIn;
    g.bytesOut += f.bytesOut;
    g.rateIn += r.in;
    g.rateOut += r.out;
    g.lastSeenUs = Math.max(g.lastSeenUs, f.lastSeenUs);
    const other = by === 'host' ? f.activity : f.remote;
    g.otherBytes.set(other, (g.otherBytes.get(other) ?? 0) + f.bytesIn + f.bytesOut);
  }
  return [...groups.values()].map(({ otherBytes, ...g }) => ({
    ...g,
    other: [...otherBytes].sort((a, b) => b[1] - a[1]).slice(0, OTHER_SHOWN).map(([k]) => k),
  })).sort((a, b) => (b.rateIn + b.rateOut) - (a.rateIn + a.rateOut) || (b.bytesIn + b.bytesOut) - (a.bytesIn + a.bytesOut) || (a.key < b.key ? -1 : 1));
}
