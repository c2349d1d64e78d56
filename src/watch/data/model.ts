/**
 * The merged state on the data side and the frames made from it: flows (state/flow-state.ts),
 * the latest claims evaluation, coverage and API chains. Knows nothing of where rows come from
 * (store-poller.ts feeds it) or how frames travel (a worker message or a direct call).
 */
import { hidingExpiries } from '../../claims/coverage.js';
import type { ClaimsReport } from '../../claims/evaluate.js';
import { clientClass } from '../../exposure/scope.js';
import { visible } from '../../text/visible.js';
import { endpoint, formatPercent } from '../../text/format-values.js';
import { silenceBanner, type Banner } from '../state/banner.js';
import { emptyFlowState, mergeFlows, RATE_WINDOW_MS, rateOf, type FlowState, type WatchFlow } from '../state/flow-state.js';
import { clampOffset, firstFlows, keptOrderOf, resortedFlows, sortedFlows, windowOf, windowOfKept, type FlowView, type FlowViewQuery, type KeptOrder } from '../state/flow-view.js';
import { groupFlows } from '../state/groups.js';
import type { WatchRow } from '../../store/read/changes.js';
import type { ApiLine, ClaimLine, CoverageLine, Frame, FrameQuery, FrameRows, Header } from './frame.js';

/**
 * A live store not written for longer than this is in doubt: a daemon writes every second (its
 * store thread answers within the second), so several seconds without a write mean it stopped,
 * or cannot write (a full disk), and silence shown from it is not silence watched.
 */
const STALE_WRITE_S = 5;

export class WatchModel {
  flows: FlowState = emptyFlowState();
  header: Header = { session: null, source: '', lastWriteAgoS: null, live: false };
  /** µs the data is at: now for a live session, the session's last packet for a finished one. */
  private dataEndUs = 0;
  /** µs the session began (the banner's "SILENT for" when the tree never sent anything). */
  private startUs = 0;
  private claims: ClaimLine[] = [];
  /** Rows are shown but the session's claims were not judged yet (the store poller sets it). */
  judging = false;
  private coverage: CoverageLine | null = null;
  private api: ApiLine[] = [];
  private frozen: number[] | null = null;
  private lastDetail: { id: number; lines: string[] } | null = null;
  private kept: { choices: string; q: Omit<FlowViewQuery, 'offset' | 'height'>; order: KeptOrder } | null = null;

  /**
   * The Flows view's kept order for these choices: a full sort when the choices are new (or too
   * many flows changed at once), else the last one with the flows merged since added to its moved
   * flows. A frame takes its window from it (windowOfKept): the kept order is not remade, or
   * copied, in a frame. Once more than maxMoved flows moved it is owed a remaking (resortedFlows),
   * which the data side does after that frame is sent (completeSort): a remaking copies every flow
   * and makes a set of their ids (at 50,000 flows 25-100 ms, the slowest frames before).
   */
  private keptOrder(q: Omit<FlowViewQuery, 'offset' | 'height'>, nowMs: number): KeptOrder {
    const choices = choicesKey(q);
    const c = this.kept;
    const changed = this.flows.changed;
    let order: KeptOrder;
    if (c && c.choices === choices && changed !== null) {
      for (const id of changed) c.order.moved.add(id);
      order = c.order;
    } else {
      const list = sortedFlows(this.flows.flows.values(), q, nowMs);
      order = keptOrderOf(list, q.sort === 'rate' ? hotIds(list.map((f) => f.id), this.flows.flows, nowMs) : []);
    }
    this.flows.changed = new Set();
    this.kept = { choices, q, order };
    return order;
  }

  /** The kept order has more moved flows than a frame should sort: completeSort remakes it. */
  private owesRemaking(): boolean {
    return this.kept !== null && this.kept.order.moved.size > maxMoved(this.kept.order.base.length);
  }

  /** The kept order with its moved flows re-placed; by rate, those that still have one stay moved (it decays without a merge). */
  private remade(o: KeptOrder, q: Omit<FlowViewQuery, 'offset' | 'height'>, nowMs: number): KeptOrder {
    const list = resortedFlows(o.base, this.flows.flows, o.moved, q, nowMs);
    // A flow has a rate only if it grew lately, so it was merged since the last remaking or had a rate then.
    return keptOrderOf(list, q.sort === 'rate' ? hotIds(o.moved, this.flows.flows, nowMs) : []);
  }

  reset(header: Header, startUs: number): void {
    this.flows = emptyFlowState();
    this.header = header;
    this.startUs = startUs;
    this.claims = [];
    this.coverage = null;
    this.api = [];
    this.frozen = null;
    this.kept = null;
    this.owedSort = null;
    this.perVersion = null;
  }

  merge(rows: Iterable<WatchRow>, nowMs: number): number {
    return mergeFlows(this.flows, rows, nowMs);
  }

  setDataEnd(us: number): void {
    this.dataEndUs = us;
  }

  /** A new claims evaluation: verdicts that differ from the last one are marked changed. */
  setClaims(report: ClaimsReport): void {
    const before = new Map(this.claims.map((c) => [c.id, c.verdict]));
    const cov = report.coverage.sessions[0];
    this.claims = report.claims.map((c) => ({
      id: visible(c.id),
      verdict: c.verdict,
      reason: visible(c.reason),
      coverage: cov && cov.problems.length ? `${cov.problems.length} coverage problem(s)` : cov?.confidence_note ? 'confidence lowered' : 'coverage ok',
      changed: before.size > 0 && before.get(c.id) !== c.verdict,
      evidence: c.evidence.flows.map((f) => `#${f.flow_id} ${visible(f.activity)} ${visible(f.hostname ?? '')} ${endpoint(f.far_addr, f.far_port, 'tcp')}`.replace(/ {2,}/g, ' ')),
    }));
    this.coverage = cov ? {
      packets: cov.packets,
      drops: cov.drops,
      lossPercent: cov.loss_estimate,
      ...this.unattributed(),
      expiredEarly: hidingExpiries(cov),
      problems: cov.problems.map(visible),
      confidenceNote: cov.confidence_note === null ? null : visible(cov.confidence_note),
    } : null;
    this.api = report.chains.map((c) => ({
      cls: clientClass(c.request.client),
      client: `${visible(c.request.client)}${c.request.client_process ? ` ${visible(c.request.client_process.name)}[${c.request.client_process.pid}]` : ''}`,
      request: `${visible(c.request.method)} ${visible(c.request.path ?? '')}`,
      // A cloud model (served through ollama.com) says so: it explains the flows to ollama.com it caused.
      model: c.request.model === null ? null : `${visible(c.request.model)}${c.request.cloud_model ? ' (cloud)' : ''}`,
      caused: c.caused.map((f) => `#${f.flow_id} ${visible(f.activity)} ${visible(f.hostname ?? f.far_addr)}`),
    }));
  }

  /** Per data version (and second, for the banner): passes over every flow, not repeated for each key. */
  private perVersion: { key: string; banner: Banner; unattributed: { unattributedFlows: number; unattributedBytes: number } } | null = null;

  private totals(dataNowUs: number, nowMs: number): NonNullable<WatchModel['perVersion']> {
    const key = `${this.flows.version}:${Math.floor(nowMs / 1000)}:${Math.floor(dataNowUs / 1e6)}`;
    if (this.perVersion?.key !== key) {
      this.perVersion = { key, banner: silenceBanner(this.flows, dataNowUs, this.startUs, nowMs, this.header.live), unattributed: this.unattributed() };
    }
    return this.perVersion;
  }

  private unattributed(): { unattributedFlows: number; unattributedBytes: number } {
    return { unattributedFlows: this.flows.unattributed.flows, unattributedBytes: this.flows.unattributed.bytes };
  }

  /** Why silence shown now may not be silence (Frame.doubt): the first reason that applies. */
  private doubt(): string | null {
    const c = this.coverage;
    if (c === null) return 'coverage not evaluated yet';
    if (c.problems.length) return c.problems[0];
    if (c.confidenceNote) return `attribution confidence lowered: ${c.confidenceNote}`;
    const ago = this.header.lastWriteAgoS;
    if (this.header.live && ago !== null && ago > STALE_WRITE_S) return `the daemon has not written for ${Math.round(ago)} s (stopped? a full disk?)`;
    return null;
  }

  /** Detail lines of a flow, read by the source (it has the store); kept for the frames that follow. */
  setDetail(id: number, lines: string[]): void {
    this.lastDetail = { id, lines };
  }

  frame(q: FrameQuery, nowMs: number): Frame {
    const claims = this.claims;
    // A changed verdict flashes in one frame: the frames after it show the claim as usual.
    if (claims.some((c) => c.changed)) this.claims = claims.map((c) => (c.changed ? { ...c, changed: false } : c));
    const list = this.rows(q, nowMs);
    const dataNowUs = this.header.live ? nowMs * 1000 : this.dataEndUs;
    const totals = this.totals(dataNowUs, nowMs);
    const detail = q.detail !== null && this.lastDetail?.id === q.detail ? this.lastDetail.lines : q.detail !== null ? ['reading…'] : null;
    return {
      nowMs,
      header: this.header,
      banner: totals.banner,
      claims,
      judging: this.judging,
      coverage: this.coverage ? { ...this.coverage, ...totals.unattributed } : null,
      doubt: this.doubt(),
      ...list,
      sessionFlows: this.flows.flows.size,
      detail,
    };
  }

  private flowRows(v: FlowView, nowMs: number): { list: FrameRows; total: number; offset: number } {
    const dataNowUs = this.header.live ? nowMs * 1000 : this.dataEndUs;
    const rows = v.rows.map((f) => ({ ...f, ...currentRates(f, nowMs), ageS: Math.max(0, (dataNowUs - f.firstSeenUs) / 1e6) }));
    return { list: { kind: 'flows', rows }, total: v.total, offset: v.offset };
  }

  /** The full order a first screen left owed (the data side makes it after sending that frame). */
  private owedSort: { q: Omit<FlowViewQuery, 'offset' | 'height'> } | null = null;

  /** The full order of a new first screen, or the kept order's remaking, is owed: completeSort, once the frame is sent. */
  owesSort(): boolean {
    return this.owedSort !== null || this.owesRemaking();
  }

  completeSort(nowMs: number): void {
    const owed = this.owedSort;
    this.owedSort = null;
    if (owed) this.keptOrder(owed.q, nowMs);
    if (this.kept && this.owesRemaking()) this.kept.order = this.remade(this.kept.order, this.kept.q, nowMs);
  }

  /** A kept order for these choices exists (keptOrder() adds changed flows to it instead of sorting all). */
  private hasOrderFor(q: Omit<FlowViewQuery, 'offset' | 'height'>): boolean {
    return this.kept !== null && this.kept.choices === choicesKey(q);
  }

  private rows(q: FrameQuery, nowMs: number): { list: FrameRows; total: number; offset: number } {
    const { offset, height } = q.flows;
    if (q.view === 'flows') {
      if (!q.flows.frozen) this.frozen = null;
      const choices = { ...q.flows, frozen: this.frozen };
      // A new order (a sort key, a filter): its first screen now, the full order after the frame is sent.
      if (!q.flows.frozen && offset + height <= FIRST_SCREEN_MAX && !this.hasOrderFor(choices)) {
        const first = firstFlows(this.flows.flows.values(), choices, nowMs, offset + height);
        this.owedSort = { q: choices };
        return this.flowRows(windowOf(first.rows, offset, height, first.total), nowMs);
      }
      let order = this.keptOrder(choices, nowMs);
      if (q.flows.frozen && !this.frozen) {
        // `o`: the order as it is now, every flow of it.
        order = this.kept!.order = this.remade(order, choices, nowMs);
        this.frozen = order.base.map((f) => f.id);
      }
      return this.flowRows(windowOfKept(order, this.flows.flows, choices, nowMs, offset, height), nowMs);
    }
    if (q.view === 'hosts' || q.view === 'activities') {
      const by = q.view === 'hosts' ? 'host' : 'activity';
      const all = groupFlows(this.flows.flows.values(), by, nowMs, (f) => (q.flows.all || f.ollama) && (q.flows.closed || !f.closed));
      return window({ kind: 'groups', by, rows: all }, all.length, offset, height);
    }
    if (q.view === 'claims') return window({ kind: 'claims', rows: this.claims }, this.claims.length, offset, height);
    if (q.view === 'api') return window({ kind: 'api', rows: this.api }, this.api.length, offset, height);
    const lines = coverageLines(this.coverage);
    return window({ kind: 'coverage', rows: lines }, lines.length, offset, height);
  }
}

/** Moved flows a kept order takes before it is remade: a frame sorts these (~1,500 at 50,000 flows), and remaking copies every flow. */
function maxMoved(flows: number): number {
  return Math.max(512, flows >> 5);
}

/** A new first screen is made by firstFlows up to this many rows down; past it (G: the end), by a full sort. */
const FIRST_SCREEN_MAX = 1000;

function choicesKey(q: Omit<FlowViewQuery, 'offset' | 'height'>): string {
  return JSON.stringify([q.all, q.closed, q.filter, q.sort, q.reverse, q.frozen?.length ?? -1]);
}

/** Those of `ids` whose rate is not 0 now: sorted by rate, their place may change without a merge (the rate decays). */
function hotIds(ids: Iterable<number>, flows: ReadonlyMap<number, WatchFlow>, nowMs: number): number[] {
  const hot: number[] = [];
  for (const id of ids) {
    const f = flows.get(id);
    if (f && nowMs - f.grewAtMs <= RATE_WINDOW_MS && f.rateIn + f.rateOut > 0) hot.push(id);
  }
  return hot;
}

function currentRates(f: { rateIn: number; rateOut: number; grewAtMs: number }, nowMs: number): { rateIn: number; rateOut: number } {
  const r = rateOf(f as Parameters<typeof rateOf>[0], nowMs);
  return { rateIn: r.in, rateOut: r.out };
}

/** A window of a small list (claims, groups): the UI draws the rows from `offset`. */
function window(list: FrameRows, total: number, offset: number, height: number): { list: FrameRows; total: number; offset: number } {
  const o = clampOffset(offset, total, height);
  return { list: { ...list, rows: list.rows.slice(o, o + height) } as FrameRows, total, offset: o };
}

function coverageLines(c: CoverageLine | null): string[] {
  if (!c) return ['coverage: not evaluated yet'];
  return [
    `packets captured: ${c.packets}`,
    `kernel drops: ${c.drops === null ? 'unknown (the source gave no counter)' : c.drops}`,
    `estimated TCP loss: ${c.lossPercent === null ? 'unknown (no TCP acknowledged yet)' : formatPercent(c.lossPercent)}`,
    `unattributed flows: ${c.unattributedFlows} (${c.unattributedBytes} bytes)`,
    `flows expired early: ${c.expiredEarly}`,
    ...(c.problems.length ? c.problems.map((p) => `problem: ${p}`) : ['no coverage problem']),
    ...(c.confidenceNote ? [`confidence lowered: ${c.confidenceNote}`] : []),
  ];
}
