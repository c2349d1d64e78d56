import type { Flow } from '../flows/flow.js';
import type { StoreGap } from '../store/live-session.js';
import { IdSet } from './id-set.js';

/** What reached the store over a live capture, and the windows that did not. */
export interface StoredCounts {
  /** Flows with a row. */
  flows: number;
  /** Flows that closed while the store was full and have no row. */
  flowsNotStored: number;
  /** Flows that closed while the store was full, whose row keeps an earlier state. */
  flowsIncomplete: number;
  recordsNotStored: number;
  /** Every gap, the last one still open when the store was full at the end. */
  gaps: StoreGap[];
}

/**
 * Bookkeeping of a live store whose disk can fill up. While writes fail, the engine keeps capturing
 * and counting, but drops the rows of flows that closed and of DNS/HTTP records (counted here), so
 * memory stays bounded; open flows are written once a write succeeds again. A gap runs from the
 * last successful write to the last failed one: the rows of that window are what was lost.
 */
export function createStoreGaps(startUs: number, rowKey: (f: Flow) => Flow | number = (f) => f) {
  const hasRow = new WeakSet<Flow>();
  // Flows held in the flow table's rows (held-flows.ts) are known by id until they get a Flow (gotFlow):
  // under a flood ~500,000 of them, in a set of ids in a typed array (id-set.ts).
  const heldHasRow = new IdSet();
  // Ids whose row moved onto their Flow since the last settled write. A write still on its way may
  // carry a row of the same flow built while it was held (a transient); answered after that Flow
  // closed and left the table, it is keyed by id again (held-flows.ts rowKey), and the flow must not
  // count twice (a replay under load counted 16 flows for 15 rows). Emptied once no write is on its
  // way (writesSettled): it holds about a second's flows that got their Flow.
  let movedIds = new IdSet();
  // A held flow's row may be acknowledged after its flow got a Flow and closed (the write was on its
  // way to the store thread): that row is known by id, and it is the Flow's row too (ids are unique
  // in a session), so a Flow also has a row when its id has one; the id is moved onto the Flow.
  const moveToFlow = (f: Flow): void => {
    if (!heldHasRow.delete(f.id)) return;
    hasRow.add(f);
    movedIds.add(f.id);
  };
  const has = (f: Flow): boolean => {
    const k = rowKey(f);
    return typeof k === 'number' ? heldHasRow.has(k) || movedIds.has(k) : hasRow.has(k) || heldHasRow.has(k.id);
  };
  const add = (f: Flow): void => {
    const k = rowKey(f);
    if (typeof k === 'number') heldHasRow.add(k);
    else hasRow.add(k);
  };
  const counts: StoredCounts = { flows: 0, flowsNotStored: 0, flowsIncomplete: 0, recordsNotStored: 0, gaps: [] };
  let open: StoreGap | null = null;
  let lastWriteUs = startUs;

  return {
    counts,
    /** The store was full at least once. */
    everFull: () => counts.gaps.length > 0,
    /** The store is full now (the last write failed). */
    isFull: () => open !== null,
    /** Gaps to record with the next write (an open one ends at the last failure: the rows since then are in that write). */
    toRecord: (): StoreGap[] => counts.gaps,
    /** A write of these flows succeeded at nowUs. Returns the gap it closed, if any. */
    wrote(flows: Flow[], nowUs: number): StoreGap | null {
      for (const f of flows) {
        const k = rowKey(f);
        if (typeof k !== 'number') moveToFlow(k);
        if (has(f)) continue;
        add(f);
        counts.flows++;
      }
      lastWriteUs = nowUs;
      const closed = open;
      open = null;
      return closed;
    },
    /** A held flow got its Flow: a row written while it was held is its row. */
    gotFlow(f: Flow): void {
      moveToFlow(f);
    },
    /** No write is on its way: no row of a flow from before it got its Flow can still be answered. */
    writesSettled(): void {
      if (movedIds.size > 0) movedIds = new IdSet();
    },
    /** A write failed at nowUs: `closedFlows` and `records` are dropped. Returns the gap when this failure opened it. */
    failed(closedFlows: Flow[], records: number, nowUs: number): StoreGap | null {
      const opened = open === null;
      if (open === null) {
        open = { start_us: lastWriteUs, end_us: nowUs, flows_not_stored: 0, flows_incomplete: 0, records_not_stored: 0 };
        counts.gaps.push(open);
      }
      open.end_us = nowUs;
      for (const f of closedFlows) {
        if (has(f)) {
          open.flows_incomplete++;
          counts.flowsIncomplete++;
        } else {
          open.flows_not_stored++;
          counts.flowsNotStored++;
        }
      }
      open.records_not_stored += records;
      counts.recordsNotStored += records;
      return opened ? open : null;
    },
  };
}

export type StoreGaps = ReturnType<typeof createStoreGaps>;
