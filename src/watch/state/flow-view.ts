/**
 * Which flows the Flows view shows and in what order: scope (the Ollama tree's flows first, or
 * everything with `a`; closed flows with `h`), the filter, the sort column, frozen order (`o`), and
 * the window of rows the screen has room for. Pure: the data thread runs it, tests call it.
 */
import { matchesFilter, parseFilter } from './filter.js';
import { RATE_WINDOW_MS, type WatchFlow } from './flow-state.js';

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
    case 'rate': return rateSum(f, nowMs);
    case 'total': return f.bytesIn + f.bytesOut;
    case 'age': return -f.firstSeenUs;
    case 'remote': return f.remote.toLowerCase();
    case 'process': return (f.proc ?? '\uffff').toLowerCase();
    case 'activity': return f.activity;
  }
}

/** rateOf's in + out without an object per call (a sort asks it of every flow). */
function rateSum(f: WatchFlow, nowMs: number): number {
  return nowMs - f.grewAtMs > RATE_WINDOW_MS ? 0 : f.rateIn + f.rateOut;
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

type ViewChoices = Omit<FlowViewQuery, 'offset' | 'height'>;

/** The display order's comparison for these choices. */
function orderOf(q: ViewChoices): (a: Keyed, b: Keyed) => number {
  if (q.frozen) {
    const frozen = new Map(q.frozen.map((id, i) => [id, i]));
    return (a, b) => (frozen.get(a.f.id) ?? Infinity) - (frozen.get(b.f.id) ?? Infinity) || compareKeyed(a, b);
  }
  // The Ollama flows first when all are shown (`a` adds the rest below them), whatever the column.
  return (a, b) => (q.all ? b.ollama - a.ollama : 0) || (q.reverse ? compareKeyed(b, a) : compareKeyed(a, b));
}

/** The scope (`a`, `h`) and the filter let the flow through. */
function isShown(f: WatchFlow, q: ViewChoices, terms: ReturnType<typeof parseFilter>): boolean {
  return (q.all || f.ollama) && (q.closed || !f.closed) && matchesFilter(terms, f);
}

/** The flow as a sort sees it, or null when the scope or filter leaves it out. */
function keyedIfShown(f: WatchFlow, q: ViewChoices, terms: ReturnType<typeof parseFilter>, nowMs: number): Keyed | null {
  return isShown(f, q, terms) ? { f, key: sortKey(q.sort, f, nowMs), ollama: f.ollama ? 1 : 0 } : null;
}

/**
 * The first `count` flows of sortedFlows' order, and how many the scope and filter let through, in
 * one pass that keeps only the best `count`: a new sort column's first screen without sorting
 * every flow (50,000 flows: one pass instead of ~800,000 comparisons); the full order can follow.
 */
export function firstFlows(flows: Iterable<WatchFlow>, q: ViewChoices, nowMs: number, count: number): { rows: WatchFlow[]; total: number } {
  const terms = parseFilter(q.filter);
  const order = orderOf(q);
  const best: Keyed[] = [];
  const probe: Keyed = { f: null as unknown as WatchFlow, key: 0, ollama: 0 }; // reused: a flow not kept allocates nothing
  let total = 0;
  for (const f of flows) {
    if (!isShown(f, q, terms)) continue;
    total++;
    if (count <= 0) continue;
    probe.f = f;
    probe.key = sortKey(q.sort, f, nowMs);
    probe.ollama = f.ollama ? 1 : 0;
    if (best.length === count && order(probe, best[count - 1]) >= 0) continue;
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (order(probe, best[mid]) < 0) hi = mid;
      else lo = mid + 1;
    }
    best.splice(lo, 0, { ...probe });
    if (best.length > count) best.pop();
  }
  return { rows: best.map((k) => k.f), total };
}

/** Every flow the scope and filter let through, in display order (what a window is cut from). */
export function sortedFlows(flows: Iterable<WatchFlow>, q: ViewChoices, nowMs: number): WatchFlow[] {
  const terms = parseFilter(q.filter);
  const shown: Keyed[] = [];
  for (const f of flows) {
    const k = keyedIfShown(f, q, terms, nowMs);
    if (k) shown.push(k);
  }
  return shown.sort(orderOf(q)).map((k) => k.f);
}

/**
 * The same order as sortedFlows, from the order of a moment ago: only the flows in `moved` (merged
 * since, or sorted by a rate that may have decayed) are taken out and put back in their place; the
 * rest keep theirs (their keys cannot have changed). Each is placed by a binary search of the kept
 * order and the runs between are copied: a busy store changes a few hundred of 50,000 flows a
 * second, so a frame compares O(moved × log n) keys instead of one per flow.
 */
export function resortedFlows(before: readonly WatchFlow[], flows: ReadonlyMap<number, WatchFlow>, moved: ReadonlySet<number>, q: ViewChoices, nowMs: number): WatchFlow[] {
  const terms = parseFilter(q.filter);
  const order = orderOf(q);
  const incoming: Keyed[] = [];
  for (const id of moved) {
    const f = flows.get(id);
    const k = f ? keyedIfShown(f, q, terms, nowMs) : null;
    if (k) incoming.push(k);
  }
  incoming.sort(order);
  const kept = before.filter((f) => !moved.has(f.id));
  const probe: Keyed = { f: kept[0], key: 0, ollama: 0 }; // one object reused: no allocation per comparison
  const keptAt = (i: number): Keyed => {
    probe.f = kept[i];
    probe.key = sortKey(q.sort, kept[i], nowMs);
    probe.ollama = kept[i].ollama ? 1 : 0;
    return probe;
  };
  const out: WatchFlow[] = [];
  let from = 0;
  for (const k of incoming) {
    // The first kept flow this one goes before (the kept order is sorted, so the search is valid).
    let lo = from;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (order(k, keptAt(mid)) < 0) hi = mid;
      else lo = mid + 1;
    }
    for (let i = from; i < lo; i++) out.push(kept[i]);
    out.push(k.f);
    from = lo;
  }
  for (let i = from; i < kept.length; i++) out.push(kept[i]);
  return out;
}

/**
 * An order kept between frames without being remade each frame: `base` (a full sort, or the last
 * re-placing), its ids, and the flows `moved` since (merged, or sorted by a rate that may have
 * decayed), which windowOfKept places at their current keys. Remade (resortedFlows) only once
 * enough have moved: a frame of a 50,000-flow store then looks at the moved flows and the window's
 * rows, not at every flow (a full re-placing copies all 50,000, ~5 ms a frame).
 */
export interface KeptOrder {
  base: WatchFlow[];
  baseIds: Set<number>;
  moved: Set<number>;
}

export function keptOrderOf(base: WatchFlow[], moved: Iterable<number>): KeptOrder {
  const baseIds = new Set<number>();
  for (const f of base) baseIds.add(f.id);
  return { base, baseIds, moved: new Set(moved) };
}

/**
 * The window of `height` rows from `offset`, and the total, of the order resortedFlows(base, flows,
 * moved, …) gives, without making it: the moved flows that the scope and filter let through are
 * sorted by their keys now, and merged with the base (its moved flows stepped over) up to the
 * window's end. A moved flow goes before the first kept flow it sorts before, as there.
 */
export function windowOfKept(o: KeptOrder, flows: ReadonlyMap<number, WatchFlow>, q: ViewChoices, nowMs: number, offset: number, height: number): FlowView {
  const terms = parseFilter(q.filter);
  const order = orderOf(q);
  const incoming: Keyed[] = [];
  let movedInBase = 0;
  for (const id of o.moved) {
    if (o.baseIds.has(id)) movedInBase++;
    const f = flows.get(id);
    const k = f ? keyedIfShown(f, q, terms, nowMs) : null;
    if (k) incoming.push(k);
  }
  incoming.sort(order);
  const total = o.base.length - movedInBase + incoming.length;
  const first = clampOffset(offset, total, height);
  const probe: Keyed = { f: o.base[0], key: 0, ollama: 0 }; // one object reused: no allocation per comparison
  const rows: WatchFlow[] = [];
  let i = 0;
  let n = 0;
  for (let at = 0; at < first + height; at++) {
    while (i < o.base.length && o.moved.has(o.base[i].id)) i++;
    let f: WatchFlow;
    if (i < o.base.length && (n === incoming.length || order(incoming[n], keyedInto(probe, o.base[i], q, nowMs)) >= 0)) f = o.base[i++];
    else if (n < incoming.length) f = incoming[n++].f;
    else break;
    if (at >= first) rows.push(f);
  }
  return { rows, total, offset: first };
}

function keyedInto(k: Keyed, f: WatchFlow, q: ViewChoices, nowMs: number): Keyed {
  k.f = f;
  k.key = sortKey(q.sort, f, nowMs);
  k.ollama = f.ollama ? 1 : 0;
  return k;
}

/** The window of `height` rows from `offset` of an already sorted list (or of its first rows, when `total` says how many there are). */
export function windowOf(sorted: readonly WatchFlow[], offset: number, height: number, total = sorted.length): FlowView {
  const o = clampOffset(offset, total, height);
  return { rows: sorted.slice(o, o + height), total, offset: o };
}


export function clampOffset(offset: number, total: number, height: number): number {
  return Math.max(0, Math.min(offset, total - Math.max(1, height)));
}
