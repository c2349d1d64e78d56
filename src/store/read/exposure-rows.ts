/**
 * What the exposure audit reads from the store: flows to the Ollama API (by activity, or by
 * port) with both ends' processes, the HTTP requests on them, and the other TCP flows of the same
 * time span (a reverse proxy's front side). Flows are iterated: the audit tallies them as they
 * come and keeps only those it looks at again (with requests, or a proxy's).
 */
import type { Db } from '../open-db.js';
import { IPPROTO_TCP } from '../../knowledge/ports.js';
import { apiActivitySql } from '../../knowledge/activity.js';

export interface FlowRow {
  session_id: number;
  seq: number;
  initiator_addr: string;
  initiator_port: number;
  responder_addr: string;
  responder_port: number;
  first_seen: number;
  last_seen: number;
  bytes_out: number;
  bytes_in: number;
  activity: string;
  /** flows.process_seq: the initiator's process when the initiator is local, else the responder's. */
  pid: number | null;
  comm: string | null;
  exe: string | null;
  /** flows.peer_process_seq: the responder's process when both ends are local. */
  peer_pid: number | null;
  peer_comm: string | null;
  peer_exe: string | null;
}

export interface HttpRow {
  session_id: number;
  flow_seq: number;
  ts: number;
  response_ts: number | null;
  method: string;
  path: string | null;
  host: string | null;
  status: number | null;
  /** Content-Length of the response when the store keeps it (a later schema); undefined otherwise. */
  response_length?: number | null;
}

export interface StoreScope {
  /** Only these sessions; undefined: all. */
  sessions?: readonly number[];
  apiPorts: readonly number[];
}

const FLOW_COLS = `f.session_id, f.seq, f.initiator_addr, f.initiator_port, f.responder_addr, f.responder_port,
  f.first_seen, f.last_seen, f.bytes_out, f.bytes_in, f.activity, p.pid, p.comm, p.exe,
  q.pid AS peer_pid, q.comm AS peer_comm, q.exe AS peer_exe`;
const JOIN_PROC = `LEFT JOIN processes p ON p.session_id = f.session_id AND p.seq = f.process_seq
  LEFT JOIN processes q ON q.session_id = f.session_id AND q.seq = f.peer_process_seq`;

function marks(n: number): string {
  return Array(n).fill('?').join(',');
}

function sessionClause(scope: StoreScope, args: unknown[]): string {
  if (scope.sessions === undefined) return '';
  args.push(...scope.sessions);
  return ` AND f.session_id IN (${marks(scope.sessions.length)})`;
}

/** A flow row and whether it has HTTP requests (what the proxy and Host-check analysis read further). */
export type FlowRowWithHttp = FlowRow & { has_http: number };

const HAS_HTTP = 'EXISTS (SELECT 1 FROM http h WHERE h.session_id = f.session_id AND h.flow_seq = f.seq AND h.is_connect = 0) AS has_http';

/** Flows to the API (by activity or port), in (first_seen, id) order, one at a time: a store may hold millions. */
export function* iterateApiFlows(db: Db, scope: StoreScope): Generator<FlowRowWithHttp> {
  const args: unknown[] = [...scope.apiPorts];
  const sql = `SELECT ${FLOW_COLS}, ${HAS_HTTP} FROM flows f ${JOIN_PROC}
    WHERE f.proto = ${IPPROTO_TCP} AND (${apiActivitySql('f.activity')} OR f.responder_port IN (${marks(scope.apiPorts.length)}))`;
  const where = sessionClause(scope, args);
  yield* db.prepare(`${sql}${where} ORDER BY f.first_seen, f.id`).iterate(...args) as IterableIterator<FlowRowWithHttp>;
}

/** TCP flows not to an API port that overlap [from, to] in the given sessions, one at a time. */
export function* iterateOtherFlows(db: Db, scope: StoreScope, sessionIds: readonly number[], from: number, to: number): Generator<FlowRowWithHttp> {
  if (sessionIds.length === 0) return;
  const args: unknown[] = [...scope.apiPorts, ...sessionIds, to, from];
  const sql = `SELECT ${FLOW_COLS}, ${HAS_HTTP} FROM flows f ${JOIN_PROC}
    WHERE f.proto = ${IPPROTO_TCP} AND f.responder_port NOT IN (${marks(scope.apiPorts.length)})
      AND NOT ${apiActivitySql('f.activity')}
      AND f.session_id IN (${marks(sessionIds.length)}) AND f.first_seen <= ? AND f.last_seen >= ?
    ORDER BY f.first_seen, f.id`;
  yield* db.prepare(sql).iterate(...args) as IterableIterator<FlowRowWithHttp>;
}

/** HTTP requests of these flows, keyed by `session:seq`. */
export function loadHttp(db: Db, flows: readonly FlowRow[]): Map<string, HttpRow[]> {
  const out = new Map<string, HttpRow[]>();
  if (flows.length === 0) return out;
  const stmt = db.prepare(`SELECT session_id, flow_seq, ts, response_ts, method, path, host, status, response_length
    FROM http WHERE session_id = ? AND flow_seq = ? AND is_connect = 0 ORDER BY ts, id`);
  for (const f of flows) {
    const rows = stmt.all(f.session_id, f.seq) as HttpRow[];
    if (rows.length > 0) out.set(flowKey(f), rows);
  }
  return out;
}


export function flowKey(f: { session_id: number; seq: number }): string {
  return `${f.session_id}:${f.seq}`;
}
