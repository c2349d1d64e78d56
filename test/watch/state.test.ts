/**
 * The dashboard's pure state (issue #11): merging changed rows, rates from byte differences, the
 * silence banner, filter/sort/scroll and key → action. Rows come from a real import of the demo
 * capture; what each flow is comes from how the capture was made (fixtures/README.md, `flows`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesLastMinute, emptyFlowState, mergeFlows, rateOf, RATE_WINDOW_MS } from '../../src/watch/state/flow-state.js';
import { firstFlows, keptOrderOf, resortedFlows, sortedFlows, SORT_COLUMNS, windowOf, windowOfKept, type FlowViewQuery } from '../../src/watch/state/flow-view.js';
import { WatchModel } from '../../src/watch/data/model.js';
import type { WatchFlow } from '../../src/watch/state/flow-state.js';

/** The Flows view as the model builds it: the sorted list, a window of it, and every id in order. */
function flowView(flows: Iterable<WatchFlow>, q: FlowViewQuery, nowMs: number) {
  const sorted = sortedFlows(flows, q, nowMs);
  return { ...windowOf(sorted, q.offset, q.height), order: sorted.map((f) => f.id) };
}
import { parseFilter, matchesFilter } from '../../src/watch/state/filter.js';
import { groupFlows } from '../../src/watch/state/groups.js';
import { silenceBanner } from '../../src/watch/state/banner.js';
import { keyToAction, splitInput } from '../../src/watch/state/keys.js';
import { frameQueryOf, initialUiState, reduce, type ListInfo } from '../../src/watch/state/ui-state.js';
import type { WatchRow } from '../../src/store/read/changes.js';
import { demoWatchRows, demoStore, type DemoStore } from './demo-store.js';

let store: DemoStore;
let rows: WatchRow[];
beforeAll(async () => {
  store = await demoStore();
  rows = demoWatchRows(store);
});
afterAll(() => store.remove());

const query = (q: Partial<FlowViewQuery> = {}): FlowViewQuery =>
  ({ all: true, closed: true, filter: '', sort: 'total', reverse: false, frozen: null, offset: 0, height: 100, ...q });

const cdn = () => rows.find((r) => r.activity === 'blob-download')!;

describe('merge and rates', () => {
  it('a flow seen once has no rate; seen again, its rate is the byte growth over the time between', () => {
    const s = emptyFlowState();
    expect(mergeFlows(s, rows, 1_000)).toBe(rows.length);
    const f = cdn();
    expect(s.flows.get(f.id)!.rateIn).toBe(0);
    mergeFlows(s, [{ ...f, bytes_in: f.bytes_in + 50_000, bytes_out: f.bytes_out + 1_000 }], 1_500);
    const merged = s.flows.get(f.id)!;
    expect(merged.rateIn).toBe(100_000);
    expect(merged.rateOut).toBe(2_000);
    expect(merged.bytesIn).toBe(f.bytes_in + 50_000);
    expect(rateOf(merged, 1_500 + RATE_WINDOW_MS)).toEqual({ in: 100_000, out: 2_000 });
    expect(rateOf(merged, 1_501 + RATE_WINDOW_MS)).toEqual({ in: 0, out: 0 });
    // Read again unchanged (an overlapping read): no growth, so the last rate's time stays.
    mergeFlows(s, [{ ...f, bytes_in: f.bytes_in + 50_000, bytes_out: f.bytes_out + 1_000 }], 2_000);
    expect(s.flows.get(f.id)!.grewAtMs).toBe(1_500);
    expect(s.flows.size).toBe(rows.length);
  });

  it('the watermark is the largest last_seen merged, and off-host Ollama bytes count toward the last minute', () => {
    const s = emptyFlowState();
    mergeFlows(s, rows, 10_000);
    const last = Math.max(...rows.map((r) => Math.floor(r.last_seen_us / 1000)));
    expect(Math.floor(s.watermarkUs! / 1000)).toBe(last);
    const offHostOllama = rows.filter((r) => r.ollama && !r.initiator_addr.startsWith('127.') && !r.responder_addr.startsWith('127.'));
    expect(bytesLastMinute(s, 10_000)).toBe(offHostOllama.reduce((n, r) => n + r.bytes_in + r.bytes_out, 0));
    expect(bytesLastMinute(s, 70_000)).toBe(0);
  });

  it('names made visible: a process name with an escape sequence shows as text', () => {
    const s = emptyFlowState();
    const f = cdn();
    mergeFlows(s, [{ ...f, process: { pid: 7, name: 'evil\x1b[2J', exe: null }, hostname: 'a\nb.example' }], 0);
    expect(s.flows.get(f.id)!.proc).toBe('evil\\x1b[2J');
    expect(s.flows.get(f.id)!.remote).toBe('a\\x0ab.example');
  });
});

describe('filter, sort and scroll', () => {
  it('the Ollama scope holds exactly the flows the import marked ollama; `a` adds the rest below them', () => {
    const s = emptyFlowState();
    mergeFlows(s, rows, 0);
    const ollama = flowView(s.flows.values(), query({ all: false }), 0);
    expect(ollama.total).toBe(rows.filter((r) => r.ollama).length);
    const all = flowView(s.flows.values(), query(), 0);
    expect(all.total).toBe(rows.length);
    const firstOther = all.rows.findIndex((f) => !f.ollama);
    expect(all.rows.slice(firstOther).every((f) => !f.ollama)).toBe(true);
  });

  it('host:, proc:, act:, port: and ! select the flows the capture shows for each', () => {
    const s = emptyFlowState();
    mergeFlows(s, rows, 0);
    const ids = (filter: string) => flowView(s.flows.values(), query({ filter }), 0).rows.map((f) => f.id).sort((a, b) => a - b);
    const want = (pred: (r: WatchRow) => boolean) => rows.filter(pred).map((r) => r.id).sort((a, b) => a - b);
    expect(ids('host:registry')).toEqual(want((r) => (r.hostname ?? '').includes('registry')));
    expect(ids('host:registry').length).toBe(3);
    expect(ids('proc:curl')).toEqual(want((r) => r.process?.name === 'curl'));
    expect(ids('act:dns !proc:ollama')).toEqual(want((r) => r.activity === 'dns' && r.process?.name !== 'ollama'));
    expect(ids('port:11434')).toEqual(want((r) => r.responder_port === 11434));
    expect(ids('registry')).toEqual(want((r) => (r.hostname ?? '').includes('registry') || r.activity.includes('registry')));
    expect(parseFilter('!port:53 x')).toEqual([{ field: 'port', value: '53', negate: true }, { field: 'word', value: 'x', negate: false }]);
    expect(matchesFilter([], s.flows.get(rows[0].id)!)).toBe(true);
  });

  it('sorts by total (biggest first: the CDN blob), reverses, and freezes an order new flows do not disturb', () => {
    const s = emptyFlowState();
    mergeFlows(s, rows, 0);
    const v = flowView(s.flows.values(), query({ all: false }), 0);
    expect(v.rows[0].id).toBe(cdn().id);
    const rev = flowView(s.flows.values(), query({ all: false, reverse: true }), 0);
    expect(rev.rows.at(-1)!.id).toBe(cdn().id);
    const frozen = [...rev.order];
    mergeFlows(s, [{ ...cdn(), bytes_in: cdn().bytes_in * 10 }], 500);
    expect(flowView(s.flows.values(), query({ all: false, frozen }), 500).order).toEqual(frozen);
    const byName = flowView(s.flows.values(), query({ all: false, sort: 'remote' }), 0).rows.map((f) => f.remote);
    for (let i = 1; i < byName.length; i++) expect(byName[i - 1].toLowerCase() <= byName[i].toLowerCase()).toBe(true);
  });

  it('a window of `height` rows from `offset`, clamped so the last page is full', () => {
    const s = emptyFlowState();
    mergeFlows(s, rows, 0);
    const all = flowView(s.flows.values(), query(), 0);
    const page = flowView(s.flows.values(), query({ offset: 5, height: 4 }), 0);
    expect(page.rows.map((f) => f.id)).toEqual(all.order.slice(5, 9));
    const last = flowView(s.flows.values(), query({ offset: 999, height: 4 }), 0);
    expect(last.offset).toBe(rows.length - 4);
    expect(last.rows).toHaveLength(4);
  });

  it('hosts and activities add up their flows', () => {
    const s = emptyFlowState();
    mergeFlows(s, rows, 0);
    const hosts = groupFlows(s.flows.values(), 'host', 0, () => true);
    const reg = hosts.find((h) => h.key === 'registry.ollama.ai')!;
    expect(reg.flows).toBe(3);
    expect(reg.ollama).toBe(rows.filter((r) => r.hostname === 'registry.ollama.ai' && r.ollama).length);
    const acts = groupFlows(s.flows.values(), 'activity', 0, () => true);
    expect(acts.reduce((n, a) => n + a.flows, 0)).toBe(rows.length);
    expect(acts.find((a) => a.key === 'blob-download')!.bytesIn).toBe(cdn().bytes_in);
  });
});

describe('a busy store: only what changed is merged and re-placed', () => {
  /** The demo rows copied `n` times under new ids (a big session of the same kinds of flows). */
  const copies = (n: number): WatchRow[] => Array.from({ length: n }, (_, k) => rows.map((r) => ({
    ...r, id: r.id + 1000 * (k + 1), bytes_in: r.bytes_in + ((k * 7919) % 5000), bytes_out: r.bytes_out + ((k * 104729) % 3000),
  }))).flat();

  it('an overlapping read of rows that did not change merges nothing (no new version, nothing to re-sort)', () => {
    const s = emptyFlowState();
    mergeFlows(s, rows, 0);
    const version = s.version;
    s.changed = new Set();
    expect(mergeFlows(s, rows, 1_000)).toBe(0);
    expect(s.version).toBe(version);
    expect(s.changed.size).toBe(0);
    mergeFlows(s, [{ ...cdn(), bytes_in: cdn().bytes_in + 1 }], 1_500);
    expect([...s.changed]).toEqual([cdn().id]);
  });

  /** Every sort column with four choices (scope, reverse, a filter, closed hidden): one query each. */
  function everyOrder(): { sort: string; choice: object; q: FlowViewQuery & { frozen: null } }[] {
    const choices = [{ all: true }, { all: false, reverse: true }, { all: true, filter: 'act:api !port:53' }, { closed: false }];
    return SORT_COLUMNS.flatMap((sort) => choices.map((choice) => ({ sort, choice, q: { ...query({ sort, ...choice }), frozen: null } })));
  }

  /** Round `round`'s changes of `big`: a few hundred flows growing (rates, totals), some new, some renamed. */
  function roundChanges(big: typeof rows, round: number) {
    return [
      ...big.filter((_, i) => (i * 31 + round) % 7 === 0).map((r) => ({ ...r, bytes_in: r.bytes_in + round * 999 * ((r.id % 13) + 1) })),
      ...rows.map((r) => ({ ...r, id: r.id + 900_000 + round * 1000 })),
      ...big.slice(round * 10, round * 10 + 5).map((r) => ({ ...r, hostname: `zz-${round}.example`, activity: 'unknown' })),
    ];
  }

  it('re-placing the changed flows in the kept order gives the order a full sort gives, for every column and choice', () => {
    const big = copies(40);
    for (const { sort, choice, q } of everyOrder()) {
      const s = emptyFlowState();
      mergeFlows(s, big, 0);
      let before = sortedFlows(s.flows.values(), q, 0);
      s.changed = new Set();
      for (let round = 1; round <= 3; round++) {
        const nowMs = round * 1500;
        mergeFlows(s, roundChanges(big, round), nowMs);
        // By rate, flows that had a rate at the last sort move too (it decays without a merge).
        const moved = new Set([...s.changed!, ...before.filter((f) => rateOf(f, nowMs - 1500).in + rateOf(f, nowMs - 1500).out > 0).map((f) => f.id)]);
        const next = resortedFlows(before, s.flows, moved, q, nowMs);
        expect(next.map((f) => f.id), `${sort} ${JSON.stringify(choice)} round ${round}`).toEqual(sortedFlows(s.flows.values(), q, nowMs).map((f) => f.id));
        before = next;
        s.changed = new Set();
      }
    }
  });

  /**
   * 20,000+ flows sorted by total, then 1 % of them grown at 1 s (s.changed names them). keyReads()
   * counts the sort key's reads of the sorted flows since the growth (a merged flow is a new object,
   * uncounted): what a re-placing or a frame's window costs.
   */
  function twentyThousandThenGrown() {
    const big = copies(720);
    const q = { ...query({ sort: 'total' }), frozen: null };
    const s = emptyFlowState();
    mergeFlows(s, big, 0);
    const base = sortedFlows(s.flows.values(), q, 0);
    let reads = 0;
    for (const f of base) {
      const v = f.bytesIn;
      Object.defineProperty(f, 'bytesIn', { get: () => { reads++; return v; }, configurable: true });
    }
    s.changed = new Set();
    const grown = big.filter((_, i) => i % 100 === 0).map((r) => ({ ...r, bytes_in: r.bytes_in + 7_777 * ((r.id % 11) + 1) }));
    mergeFlows(s, grown, 1_000);
    reads = 0;
    return { s, q, base, grown, keyReads: () => reads };
  }

  it('re-placing a few hundred changed flows among 20,000 compares O(changed × log n) sort keys, not one per flow', () => {
    const { s, q, base: before, grown, keyReads } = twentyThousandThenGrown();
    const next = resortedFlows(before, s.flows, s.changed!, q, 1_000);
    const resortReads = keyReads();
    expect(next.map((f) => f.id)).toEqual(sortedFlows(s.flows.values(), q, 1_000).map((f) => f.id));
    expect(before.length).toBeGreaterThan(20_000);
    expect(grown.length).toBeGreaterThan(150);
    // Each changed flow: a binary search of ~20,000 (≤ 15 comparisons); a merge pass would read every flow's key.
    expect(resortReads).toBeGreaterThan(0);
    expect(resortReads).toBeLessThanOrEqual(grown.length * 15);
  });

  it("a frame's window of the kept order and its moved flows (windowOfKept) is a full sort's window and total, for every column, choice and offset", () => {
    const big = copies(40);
    for (const { sort, choice, q } of everyOrder()) {
      const s = emptyFlowState();
      mergeFlows(s, big, 0);
      const base = sortedFlows(s.flows.values(), q, 0);
      // Moved flows pile up over three rounds without the base being remade, as between two remakings.
      const kept = keptOrderOf(base, q.sort === 'rate' ? base.filter((f) => rateOf(f, 0).in + rateOf(f, 0).out > 0).map((f) => f.id) : []);
      s.changed = new Set();
      for (let round = 1; round <= 3; round++) {
        const nowMs = round * 1500;
        const closed = big.slice(round * 20, round * 20 + 3).map((r) => ({ ...r, conn_state: 'SF', bytes_out: r.bytes_out + 1 }));
        mergeFlows(s, [...roundChanges(big, round), ...closed], nowMs);
        for (const id of s.changed!) kept.moved.add(id);
        s.changed = new Set();
        const full = sortedFlows(s.flows.values(), q, nowMs);
        for (const offset of [0, 7, 100, full.length - 5, full.length + 50]) {
          const v = windowOfKept(kept, s.flows, q, nowMs, offset, 30);
          const want = windowOf(full, offset, 30);
          const what = `${sort} ${JSON.stringify(choice)} round ${round} offset ${offset}`;
          expect(v.total, what).toBe(want.total);
          expect(v.offset, what).toBe(want.offset);
          expect(v.rows.map((f) => f.id), what).toEqual(want.rows.map((f) => f.id));
        }
      }
    }
  });

  it("a frame of 20,000 flows with a few hundred moved reads the sort keys of the window's rows and the moved flows only, not one per flow", () => {
    const { s, q, base, grown, keyReads } = twentyThousandThenGrown();
    const kept = keptOrderOf(base, s.changed!);
    const v = windowOfKept(kept, s.flows, q, 1_000, 0, 30);
    const frameReads = keyReads();
    expect(v.rows.map((f) => f.id)).toEqual(sortedFlows(s.flows.values(), q, 1_000).slice(0, 30).map((f) => f.id));
    expect(base.length).toBeGreaterThan(20_000);
    expect(grown.length).toBeGreaterThan(150);
    // The window's 30 rows, each compared once with the next moved flow (resortedFlows: ≤ 15 a moved flow, and a copy of all).
    expect(frameReads).toBeGreaterThan(0);
    expect(frameReads).toBeLessThanOrEqual(60);
  });

  it("a new order's first screen (firstFlows) is a full sort's first rows and count, for every column and choice", () => {
    const big = copies(40);
    const s = emptyFlowState();
    mergeFlows(s, big, 0);
    mergeFlows(s, big.filter((_, i) => i % 3 === 0).map((r) => ({ ...r, bytes_in: r.bytes_in + 5_000 * ((r.id % 7) + 1) })), 700);
    for (const sort of SORT_COLUMNS) {
      for (const choice of [{ all: true }, { all: false, reverse: true }, { all: true, filter: 'act:api !port:53' }, { closed: false }]) {
        const q = { ...query({ sort, ...choice }), frozen: null };
        const full = sortedFlows(s.flows.values(), q, 1_000);
        for (const count of [0, 1, 33, 70]) {
          const first = firstFlows(s.flows.values(), q, 1_000, count);
          expect(first.total, `${sort} ${JSON.stringify(choice)}`).toBe(full.length);
          expect(first.rows.map((f) => f.id), `${sort} ${JSON.stringify(choice)} ${count}`).toEqual(full.slice(0, count).map((f) => f.id));
        }
      }
    }
  });

  it('a new sort column: the frame shows its first screen before the full order exists; the order made after it pages as a full sort', () => {
    const m = new WatchModel();
    m.merge(copies(100), 0);
    let ui = { ...initialUiState(true), all: true };
    const frameRows = (f: ReturnType<WatchModel['frame']>) => (f.list.kind === 'flows' ? f.list.rows.map((r) => r.id) : []);
    m.frame(frameQueryOf(ui, 30), 1_000);
    m.completeSort(1_000);
    ui = reduce(ui, { type: 'sortNext' }, { total: 0, height: 30, idAt: () => undefined });
    const shown = m.frame(frameQueryOf(ui, 30), 1_000);
    const full = sortedFlows(m.flows.flows.values(), { ...frameQueryOf(ui, 30).flows, frozen: null }, 1_000);
    expect(frameRows(shown)).toEqual(full.slice(0, 30).map((f) => f.id));
    expect(shown.total).toBe(full.length);
    // The full order is owed (the data side makes it once the frame is sent), then pages read it.
    expect(m.owesSort()).toBe(true);
    m.completeSort(1_000);
    expect(m.owesSort()).toBe(false);
    ui = reduce(ui, { type: 'pageDown' }, { total: full.length, height: 30, idAt: () => undefined });
    const paged = m.frame(frameQueryOf(ui, 30), 1_000);
    expect(m.owesSort()).toBe(false);
    expect(frameRows(paged)).toEqual(full.slice(paged.offset, paged.offset + 30).map((f) => f.id));
    expect(paged.offset).toBeGreaterThan(0);
  });

  it("the model's frames over rounds of merges (its kept order remade once enough flows moved) show a full sort's window, by every column, paged and frozen", () => {
    const big = copies(60);
    for (const sort of SORT_COLUMNS) {
      const m = new WatchModel();
      m.merge(big, 0);
      let ui = { ...initialUiState(true), all: true, sort };
      const frameRows = (f: ReturnType<WatchModel['frame']>) => (f.list.kind === 'flows' ? f.list.rows.map((r) => r.id) : []);
      m.frame(frameQueryOf(ui, 30), 0);
      m.completeSort(0);
      for (let round = 1; round <= 8; round++) {
        const nowMs = round * 700;
        // ~240 flows grow each round: past 512 moved the kept order is remade.
        m.merge(big.filter((_, i) => (i * 13 + round) % 7 === 0).map((r) => ({ ...r, bytes_in: r.bytes_in + round * 1_000 * ((r.id % 5) + 1) })), nowMs);
        if (round === 6) ui = reduce(ui, { type: 'pageDown' }, { total: big.length, height: 30, idAt: () => undefined });
        const f = m.frame(frameQueryOf(ui, 30), nowMs);
        const full = sortedFlows(m.flows.flows.values(), { ...frameQueryOf(ui, 30).flows, frozen: null }, nowMs);
        expect(f.total, `${sort} round ${round}`).toBe(full.length);
        expect(frameRows(f), `${sort} round ${round}`).toEqual(full.slice(f.offset, f.offset + 30).map((r) => r.id));
        // As the data side does once the frame is sent (source-loop.ts): remakes the order when owed.
        if (round % 2 === 0 && m.owesSort()) m.completeSort(nowMs);
      }
      // `o` freezes the order as it is: the frozen frame shows the same rows.
      const before = frameRows(m.frame(frameQueryOf(ui, 30), 6_000));
      ui = reduce(ui, { type: 'freeze' }, { total: big.length, height: 30, idAt: () => undefined });
      expect(ui.frozen).toBe(true);
      expect(frameRows(m.frame(frameQueryOf(ui, 30), 6_000))).toEqual(before);
    }
  });

  it("a frame after more flows moved than a frame sorts does not remake the kept order (a copy of all 20,000): the data side does it once the frame is sent", () => {
    const big = copies(720);
    const m = new WatchModel();
    m.merge(big, 0);
    const ui = { ...initialUiState(true), all: true, sort: 'age' as const };
    const q = frameQueryOf(ui, 30);
    m.frame(q, 0);
    m.completeSort(0);
    expect(m.owesSort()).toBe(false);
    // Count the sort key's reads of the flows the kept order holds (a merged flow is a new object,
    // uncounted; the banner reads bytes, not first_seen).
    let reads = 0;
    for (const f of m.flows.flows.values()) {
      const v = f.firstSeenUs;
      Object.defineProperty(f, 'firstSeenUs', { get: () => { reads++; return v; }, configurable: true });
    }
    // 1 flow in 25 grows: ~800 moved, past maxMoved (630 at 20,160 flows).
    const grown = big.filter((_, i) => i % 25 === 0).map((r) => ({ ...r, bytes_in: r.bytes_in + 3_333 * ((r.id % 11) + 1) }));
    m.merge(grown, 1_000);
    reads = 0;
    const f = m.frame(q, 1_000);
    const frameReads = reads;
    const full = () => sortedFlows(m.flows.flows.values(), { ...q.flows, frozen: null }, 1_000).map((r) => r.id);
    expect(big.length).toBeGreaterThan(20_000);
    expect(grown.length).toBeGreaterThan(630);
    expect(f.list.kind === 'flows' && f.list.rows.map((r) => r.id)).toEqual(full().slice(0, 30));
    // The window's rows against the moved flows, and each row's age; a remaking in the frame
    // binary-searched every moved flow in all 20,000 (~12,000 reads).
    expect(frameReads).toBeLessThanOrEqual(150);
    expect(m.owesSort()).toBe(true);
    reads = 0;
    m.completeSort(1_000);
    expect(reads).toBeGreaterThan(grown.length);
    expect(m.owesSort()).toBe(false);
    const paged = m.frame({ ...q, flows: { ...q.flows, offset: 5_000 } }, 1_000);
    expect(paged.list.kind === 'flows' && paged.list.rows.map((r) => r.id)).toEqual(full().slice(5_000, 5_030));
  });

  it('the unattributed totals and the banner follow merges without walking every flow', () => {
    const s = emptyFlowState();
    mergeFlows(s, rows, 0);
    const un = rows.filter((r) => r.process === null);
    expect(s.unattributed).toEqual({ flows: un.length, bytes: un.reduce((n, r) => n + r.bytes_in + r.bytes_out, 0) });
    const f = un[0];
    mergeFlows(s, [{ ...f, process: { pid: 9, name: 'x' } }], 10);
    expect(s.unattributed.flows).toBe(un.length - 1);
  });
});

describe('silence banner', () => {
  it('TRAFFIC at the end of the capture; SILENT for the time since the last off-host Ollama packet later', () => {
    const s = emptyFlowState();
    mergeFlows(s, rows, 0);
    const offHost = rows.filter((r) => r.ollama && !r.responder_addr.startsWith('127.'));
    const lastUs = Math.max(...offHost.map((r) => r.last_seen_us));
    const b = silenceBanner(s, lastUs, 0, 0, false);
    expect(b).toMatchObject({ kind: 'traffic', flows: offHost.length });
    // The far end with the most bytes: the CDN the blob came from.
    expect(b.kind === 'traffic' && b.topHost).toBe(cdn().hostname);
    const later = silenceBanner(s, lastUs + 3_600e6 + 61e6, 0, 0, false);
    expect(later.kind).toBe('silent');
    expect(later.kind === 'silent' && Math.round(later.forS)).toBe(3_661);
    const none = silenceBanner(emptyFlowState(), 100e6, 40e6, 0, true);
    expect(none).toEqual({ kind: 'silent', forS: 60, ever: false });
  });
});

describe('keys and actions', () => {
  const list: ListInfo = { total: 30, height: 10, idAt: (i) => (i < 30 ? 100 + i : undefined) };
  it('maps keys to actions, and typed filter text stays text', () => {
    expect(keyToAction('q', {}, false)).toEqual({ type: 'quit' });
    expect(keyToAction('c', { ctrl: true }, true)).toEqual({ type: 'quit' });
    expect(keyToAction('', { tab: true }, false)).toEqual({ type: 'nextView' });
    expect(keyToAction('3', {}, false)).toEqual({ type: 'view', view: 'activities' });
    expect(keyToAction('q', {}, true)).toEqual({ type: 'filterChar', text: 'q' });
    expect(keyToAction('\x1b[2J', {}, true)).toBeNull();
    expect(keyToAction('', { return: true }, true)).toEqual({ type: 'filterDone' });
    expect(keyToAction('x', {}, false)).toBeNull();
    // tmux send-keys and pastes arrive as one string: one key each.
    expect(splitInput('1/ab\r', {})).toEqual([['1', {}], ['/', {}], ['a', {}], ['b', {}], ['', { return: true }]]);
    expect(splitInput('\x1b[A', { upArrow: true })).toEqual([['\x1b[A', { upArrow: true }]]);
  });

  it('the cursor stays on screen; Enter opens the selected flow; / edits then applies the filter', () => {
    let s = initialUiState();
    for (let i = 0; i < 12; i++) s = reduce(s, { type: 'down' }, list);
    expect(s).toMatchObject({ cursor: 12, offset: 3 });
    s = reduce(s, { type: 'pageDown' }, list);
    expect(s).toMatchObject({ cursor: 22, offset: 13 });
    s = reduce(s, { type: 'bottom' }, list);
    expect(s).toMatchObject({ cursor: 29, offset: 20 });
    s = reduce(s, { type: 'top' }, list);
    expect(s).toMatchObject({ cursor: 0, offset: 0 });
    s = reduce(reduce(s, { type: 'down' }, list), { type: 'open' }, list);
    expect(s.detail).toBe(101);
    s = reduce(s, { type: 'back' }, list);
    expect(s.detail).toBeNull();
    for (const a of [{ type: 'filterStart' }, ...[...'registry'].map((text) => ({ type: 'filterChar' as const, text })), { type: 'filterBackspace' }, { type: 'filterDone' }] as const) {
      s = reduce(s, a, list);
    }
    expect(s).toMatchObject({ filter: 'registr', editing: null, cursor: 0 });
    s = reduce(reduce(s, { type: 'pause' }, list), { type: 'freeze' }, list);
    expect(s.paused).toBe(true);
    expect(s.frozen).toBe(true);
    expect(reduce(s, { type: 'sortNext' }, list)).toMatchObject({ sort: 'total', frozen: false });
    expect(reduce(s, { type: 'prevView' }, list).view).toBe('api');
  });
});
