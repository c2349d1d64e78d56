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
  /** Every matching id in display order: what `o` freezes and the cursor moves over. */
  order: number[];
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

/** Numbers sort largest first (busiest, biggest, oldest); text A→Z. Ties: the newer flow first. */
function compare(col: SortColumn, nowMs: number): (a: WatchFlow, b: WatchFlow) => number {
  return (a, b) => {
    const ka = sortKey(col, a, nowMs);
    const kb = sortKey(col, b, nowMs);
    if (ka !== kb) return typeof ka === 'number' ? (kb as number) - ka : ka < kb ? -1 : 1;
    return b.id - a.id;
  };
}

export function flowView(flows: Iterable<WatchFlow>, q: FlowViewQuery, nowMs: number): FlowView {
  const terms = parseFilter(q.filter);
  const shown: WatchFlow[] = [];
  for (const f of flows) {
    if (!q.all && !f.ollama) continue;
    if (!q.closed && f.closed) continue;
    if (matchesFilter(terms, f)) shown.push(f);
  }
  const cmp = compare(q.sort, nowMs);
  if (q.frozen) {
    const pos = new Map(q.frozen.map((id, i) => [id, i]));
    shown.sort((a, b) => (pos.get(a.id) ?? Infinity) - (pos.get(b.id) ?? Infinity) || cmp(a, b));
  } else {
    shown.sort(q.reverse ? (a, b) => cmp(b, a) : cmp);
    // The Ollama tree's flows first, whatever the column (`a` adds the rest below them).
    if (q.all) shown.sort((a, b) => Number(b.ollama) - Number(a.ollama));
  }
  const offset = clampOffset(q.offset, shown.length, q.height);
  return { rows: shown.slice(offset, offset + q.height), total: shown.length, offset, order: shown.map((f) => f.id) };
}

export function clampOffset(offset: number, total: number, height: number): number {
  return Math.max(0, Math.min(offset, total - Math.max(1, height)));
}
