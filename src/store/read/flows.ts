import type { Db } from '../open-db.js';
import { invalidTimeNote, isoMicros, isoMicrosOrNull } from '../format-time.js';
import { protoName } from '../proto-name.js';
import { apiActivitySql } from '../../knowledge/activity.js';

/** One flow as `flows --json` prints it. Field names are a stable, documented interface (README). */
export interface FlowRecord {
  id: number;
  session_id: number;
  proto: string;
  initiator_addr: string;
  initiator_port: number;
  responder_addr: string;
  responder_port: number;
  initiator_by: string;
  /** ISO 8601 UTC; null (with time_note) for a time the store holds but cannot be shown (format-time.ts). */
  first_seen: string | null;
  last_seen: string | null;
  duration_s: number | null;
  /** Present only when a time above is null: why. */
  time_note?: string;
  packets_out: number;
  packets_in: number;
  bytes_out: number;
  bytes_in: number;
  missed_bytes: number;
  /** Zeek's conn_state (README lists every value); null for a row stored before it was recorded. */
  conn_state: string | null;
  /** Zeek's history letters, upper case from the initiator; null likewise. */
  history: string | null;
  hostname: string | null;
  hostname_source: 'sni' | 'connect' | 'http' | 'dns' | null;
  sni: string | null;
  alpn: string[] | null;
  http_method: string | null;
  http_path: string | null;
  http_host: string | null;
  http_status: number | null;
  connect_host: string | null;
  connect_port: number | null;
  dns_name: string | null;
  /**
   * An API flow's requests: the models they named (each once, in request order; `gpt-oss:120b-cloud`
   * ...), and how many requests to a model route left their model unknown (http.model_status other
   * than found/absent: past the first 8 KiB of the body, not seen whole, not JSON, not a valid name).
   * Both null for a flow that is not an API flow.
   */
  models: string[] | null;
  models_unknown: number | null;
  activity: string;
  activity_reason: string;
  community_id: string;
  /** The initiator's process when the initiator is on this host, else the (local) responder's. */
  process: { pid: number; name: string; exe: string | null } | null;
  /** The responder's process when both ends are on this host (loopback, a local server); else null. */
  peer_process: { pid: number; name: string; exe: string | null } | null;
  /** macOS pktap captures: the app on whose behalf `process` (a daemon) sent the flow, when another process; else null. */
  effective_process: { pid: number; name: string } | null;
  ollama: boolean;
  /**
   * The interfaces the flow's packets were captured on, when more than one (a flow a forwarding
   * host routed or bridged), else null. `index`: the Linux ifindex from the SLL2 header of a capture
   * on `any`, otherwise the session's interface number; `name` when the session names it.
   */
  interfaces: { index: number; name: string | null }[] | null;
}

export interface FlowQuery {
  ollamaOnly?: boolean;
  /** Exact activity, or a prefix ending in ':' semantics: `api` also matches `api:/api/pull`. */
  activity?: string;
  session?: number;
  /** Only these sessions (a report's choice). */
  sessions?: readonly number[];
  /** Only flows with these ids (a report's findings). */
  ids?: readonly number[];
  /** 'time' (default): first_seen, id; 'bytes': most bytes (both directions) first: a report's top N. */
  order?: 'time' | 'bytes';
  limit?: number;
}

/** Totals over every matching flow: what a bounded table leaves out. */
export interface FlowTotals {
  flows: number;
  ollama: number;
  bytes_out: number;
  bytes_in: number;
}

interface Row {
  id: number; session_id: number; proto: number; initiator_addr: string; initiator_port: number;
  responder_addr: string; responder_port: number; initiator_by: string; first_seen: number; last_seen: number;
  packets_out: number; packets_in: number; bytes_out: number; bytes_in: number; missed_bytes: number; conn_state: string | null; history: string | null; hostname: string | null;
  hostname_source: FlowRecord['hostname_source']; sni: string | null; alpn: string | null; http_method: string | null;
  http_path: string | null; http_host: string | null; http_status: number | null; connect_host: string | null;
  connect_port: number | null; dns_name: string | null; activity: string; activity_reason: string;
  models: string | null; models_unknown: number | null;
  community_id: string; ollama: number; pid: number | null; comm: string | null; exe: string | null;
  iface: number | null; ifaces: string | null; session_interfaces: string;
  peer_pid: number | null; peer_comm: string | null; peer_exe: string | null;
  effective_pid: number | null; effective_comm: string | null;
}

interface SessionInterface { index: number; name: string | null; linktype: number }

const LINKTYPE_LINUX_SLL2 = 276;

/** Every matching flow at once: for small results (tests, a session's few flows). Big stores use iterateFlows. */
export function queryFlows(db: Db, q: FlowQuery = {}): FlowRecord[] {
  return [...iterateFlows(db, q)];
}

/** Matching flows one at a time in (first_seen, id) order, never all in memory: a store may hold millions. */
export function* iterateFlows(db: Db, q: FlowQuery = {}): Generator<FlowRecord> {
  const { where, args } = flowFilter(q);
  if (q.limit !== undefined) args.push(q.limit);
  yield* flowRows(db, where, `ORDER BY ${q.order === 'bytes' ? 'f.bytes_out + f.bytes_in DESC, f.id' : 'f.first_seen, f.id'}
    ${q.limit !== undefined ? 'LIMIT ?' : ''}`, args);
}

/** Flows matching a condition of the read layer's own (changes.ts), in time order. */
export function iterateFlowsWhere(db: Db, condition: string, args: (string | number)[]): Generator<FlowRecord> {
  return flowRows(db, `WHERE ${condition}`, 'ORDER BY f.first_seen, f.id', args);
}

/** An API flow's http rows (by the http_session_flow index): the models named, and the model requests that left it unknown. */
const OF_FLOW = 'h.session_id = f.session_id AND h.flow_seq = f.seq';
const MODELS = `CASE WHEN ${apiActivitySql('f.activity')} THEN (SELECT json_group_array(model) FROM (SELECT h.model FROM http h
    WHERE ${OF_FLOW} AND h.model IS NOT NULL GROUP BY h.model ORDER BY min(h.id))) END AS models,
  CASE WHEN ${apiActivitySql('f.activity')} THEN (SELECT count(*) FROM http h
    WHERE ${OF_FLOW} AND h.model_status NOT IN ('found', 'absent')) END AS models_unknown`;

function* flowRows(db: Db, where: string, tail: string, args: (string | number)[]): Generator<FlowRecord> {
  const sql = `SELECT f.*, ${MODELS}, p.pid, p.comm, p.exe, q.pid AS peer_pid, q.comm AS peer_comm, q.exe AS peer_exe,
      e.pid AS effective_pid, e.comm AS effective_comm, s.interfaces AS session_interfaces FROM flows f
    JOIN sessions s ON s.id = f.session_id
    LEFT JOIN processes p ON p.session_id = f.session_id AND p.seq = f.process_seq
    LEFT JOIN processes q ON q.session_id = f.session_id AND q.seq = f.peer_process_seq
    LEFT JOIN processes e ON e.session_id = f.session_id AND e.seq = f.effective_process_seq
    ${where} ${tail}`;
  for (const row of db.prepare(sql).iterate(...args)) yield toRecord(row as Row);
}

/** How many flows match (the limit ignored): what a page of them leaves out. */
export function countFlows(db: Db, q: FlowQuery = {}): number {
  const { where, args } = flowFilter(q);
  return (db.prepare(`SELECT count(*) AS n FROM flows f ${where}`).get(...args) as { n: number }).n;
}

export function flowTotals(db: Db, q: FlowQuery = {}): FlowTotals {
  const { where, args } = flowFilter(q);
  return db.prepare(`SELECT count(*) AS flows, coalesce(sum(f.ollama), 0) AS ollama, coalesce(sum(f.bytes_out), 0) AS bytes_out,
    coalesce(sum(f.bytes_in), 0) AS bytes_in FROM flows f ${where}`).get(...args) as FlowTotals;
}

function flowFilter(q: FlowQuery): { where: string; args: (string | number)[] } {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (q.ollamaOnly) where.push('f.ollama = 1');
  if (q.activity) {
    where.push('(f.activity = ? OR f.activity LIKE ?)');
    args.push(q.activity, `${q.activity.replace(/[%_]/g, '')}:%`);
  }
  if (q.session !== undefined) {
    where.push('f.session_id = ?');
    args.push(q.session);
  }
  if (q.sessions !== undefined) {
    where.push('f.session_id IN (SELECT value FROM json_each(?))');
    args.push(JSON.stringify(q.sessions));
  }
  if (q.ids !== undefined) {
    where.push('f.id IN (SELECT value FROM json_each(?))');
    args.push(JSON.stringify(q.ids));
  }
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
}

/** A flow's times for the record: a time that cannot be shown is null, and time_note says why. */
function flowTimes(sessionId: number, first: number, last: number): Pick<FlowRecord, 'first_seen' | 'last_seen' | 'duration_s' | 'time_note'> {
  const first_seen = isoMicrosOrNull(first);
  const last_seen = isoMicrosOrNull(last);
  if (first_seen !== null && last_seen !== null) return { first_seen, last_seen, duration_s: (last - first) / 1e6 };
  return { first_seen, last_seen, duration_s: null, time_note: invalidTimeNote(sessionId) };
}

function toRecord(r: Row): FlowRecord {
  return {
    id: r.id,
    session_id: r.session_id,
    proto: protoName(r.proto),
    initiator_addr: r.initiator_addr,
    initiator_port: r.initiator_port,
    responder_addr: r.responder_addr,
    responder_port: r.responder_port,
    initiator_by: r.initiator_by,
    ...flowTimes(r.session_id, r.first_seen, r.last_seen),
    packets_out: r.packets_out,
    packets_in: r.packets_in,
    bytes_out: r.bytes_out,
    bytes_in: r.bytes_in,
    missed_bytes: r.missed_bytes,
    conn_state: r.conn_state,
    history: r.history,
    hostname: r.hostname,
    hostname_source: r.hostname_source,
    sni: r.sni,
    alpn: r.alpn ? (JSON.parse(r.alpn) as string[]) : null,
    http_method: r.http_method,
    http_path: r.http_path,
    http_host: r.http_host,
    http_status: r.http_status,
    connect_host: r.connect_host,
    connect_port: r.connect_port,
    dns_name: r.dns_name,
    models: r.models === null ? null : (JSON.parse(r.models) as string[]),
    models_unknown: r.models_unknown,
    activity: r.activity,
    activity_reason: r.activity_reason,
    community_id: r.community_id,
    process: r.pid === null ? null : { pid: r.pid, name: r.comm ?? '', exe: r.exe },
    peer_process: r.peer_pid === null ? null : { pid: r.peer_pid, name: r.peer_comm ?? '', exe: r.peer_exe },
    effective_process: r.effective_pid === null ? null : { pid: r.effective_pid, name: r.effective_comm ?? '' },
    ollama: r.ollama === 1,
    interfaces: interfacesOf(r),
  };
}

/**
 * flows.ifaces holds Linux ifindexes when the flow's first interface is a cooked SLL2 one (`any`:
 * the session knows no names for them), else the session's interface numbers, which it names.
 */
function interfacesOf(r: Row): FlowRecord['interfaces'] {
  if (r.ifaces === null) return null;
  const session = JSON.parse(r.session_interfaces) as SessionInterface[];
  const ifindexes = session.find((i) => i.index === r.iface)?.linktype === LINKTYPE_LINUX_SLL2;
  return (JSON.parse(r.ifaces) as number[]).map((index) => ({
    index,
    name: ifindexes ? null : session.find((i) => i.index === index)?.name ?? null,
  }));
}
