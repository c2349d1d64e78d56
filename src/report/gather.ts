/**
 * Reads what a report shows from the store: sessions, flows (findings marked), processes, DNS
 * names, HTTP request lines and the timeline. Only columns that cannot hold a body or a prompt
 * are read: no process command lines, no User-Agent, nothing of the payload.
 *
 * Memory is bounded however big the store: the tables hold the findings and the top flows by bytes
 * (LISTED_FLOWS) and the first LISTED_HTTP requests, with totals; report.json gets every flow and
 * request by streaming them again (streamedRows).
 */
import type { Db } from '../store/open-db.js';
import { isoMicros, isShowableUs } from '../store/format-time.js';
import { flowTotals, iterateFlows, type FlowQuery, type FlowRecord } from '../store/read/flows.js';
import { type SessionRow, sessionRows as selectSessions } from '../store/read/sessions.js';
import {
  dnsLookups, findingFlows, flowSpan, httpRequestCount, httpRequests, processSummaries, timelineRows, type DnsLookupRow, type FindingFlow, type HttpRequestRow,
} from '../store/read/report-rows.js';
import type {
  ReportClaim, ReportCoverage, ReportData, ReportDnsName, ReportExposure, ReportFlow, ReportHttp, ReportProcess, ReportSession,
} from './report-types.js';
import { buildTimeline } from './timeline-buckets.js';

export type { FindingFlow } from '../store/read/report-rows.js';
export type { SessionRow } from '../store/read/sessions.js';

export interface GatherInput {
  /** Session ids; all sessions when absent. */
  sessions?: readonly number[];
  /** null: claims were not evaluated. */
  claims: ReportClaim[] | null;
  coverage: ReportCoverage | null;
  exposure?: ReportExposure;
  tool: { name: string; version: string };
  host: string;
  generatedAt: Date;
}

export interface Gathered {
  data: Omit<ReportData, 'evidence'>;
  sessionRows: SessionRow[];
  findings: FindingFlow[];
}

/** Flows a report holds in memory for its tables: every finding up to this, then the most bytes. */
export const LISTED_FLOWS = 2000;
/** HTTP requests a report holds for its table, the earliest first. */
export const LISTED_HTTP = 2000;

export function gatherReport(db: Db, input: GatherInput): Gathered {
  const sessionRows = selectSessions(db, input.sessions);
  const ids = sessionRows.map((s) => s.id);
  const citing = citingClaims(input.claims ?? []);
  const scope: FlowQuery = { sessions: ids };
  const cited = [...citing.keys()];
  const findings = findingFlows(db, ids, cited);
  const present = new Set(findings.map((f) => f.id));
  const warnings = cited.filter((id) => !present.has(id))
    .map((id) => `claims cite flow ${id}, which is not in ${input.sessions ? 'the chosen sessions' : 'the store'}: it is left out`);
  const window = timeWindow(sessionRows, flowSpan(db, ids));
  const totals = flowTotals(db, scope);
  return {
    sessionRows,
    findings,
    data: {
      format: 'ollama-audit-report/1',
      tool: input.tool,
      host: input.host,
      generated_at: input.generatedAt.toISOString(),
      time_range: { start: window ? isoMicros(window.start) : null, end: window ? isoMicros(window.end) : null },
      sessions: sessionRows.map(toReportSession),
      claims: input.claims,
      coverage: input.coverage,
      exposure: input.exposure ?? null,
      flow_totals: { ...totals, findings: present.size },
      flows: listedFlows(db, scope, [...present], citing),
      processes: processSummaries(db, ids).map(({ ollama_tree, ...p }) => ({ ...p, ollama: ollama_tree === 1 })),
      dns: groupDns(dnsLookups(db, ids)),
      http_total: httpRequestCount(db, ids),
      http: [...httpRequests(db, ids, LISTED_HTTP)].map(toReportHttp),
      timeline: buildTimeline(timelineRows(db, ids), window),
      warnings,
    },
  };
}

/** Every flow and HTTP request of the report's sessions, read again one at a time for report.json. */
export function streamedRows(db: Db, g: Gathered): { flows: Iterable<ReportFlow>; http: Iterable<ReportHttp> } {
  const ids = g.sessionRows.map((s) => s.id);
  const citing = citingClaims(g.data.claims ?? []);
  return {
    flows: mapIterable(iterateFlows(db, { sessions: ids }), (f) => reportFlow(f, citing)),
    http: mapIterable(httpRequests(db, ids), toReportHttp),
  };
}

function* mapIterable<A, B>(items: Iterable<A>, fn: (a: A) => B): Generator<B> {
  for (const a of items) yield fn(a);
}

/** The findings, then the flows with the most bytes, up to LISTED_FLOWS; in time order as the tables show them. */
function listedFlows(db: Db, scope: FlowQuery, findingIds: number[], citing: Map<number, string[]>): ReportFlow[] {
  const listed = new Map<number, FlowRecord>();
  for (const f of iterateFlows(db, { ...scope, ids: findingIds.slice(0, LISTED_FLOWS) })) listed.set(f.id, f);
  for (const f of iterateFlows(db, { ...scope, order: 'bytes', limit: LISTED_FLOWS })) {
    if (listed.size >= LISTED_FLOWS) break;
    listed.set(f.id, f);
  }
  return [...listed.values()]
    .sort((a, b) => (a.first_seen ?? '').localeCompare(b.first_seen ?? '') || a.id - b.id)
    .map((f) => reportFlow(f, citing));
}

function reportFlow(f: FlowRecord, citing: Map<number, string[]>): ReportFlow {
  return { ...f, finding: citing.has(f.id), claims: citing.get(f.id) ?? [] };
}

/** Flow id -> ids of the claims whose evidence (flows or chains) cites it. */
function citingClaims(claims: readonly ReportClaim[]): Map<number, string[]> {
  const by = new Map<number, string[]>();
  for (const c of claims) {
    const ids = new Set([...c.evidence.flow_ids, ...(c.evidence.chains ?? []).flatMap((ch) => ch.flow_ids)]);
    for (const id of ids) {
      const list = by.get(id) ?? [];
      list.push(c.id);
      by.set(id, list);
    }
  }
  return by;
}

function toReportSession(s: SessionRow): ReportSession {
  const ifaces = JSON.parse(s.interfaces) as { index: number; name: string | null; linktype: number }[];
  return {
    id: s.id,
    kind: s.kind,
    source: s.source,
    format: s.format,
    interfaces: ifaces.map((i) => ({ index: i.index, name: i.name ?? null, linktype: i.linktype })),
    started_at: s.started_at === null ? null : isoMicros(s.started_at),
    ended_at: s.ended_at === null ? null : isoMicros(s.ended_at),
    packets: s.packets,
    drops: s.drops,
    loss_estimate: s.loss_estimate,
    skipped: JSON.parse(s.skipped) as Record<string, number>,
    warnings: JSON.parse(s.warnings) as string[],
    stopped_at: s.stopped_at,
  };
}

/** The report's time window; a stored time that cannot be shown (store/format-time.ts) would stretch it over millennia. */
function timeWindow(sessions: readonly SessionRow[], flows: { start: number; end: number } | null): { start: number; end: number } | null {
  let start = Infinity;
  let end = -Infinity;
  const take = (from: number | null, to: number | null) => {
    if (from !== null && isShowableUs(from)) start = Math.min(start, from);
    if (to !== null && isShowableUs(to)) end = Math.max(end, to);
  };
  if (flows) take(flows.start, flows.end);
  for (const s of sessions) take(s.started_at, s.ended_at);
  return start <= end ? { start, end } : null;
}

/** DNS lookups grouped by name and type (the distinct names are few next to the lookups). */
function groupDns(rows: Iterable<DnsLookupRow>): ReportDnsName[] {
  const by = new Map<string, ReportDnsName>();
  for (const r of rows) {
    const key = `${r.query}\u0000${r.qtype}`;
    let e = by.get(key);
    if (!e) by.set(key, (e = { query: r.query, qtype: r.qtype, first_seen: isoMicros(r.ts), count: 0, rcodes: [], answers: [] }));
    e.count++;
    const rcode = r.rcode ?? 'no response';
    if (!e.rcodes.includes(rcode)) e.rcodes.push(rcode);
    for (const a of JSON.parse(r.answers) as { data: unknown }[]) {
      const data = String(a.data);
      if (!e.answers.includes(data)) e.answers.push(data);
    }
  }
  return [...by.values()];
}

function toReportHttp(r: HttpRequestRow): ReportHttp {
  return { ...r, ts: isoMicros(r.ts) };
}
