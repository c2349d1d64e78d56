/**
 * Which flows the Flows view shows and in what order: scope (the Ollama tree's flows first, or
 * everything with `a`; closed flows with `h`), the filter, the sort column, frozen order (`o`), and
 * the window of rows the screen has room for. Pure: the data thread runs it, tests call it.
 */
import { matchesFilter, parseFilter } from './filter.js';
import { rateOf, type WatchFlow } from './flow-state.js';

export const SORT_COLUMNS = ['rate', 'total', 'age', 'remote', 'process', 'activity'] as const;
export type SortColumn = typeof SORT_COLUMNS[number];

export interface FlowViewQuery {
  /** Every flow (`a`), else only the Ollama tree's. */
  all: boolean;
  /** Closed flows too (`h`). */
  closed: boolean;
  filter: string;
  sort: SortColumn;
  reverse: boolean;
  /** Frozen order (`o`): flow ids in the order they had when frozen; newer flows go below. */
  frozen: readonly number[] | null;
  /** Index of the first row drawn, and how many rows fit. */
  offset: number;
  height: number;
}

export interface FlowView {
  rows: WatchFlow[];
  /** Flows the scope and filter let through (the rows are a window of them). */
  total: number;
  offset: number;
}

function sortKey(col: SortColumn, f: WatchFlow, nowMs: number): number | string {
  switch (col) {
    case 'rate': { const r = rateOf(f, nowMs); return r.in + r.out; }
    case 'total': return f.bytesIn + f.bytesOut;
    case 'age': return -f.firstSeenUs;
    case 'remote': return f.remote.toLowerCase();
    case 'process': return (f.proc ?? '\uffff').toLowerCase();
    case 'activity': return f.activity;
  }
}

interface Keyed { f: WatchFlow; key: number | string; ollama: number }

/**
 * Numbers sort largest first (busiest, biggest, oldest); text A→Z; ties: the newer flow first.
 * Keys are computed once per flow, not per comparison (50,000 flows: ~800,000 comparisons a sort).
 */
function compareKeyed(a: Keyed, b: Keyed): number {
  if (a.key !== b.key) return typeof a.key === 'number' ? (b.key as number) - a.key : a.key < b.key ? -1 : 1;
  return b.f.id - a.f.id;
}

/** Every flow the scope and filter let through, in display order (what a window is cut from). */
export function sortedFlows(flows: Iterable<WatchFlow>, q: Omit<FlowViewQuery, 'offset' | 'height'>, nowMs: number): WatchFlow[] {
  const terms = parseFilter(q.filter);
  const frozen = q.frozen ? new Map(q.frozen.map((id, i) => [id, i])) : null;
  const shown: Keyed[] = [];
  for (const f of flows) {
    if (!q.all && !f.ollama) continue;
    if (!q.closed && f.closed) continue;
    if (matchesFilter(terms, f)) shown.push({ f, key: sortKey(q.sort, f, nowMs), ollama: f.ollama ? 1 : 0 });
  }
  if (frozen) {
    shown.sort((a, b) => (frozen.get(a.f.id) ?? Infinity) - (frozen.get(b.f.id) ?? Infinity) || compareKeyed(a, b));
  } else {
    // The Ollama flows first when all are shown (`a` adds the rest below them), whatever the column.
    shown.sort((a, b) => (q.all ? b.ollama - a.ollama : 0) || (q.reverse ? compareKeyed(b, a) : compareKeyed(a, b)));
  }
  return shown.map((k) => k.f);
}

/** The window of `height` rows from `offset` of an already sorted list. */
export function windowOf(sorted: readonly WatchFlow[], offset: number, height: number): FlowView {
  const o = clampOffset(offset, sorted.length, height);
  return { rows: sorted.slice(o, o + height), total: sorted.length, offset: o };
}


export function clampOffset(offset: number, total: number, height: number): number {
  return Math.max(0, Math.min(offset, total - Math.max(1, height)));
}
