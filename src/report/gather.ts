/**
 * Reads what a report shows from the store: sessions, flows (findings marked), processes, DNS
 * names, HTTP request lines and the timeline. Only columns that cannot hold a body or a prompt
 * are read: no process command lines, no User-Agent, nothing of the payload.
 */
import type { Db } from '../store/open-db.js';
import { isoMicros } from '../store/format-time.js';
import { queryFlows } from '../store/read/flows.js';
import type {
  ReportClaim, ReportCoverage, ReportData, ReportDnsName, ReportExposure, ReportFlow, ReportHttp, ReportProcess, ReportSession,
} from './report-types.js';
import { buildTimeline, type TimelineFlow } from './timeline-buckets.js';

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

/** A session as stored (times in µs): what the evidence file needs to find its packets. */
export interface SessionRow {
  id: number;
  kind: string;
  source: string;
  format: string | null;
  interfaces: string;
  started_at: number | null;
  ended_at: number | null;
  packets: number;
  drops: number | null;
  loss_estimate: number | null;
  skipped: string;
  warnings: string;
  stopped_at: number | null;
}

/** A flow cited by a claim, with what finding its packets again takes. */
export interface FindingFlow {
  id: number;
  session_id: number;
  seq: number;
  proto: number;
  initiator_addr: string;
  initiator_port: number;
  responder_addr: string;
  responder_port: number;
  first_seen: number;
  last_seen: number;
  /** packets_out + packets_in as the store counted them. */
  packets: number;
  activity: string;
  pid: number | null;
  comm: string | null;
  exe: string | null;
}

export interface Gathered {
  data: Omit<ReportData, 'evidence'>;
  sessionRows: SessionRow[];
  findings: FindingFlow[];
}

export function gatherReport(db: Db, input: GatherInput): Gathered {
  const sessionRows = selectSessions(db, input.sessions);
  const ids = sessionRows.map((s) => s.id);
  const citing = citingClaims(input.claims ?? []);
  const flows = ids.flatMap((id) => queryFlows(db, { session: id }))
    .sort((a, b) => a.first_seen.localeCompare(b.first_seen) || a.id - b.id)
    .map((f): ReportFlow => ({ ...f, finding: citing.has(f.id), claims: citing.get(f.id) ?? [] }));
  const present = new Set(flows.map((f) => f.id));
  const warnings = [...citing.keys()].filter((id) => !present.has(id))
    .map((id) => `claims cite flow ${id}, which is not in ${input.sessions ? 'the chosen sessions' : 'the store'}: it is left out`);
  const timelineFlows = selectTimelineFlows(db, ids);
  const window = timeWindow(sessionRows, timelineFlows);
  return {
    sessionRows,
    findings: selectFindings(db, ids, [...citing.keys()].filter((id) => present.has(id))),
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
      flows,
      processes: selectProcesses(db, ids),
      dns: selectDns(db, ids),
      http: selectHttp(db, ids),
      timeline: buildTimeline(timelineFlows, window),
      warnings,
    },
  };
}

function selectSessions(db: Db, ids: readonly number[] | undefined): SessionRow[] {
  const all = db.prepare('SELECT * FROM sessions ORDER BY id').all() as SessionRow[];
  if (ids === undefined) return all;
  const wanted = new Set(ids);
  return all.filter((s) => wanted.has(s.id));
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

/** `IN (SELECT value FROM json_each(?))` takes any number of ids as one parameter. */
const IN_IDS = 'IN (SELECT value FROM json_each(?))';

function selectTimelineFlows(db: Db, ids: number[]): TimelineFlow[] {
  return db.prepare(`SELECT first_seen, last_seen, bytes_out + bytes_in AS bytes, activity FROM flows
    WHERE session_id ${IN_IDS}`).all(JSON.stringify(ids)) as TimelineFlow[];
}

function timeWindow(sessions: readonly SessionRow[], flows: readonly TimelineFlow[]): { start: number; end: number } | null {
  let start = Infinity;
  let end = -Infinity;
  for (const s of sessions) {
    if (s.started_at !== null) start = Math.min(start, s.started_at);
    if (s.ended_at !== null) end = Math.max(end, s.ended_at);
  }
  for (const f of flows) {
    start = Math.min(start, f.first_seen);
    end = Math.max(end, f.last_seen);
  }
  return start <= end ? { start, end } : null;
}

function selectFindings(db: Db, sessionIds: number[], flowIds: number[]): FindingFlow[] {
  return db.prepare(`SELECT f.id, f.session_id, f.seq, f.proto, f.initiator_addr, f.initiator_port, f.responder_addr,
      f.responder_port, f.first_seen, f.last_seen, f.packets_out + f.packets_in AS packets, f.activity, p.pid, p.comm, p.exe
    FROM flows f LEFT JOIN processes p ON p.session_id = f.session_id AND p.seq = f.process_seq
    WHERE f.session_id ${IN_IDS} AND f.id ${IN_IDS} ORDER BY f.session_id, f.seq`)
    .all(JSON.stringify(sessionIds), JSON.stringify(flowIds)) as FindingFlow[];
}

function selectProcesses(db: Db, ids: number[]): ReportProcess[] {
  const rows = db.prepare(`SELECT p.session_id, p.pid, p.comm AS name, p.exe, p.exe_sha256, p.role, p.ollama_tree, p.source,
      COUNT(f.id) AS flows, COALESCE(SUM(f.bytes_out), 0) AS bytes_out, COALESCE(SUM(f.bytes_in), 0) AS bytes_in
    FROM processes p LEFT JOIN flows f ON f.session_id = p.session_id AND f.process_seq = p.seq
    WHERE p.session_id ${IN_IDS} GROUP BY p.id ORDER BY p.session_id, p.seq`)
    .all(JSON.stringify(ids)) as (Omit<ReportProcess, 'ollama'> & { ollama_tree: number })[];
  return rows.map(({ ollama_tree, ...p }) => ({ ...p, ollama: ollama_tree === 1 }));
}

interface DnsRow { query: string; qtype: string; ts: number; rcode: string | null; answers: string }

function selectDns(db: Db, ids: number[]): ReportDnsName[] {
  const rows = db.prepare(`SELECT query, qtype, ts, rcode, answers FROM dns WHERE session_id ${IN_IDS} ORDER BY ts, id`)
    .all(JSON.stringify(ids)) as DnsRow[];
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

function selectHttp(db: Db, ids: number[]): ReportHttp[] {
  const rows = db.prepare(`SELECT h.session_id, f.id AS flow_id, h.ts, h.method, h.path, h.host, h.status
    FROM http h LEFT JOIN flows f ON f.session_id = h.session_id AND f.seq = h.flow_seq
    WHERE h.session_id ${IN_IDS} ORDER BY h.ts, h.id`).all(JSON.stringify(ids)) as (Omit<ReportHttp, 'ts'> & { ts: number })[];
  return rows.map((r) => ({ ...r, ts: isoMicros(r.ts) }));
}
