/**
 * Judges claims against stored sessions: a verdict, the evidence (flows, first packet times,
 * cause-and-effect chains) and the reason, never `holds` where coverage cannot support it.
 *
 * Order of judgement, per claim and session:
 *  1. a `condition` neither assumed nor evident: `not exercised` (what would break it is shown);
 *  2. flows that break the claim: `violated` (a violation seen stands whatever the coverage);
 *  3. a `during` claim with no such request: `not exercised` (`inconclusive` if loopback was not watched);
 *  4. `exercised_by` matching nothing: `not exercised`;
 *  5. coverage below the thresholds (src/claims/coverage.ts): `inconclusive`;
 *  6. flows that break it only if read one way (`inconclusive_if`), or that could be the Ollama
 *     tree's but have no process: `inconclusive`;
 *  7. an Ollama-tree claim with no Ollama flow at all: `not exercised`; else `holds`.
 * Across sessions the worst verdict wins: violated > inconclusive > holds > not exercised.
 */
import type { Claim } from '../knowledge/claims.js';
import { BUILTIN_CLAIMS } from '../knowledge/claims.js';
import type { Db } from '../store/open-db.js';
import { isoMicros } from '../store/format-time.js';
import { isCloudModel } from '../knowledge/model-names.js';
import { UserError } from '../errors.js';
import { allowedBy, type AllowRule } from './allow-rules.js';
import { buildChains, type Chain, type SessionChains } from './causes.js';
import { blockers, sessionCoverage, THRESHOLDS, type SessionCoverage } from './coverage.js';
import { activityMatches, matchFlow } from './match.js';
import type { ConnOutcome } from '../flows/conn-state.js';
import { loadSessionFacts, sessionIds, type ApiRequest, type FlowFact, type SessionFacts } from './session-facts.js';
import type { FlowFacts } from './flow-facts.js';

export type Verdict = 'holds' | 'violated' | 'inconclusive' | 'not exercised';

export interface EvidenceFlow {
  flow_id: number;
  session_id: number;
  first_seen: string;
  activity: string;
  hostname: string | null;
  far_addr: string;
  far_port: number;
  direction: string;
  process: { pid: number; name: string } | null;
  /** Zeek's conn_state and history (README); null for a flow stored before they were recorded. */
  conn_state: string | null;
  history: string | null;
}

export interface ClaimEvidence {
  flow_ids: number[];
  /** First packet of the earliest evidence flow. */
  first_seen: string | null;
  count: number;
  /** Up to MAX_EVIDENCE_FLOWS of them, earliest first. */
  flows: EvidenceFlow[];
  chains: Chain[];
}

export interface ClaimResult {
  id: string;
  title: string;
  source: string;
  supported: boolean;
  claimed: string | null;
  scope: string;
  verdict: Verdict;
  reason: string;
  evidence: ClaimEvidence;
}

export interface ClaimsReport {
  coverage: { sessions: SessionCoverage[]; thresholds: typeof THRESHOLDS };
  claims: ClaimResult[];
  /** Every request on the API port and what it caused. */
  chains: Chain[];
}

export interface EvaluateOptions {
  /** Session ids; default every session in the store. */
  sessions?: number[];
  /** Default: the built-in catalogue. */
  claims?: Claim[];
  allow?: AllowRule[];
  /** Conditions the user says held (`no-cloud`, `https-proxy`). */
  assume?: string[];
}

const MAX_EVIDENCE_FLOWS = 20;
const RANK: Record<Verdict, number> = { 'not exercised': 0, holds: 1, inconclusive: 2, violated: 3 };

interface Ctx {
  facts: SessionFacts;
  coverage: SessionCoverage;
  chains: SessionChains;
}

/**
 * Flows picked for a claim, as positions in their session's FlowFacts (flow-facts.ts): a claim may
 * select every flow of a session, and 4 bytes a flow is what keeps a big session's evaluation small.
 */
type Picks = Uint32Array;
const NONE: Picks = new Uint32Array(0);

interface SessionVerdict {
  verdict: Verdict;
  reason: string;
  flows: Picks;
  requests: ApiRequest[];
  ctx: Ctx;
}

export function claimsReport(db: Db, opts: EvaluateOptions = {}): ClaimsReport {
  const ids = opts.sessions ?? sessionIds(db);
  const ctxs = ids.map((id): Ctx => {
    const facts = loadSessionFacts(db, id);
    if (!facts) throw new UserError(`no session ${id} in the store: \`ollama-audit sessions\` lists the valid ones`);
    return { facts, coverage: sessionCoverage(facts), chains: buildChains(facts) };
  });
  return judge(ctxs, opts);
}

/** The pure part: loaded facts in, report out. */
function judge(ctxs: Ctx[], opts: EvaluateOptions): ClaimsReport {
  const claims = (opts.claims ?? [...BUILTIN_CLAIMS]).map((c) => combine(c, ctxs.map((ctx) => judgeSession(c, ctx, opts))));
  return {
    coverage: { sessions: ctxs.map((c) => c.coverage), thresholds: THRESHOLDS },
    claims,
    chains: ctxs.flatMap((c) => c.chains.chains),
  };
}

function judgeSession(claim: Claim, ctx: Ctx, opts: EvaluateOptions): SessionVerdict {
  const { facts, coverage } = ctx;
  const all = facts.flows;
  const out = (verdict: Verdict, reason: string, flows: Picks = NONE, requests: ApiRequest[] = []): SessionVerdict =>
    ({ verdict, reason, flows, requests, ctx });
  const inScope = (f: FlowFact) => claim.scope === 'ollama' ? f.owner === 'ollama' : claim.scope === 'host' ? f.direction !== 'loopback' : true;
  const duringReqs = claim.during ? requestsOf(claim, ctx) : null;
  const inDuring = (f: FlowFact) => duringReqs === null || causedWithin(f, duringReqs, ctx);
  const relevant = all.pick((f) => matchFlow(claim.match, f) && allowedBy(opts.allow ?? [], f) === null && inDuring(f));
  const scoped = all.pick(inScope, relevant);
  const unknowns = claim.scope === 'ollama' ? all.pick((f) => f.owner === null && f.attributable, relevant) : NONE;

  const { violators, unexplainedUnknowns, holdsText } = applyExpectation(claim, scoped, unknowns, ctx);
  // A flow caused by a request for a known local model is not the cloud proxy's: it stays definite.
  const localModel = (f: Readonly<FlowFact>) => claim.local_models_only === true && ctx.chains.causeOf.get(f.id)?.model != null;
  const ambiguous = claim.inconclusive_if ? all.pick((f) => matchFlow(claim.inconclusive_if!.match, f) && !localModel(f), violators) : NONE;
  const definite = without(violators, ambiguous);

  if (claim.condition && !conditionEstablished(claim, ctx, opts, inScope)) {
    const would = definite.length ? `; ${count(definite, 'flow')} would break it if it was: ${list(definite, ctx)}` : '';
    return out('not exercised', `applies only when ${claim.condition.text}, which a capture cannot show (pass --assume ${claim.condition.flag} if it was)${would}`, definite);
  }
  if (definite.length > 0) return out('violated', violationText(claim, definite, ctx), definite);
  if (duringReqs !== null && duringReqs.length === 0) {
    const what = `no ${routes(claim.during!)} request${claim.local_models_only ? ' for a local model' : ''} in the capture`;
    const unseen = coverage.loopback_visible !== true && !facts.flows.some((f) => f.isApi);
    return unseen
      ? out('inconclusive', `${what}, and nothing shows the capture included loopback, where API requests to 127.0.0.1 travel`)
      : out('not exercised', what);
  }
  if (claim.exercised_by && !facts.flows.some((f) => matchFlow(claim.exercised_by!, f))) {
    return out('not exercised', 'no flow in the capture exercises it (e.g. no use of the API)');
  }
  const blocked = blockers(coverage, {
    offHost: claim.match.direction !== 'loopback',
    attribution: claim.scope === 'ollama',
    minCaptureS: claim.window?.min_capture_s,
  });
  if (blocked.length > 0) {
    const seen = claim.scope === 'ollama' && coverage.attribution === 'unavailable' && unknowns.length
      ? `; ${count(unknowns, 'matching flow')} of unknown owner: ${list(unknowns, ctx)}` : '';
    return out('inconclusive', `${blocked.join('; ')}${seen}`, unknowns);
  }
  if (ambiguous.length > 0) return out('inconclusive', `${count(ambiguous, 'flow')} ${list(ambiguous, ctx)}: ${claim.inconclusive_if!.why}`, ambiguous);
  if (unexplainedUnknowns.length > 0) {
    return out('inconclusive', `${count(unexplainedUnknowns, 'flow')} without process information could be the Ollama tree's: ${list(unexplainedUnknowns, ctx)}`, unexplainedUnknowns);
  }
  if (claim.scope === 'ollama' && !facts.flows.some((f) => f.owner === 'ollama')) {
    return out('not exercised', 'no flow of the Ollama tree in the capture (was Ollama running?)');
  }
  const drops = coverage.drops ? ` (the kernel dropped ${coverage.drops} packets, within the ${THRESHOLDS.max_drop_percent}% threshold)` : '';
  return out('holds', `${holdsText}${drops}`, claim.expect === 'never' ? NONE : scoped, duringReqs ?? []);
}

/** `picks` less `some`, which is a subsequence of it (picked from it, in its order). */
function without(picks: Picks, some: Picks): Picks {
  if (some.length === 0) return picks;
  const out = new Uint32Array(picks.length - some.length);
  let j = 0;
  let k = 0;
  for (let i = 0; i < picks.length; i++) {
    if (j < some.length && picks[i] === some[j]) j++;
    else out[k++] = picks[i];
  }
  return out;
}

/** Was the flow caused by one of these requests? Flows of unknown owner are not chained: by time. */
function causedWithin(f: Readonly<FlowFact>, reqs: ApiRequest[], ctx: Ctx): boolean {
  const r = ctx.chains.causeOf.get(f.id);
  if (r) return reqs.includes(r);
  if (f.owner !== null) return false;
  const grace = THRESHOLDS.request_grace_s * 1e6;
  return reqs.some((q) => f.firstSeen >= q.ts && f.firstSeen <= q.end + grace);
}

function applyExpectation(claim: Claim, scoped: Picks, unknowns: Picks, ctx: Ctx) {
  const all = ctx.facts.flows;
  const secs = ctx.coverage.duration_s === null ? '' : ` in ${ctx.coverage.duration_s.toFixed(1)} s of capture`;
  const exp = claim.expect;
  if (exp === 'never') {
    const text = claim.during ? duringHoldsText(claim, ctx) : `no matching flow${secs}`;
    return { violators: scoped, unexplainedUnknowns: unknowns, holdsText: text };
  }
  if ('only_during' in exp) {
    const ok = (r: ApiRequest | undefined) => r !== undefined && exp.only_during.some((a) => activityMatches(a, r.activity));
    const violators = all.pick((f) => !ok(ctx.chains.causeOf.get(f.id)), scoped);
    const allowedReqs = ctx.facts.requests.filter((r) => ok(r));
    const unexplainedUnknowns = all.pick((f) => !causedWithin(f, allowedReqs, ctx), unknowns);
    const text = scoped.length
      ? `all ${count(scoped, 'matching flow')} were caused by ${routes(exp.only_during)} requests`
      : `no matching flow${secs}`;
    return { violators, unexplainedUnknowns, holdsText: text };
  }
  const seconds = claim.window?.seconds ?? 60;
  const densest = densestWindow(all, scoped, seconds * 1e6);
  const both = new Uint32Array(scoped.length + unknowns.length);
  both.set(scoped);
  both.set(unknowns, scoped.length);
  return {
    violators: densest.length > exp.at_most ? densest : NONE,
    unexplainedUnknowns: densestWindow(all, both, seconds * 1e6).length > exp.at_most ? unknowns : NONE,
    holdsText: `at most ${densest.length} matching flow(s) in any ${seconds} s window (limit ${exp.at_most})${secs}`,
  };
}

function requestsOf(claim: Claim, ctx: Ctx): ApiRequest[] {
  return ctx.facts.requests.filter((r) => (claim.during ?? []).some((a) => activityMatches(a, r.activity))
    && !(claim.local_models_only === true && r.model !== null && isCloudModel(r.model)));
}

/** "1 request (POST /api/pull) seen; it caused 4 flows (dns 2, registry 1, blob-download 1), none breaking the claim". */
function duringHoldsText(claim: Claim, ctx: Ctx): string {
  const reqs = requestsOf(claim, ctx);
  let caused = 0;
  const byActivity = new Map<string, number>();
  ctx.facts.flows.scan((f) => {
    if (!reqs.includes(ctx.chains.causeOf.get(f.id)!)) return;
    caused++;
    byActivity.set(f.activity, (byActivity.get(f.activity) ?? 0) + 1);
  });
  const kinds = [...byActivity].map(([a, n]) => `${a} ${n}`).join(', ');
  const names = [...new Set(reqs.map((r) => `${r.method} ${r.path ?? ''}`.trim()))].slice(0, 3).join(', ');
  const effect = caused ? `they caused ${plural(caused, 'flow')} (${kinds}), none breaking the claim` : 'they caused no flow of the Ollama tree';
  return `${count(reqs, 'request')} (${names}) seen; ${effect}`;
}

/** A readable list of API activities: long lists (the inference routes) are shortened. */
function routes(activities: readonly string[]): string {
  return activities.length > 3 ? `${activities.slice(0, 2).join(' / ')} / ... (${activities.length} routes)` : activities.join(' / ');
}

/** The flows starting in the busiest window of `widthUs` (the earliest such window), in first-packet order. */
function densestWindow(all: FlowFacts, picks: Picks, widthUs: number): Picks {
  const sorted = byFirstSeen(all, picks);
  let bestLo = 0;
  let bestN = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (all.firstSeenAt(sorted[hi]) - all.firstSeenAt(sorted[lo]) >= widthUs) lo++;
    if (hi - lo + 1 > bestN) { bestLo = lo; bestN = hi - lo + 1; }
  }
  return sorted.subarray(bestLo, bestLo + bestN);
}

/** `picks` in first-packet order, ties kept in their order: usually already so (flows load in time order). */
function byFirstSeen(all: FlowFacts, picks: Picks): Picks {
  let ordered = true;
  for (let i = 1; i < picks.length && ordered; i++) ordered = all.firstSeenAt(picks[i - 1]) <= all.firstSeenAt(picks[i]);
  if (ordered) return picks;
  return Uint32Array.from(Array.from(picks).sort((a, b) => all.firstSeenAt(a) - all.firstSeenAt(b)));
}

function conditionEstablished(claim: Claim, ctx: Ctx, opts: EvaluateOptions, inScope: (f: FlowFact) => boolean): boolean {
  const c = claim.condition!;
  if ((opts.assume ?? []).includes(c.flag)) return true;
  return c.evident_if !== undefined && ctx.facts.flows.some((f) => inScope(f) && matchFlow(c.evident_if!, f));
}

function violationText(claim: Claim, flows: Picks, ctx: Ctx): string {
  const exp = claim.expect;
  const what = outcomesText(ctx.facts.flows, flows);
  if (typeof exp === 'object' && 'only_during' in exp) {
    return `${count(flows, 'flow')} not caused by ${routes(exp.only_during)}: ${what} — ${list(flows, ctx, true)}`;
  }
  if (typeof exp === 'object' && 'at_most' in exp) {
    return `${flows.length} matching flows within ${claim.window?.seconds ?? 60} s (limit ${exp.at_most}): ${what} — ${list(flows, ctx, true)}`;
  }
  return `${count(flows, 'matching flow')}: ${what} — ${list(flows, ctx, true)}`;
}

const OUTCOME_ORDER: (ConnOutcome | null)[] = ['connected', 'rejected', 'unanswered', null];
const MAX_OUTCOME_GROUPS = 6;

/**
 * What came of the flows, per outcome and far end, so a host that only tried (its packets dropped
 * or refused upstream) reads apart from one that connected: "2 connections to registry.ollama.ai
 * (RSTO, SF); 2 attempts to registry.ollama.ai, rejected (REJ); 3 attempts to registry.ollama.ai,
 * none answered (S0)". An attempt still breaks a "never contacts" claim: the host tried.
 */
function outcomesText(all: FlowFacts, flows: Picks): string {
  const groups = new Map<string, OutcomeGroup>();
  for (const i of flows) {
    const f = all.viewAt(i);
    const dest = f.hostname ?? `${f.farAddr}:${f.farPort}`;
    const dns = f.dnsQueries.length > 0;
    const rank = OUTCOME_ORDER.indexOf(f.outcome);
    const key = `${rank} ${dns} ${dest}`;
    const g = groups.get(key) ?? { rank, outcome: f.outcome, dest, dns, states: new Set<string>(), n: 0 };
    g.n++;
    if (f.connState !== null) g.states.add(f.connState);
    groups.set(key, g);
  }
  const sorted = [...groups.values()].sort((a, b) => a.rank - b.rank);
  const texts = sorted.slice(0, MAX_OUTCOME_GROUPS).map(outcomeGroupText);
  const more = sorted.length - texts.length;
  return more > 0 ? `${texts.join('; ')}; and ${more} more` : texts.join('; ');
}

interface OutcomeGroup { rank: number; outcome: ConnOutcome | null; dest: string; dns: boolean; states: Set<string>; n: number }

/** "3 attempts to registry.ollama.ai, none answered (S0)"; DNS flows are lookups of the name they asked for. */
function outcomeGroupText(g: OutcomeGroup): string {
  const states = [...g.states].sort().join(', ');
  const of = g.dns ? `${plural(g.n, 'lookup')} of ${g.dest}` : null;
  switch (g.outcome) {
    case 'unanswered': return `${of ?? `${plural(g.n, 'attempt')} to ${g.dest}`}, ${g.n === 1 ? 'not' : 'none'} answered (${states})`;
    case 'rejected': return `${of ?? `${plural(g.n, 'attempt')} to ${g.dest}`}, rejected (${states})`;
    case 'connected': return of ? `${of}, answered (${states})` : `${plural(g.n, 'connection')} to ${g.dest} (${states})`;
    default: return `${of ?? `${plural(g.n, 'flow')} to ${g.dest}`} (connection state not recorded)`;
  }
}

function count(xs: { length: number }, noun: string): string {
  return plural(xs.length, noun);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** "#5 ollama.com (ollama-com, ollama) at 12:01:15.203860" for the first three flows. */
function list(flows: Picks, ctx: Ctx, withCause = false): string {
  const shown = Array.from(flows.subarray(0, 3), (i) => {
    const f = ctx.facts.flows.at(i);
    const name = f.hostname ?? `${f.farAddr}:${f.farPort}`;
    const who = f.process ? `, ${f.process.name}` : '';
    const cause = withCause ? ctx.chains.causeOf.get(f.id) : undefined;
    const why = cause ? `, during ${cause.method} ${cause.path ?? ''}` : '';
    const state = f.connState ? `, ${f.connState}` : '';
    return `#${f.id} ${name} (${f.activity}${who}${state}${why}) at ${isoMicros(f.firstSeen).slice(11, 26)}`;
  });
  return flows.length > 3 ? `${shown.join(', ')} and ${flows.length - 3} more` : shown.join(', ');
}

function combine(claim: Claim, per: SessionVerdict[]): ClaimResult {
  const worst = per.reduce<Verdict>((v, s) => (RANK[s.verdict] > RANK[v] ? s.verdict : v), 'not exercised');
  const chosen = per.filter((s) => s.verdict === worst);
  const reason = per.length === 0
    ? 'no session to judge'
    : chosen.length === 1 && per.length === 1
      ? chosen[0].reason
      : chosen.map((s) => `session ${s.ctx.facts.rows.session.id}: ${s.reason}`).join('; ');
  return {
    id: claim.id,
    title: claim.title,
    source: claim.source,
    supported: claim.supported,
    claimed: claim.claimed ?? null,
    scope: claim.scope,
    verdict: per.length === 0 ? 'inconclusive' : worst,
    reason,
    evidence: evidence(chosen),
  };
}

function evidence(per: SessionVerdict[]): ClaimEvidence {
  const order = evidenceOrder(per);
  const chains: Chain[] = [];
  for (const s of per) {
    const reqs = new Set<ApiRequest>(s.requests);
    for (const i of s.flows) {
      const r = s.ctx.chains.causeOf.get(s.ctx.facts.flows.idAt(i));
      if (r) reqs.add(r);
    }
    for (const c of s.ctx.chains.chains) {
      if ([...reqs].some((r) => r.flowId === c.request.flow_id && isoMicros(r.ts) === c.request.ts)) chains.push(c);
    }
  }
  const flowIds = Array.from(order.pos, (i, k) => per[order.verdict[k]].ctx.facts.flows.idAt(i));
  return {
    flow_ids: flowIds,
    first_seen: flowIds.length ? isoMicros(per[order.verdict[0]].ctx.facts.flows.firstSeenAt(order.pos[0])) : null,
    count: flowIds.length,
    flows: Array.from(order.pos.subarray(0, MAX_EVIDENCE_FLOWS), (i, k) => ({ f: per[order.verdict[k]].ctx.facts.flows.at(i), s: per[order.verdict[k]] })).map(({ f, s }) => ({
      flow_id: f.id,
      session_id: s.ctx.facts.rows.session.id,
      first_seen: isoMicros(f.firstSeen),
      activity: f.activity,
      hostname: f.hostname,
      far_addr: f.farAddr,
      far_port: f.farPort,
      direction: f.direction,
      process: f.process,
      conn_state: f.connState,
      history: f.history,
    })),
    chains,
  };
}

/**
 * Every session's evidence flows in first-packet order, ties in session then pick order (as a
 * stable sort of them all): `verdict[k]` is the index in `per`, `pos[k]` the position in its flows.
 */
function evidenceOrder(per: SessionVerdict[]): { verdict: Uint32Array; pos: Uint32Array } {
  const total = per.reduce((n, s) => n + s.flows.length, 0);
  const verdict = new Uint32Array(total);
  const pos = new Uint32Array(total);
  const first = new Float64Array(total);
  let k = 0;
  per.forEach((s, v) => {
    for (const i of s.flows) {
      verdict[k] = v;
      pos[k] = i;
      first[k++] = s.ctx.facts.flows.firstSeenAt(i);
    }
  });
  let ordered = true;
  for (let j = 1; j < total && ordered; j++) ordered = first[j - 1] <= first[j];
  if (ordered) return { verdict, pos };
  const idx = Array.from({ length: total }, (_, j) => j).sort((a, b) => first[a] - first[b] || a - b);
  return { verdict: Uint32Array.from(idx, (j) => verdict[j]), pos: Uint32Array.from(idx, (j) => pos[j]) };
}
