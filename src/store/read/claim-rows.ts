/**
 * What the claims engine reads of one session: its row, per flow the columns claims match on (with
 * both ends' processes), DNS queries and HTTP request lines. Flows are iterated: a session may
 * hold millions, and the engine keeps only the facts it derives from each.
 */
import type { Db } from '../open-db.js';

export interface ClaimSessionRow {
  id: number; kind: string; source: string; format: string | null; interfaces: string;
  started_at: number | null; ended_at: number | null; packets: number; drops: number | null;
  loss_estimate: number | null;
  /** JSON StoreGap[] (src/store/live-session.ts): windows whose rows the store could not write; NULL: none. */
  gaps: string | null;
  /** JSON {kind: count} of flows closed before their time (a full flow table, the stop deadline). */
  expired_early: string;
  /** JSON AttributionRecord of a live session (kernel events + procfs, or procfs alone and why); NULL for imports. */
  attribution?: string | null;
}

export interface ClaimFlowRow {
  id: number; session_id: number; seq: number; proto: number; initiator_addr: string; initiator_port: number;
  responder_addr: string; responder_port: number; first_seen: number; last_seen: number;
  packets_in: number; bytes_out: number; bytes_in: number; tcp_state: number; hostname: string | null;
  sni: string | null; http_method: string | null; http_path: string | null; http_host: string | null;
  connect_host: string | null; dns_name: string | null; activity: string; process_seq: number | null;
  conn_state: string | null; history: string | null;
  pid: number | null; comm: string | null; ollama_tree: number | null;
  /** The responder's process when both ends are local (flows.peer_process_seq). */
  peer_pid: number | null; peer_comm: string | null;
}

/** The few columns that tell which addresses are this host's (a first pass over the flows). */
export type LocalEndRow = Pick<ClaimFlowRow, 'initiator_addr' | 'responder_addr' | 'process_seq' | 'activity'> & { has_peer: number };

export interface ClaimDnsRow { flow_seq: number; ts: number; query: string }
export interface ClaimHttpRow {
  flow_seq: number; ts: number; response_ts: number | null; method: string; path: string | null; is_connect: number;
  /** The model the request's body named (http.model: a validated name, never other body bytes), and why there is none. */
  model: string | null;
  model_status: string | null;
}

export function claimSession(db: Db, id: number): ClaimSessionRow | null {
  return (db.prepare(`SELECT id, kind, source, format, interfaces, started_at, ended_at, packets, drops, loss_estimate, gaps, expired_early,
    attribution FROM sessions WHERE id = ?`).get(id) as ClaimSessionRow | undefined) ?? null;
}

/** How many flows the session holds (the engine sizes its columns with it). */
export function claimFlowCount(db: Db, sessionId: number): number {
  return (db.prepare('SELECT count(*) AS n FROM flows WHERE session_id = ?').get(sessionId) as { n: number }).n;
}

/** The session's flows in (first_seen, id) order, one at a time. */
export function* claimFlows(db: Db, sessionId: number): Generator<ClaimFlowRow> {
  yield* db.prepare(`SELECT f.id, f.session_id, f.seq, f.proto, f.initiator_addr, f.initiator_port, f.responder_addr,
      f.responder_port, f.first_seen, f.last_seen, f.packets_in, f.bytes_out, f.bytes_in, f.tcp_state, f.hostname, f.sni,
      f.http_method, f.http_path, f.http_host, f.connect_host, f.dns_name, f.activity, f.process_seq,
      f.conn_state, f.history, p.pid, p.comm, p.ollama_tree, q.pid AS peer_pid, q.comm AS peer_comm
    FROM flows f LEFT JOIN processes p ON p.session_id = f.session_id AND p.seq = f.process_seq
      LEFT JOIN processes q ON q.session_id = f.session_id AND q.seq = f.peer_process_seq
    WHERE f.session_id = ? ORDER BY f.first_seen, f.id`).iterate(sessionId) as IterableIterator<ClaimFlowRow>;
}

export function* localEndRows(db: Db, sessionId: number): Generator<LocalEndRow> {
  yield* db.prepare(`SELECT f.initiator_addr, f.responder_addr, f.process_seq, f.activity, q.pid IS NOT NULL AS has_peer
    FROM flows f LEFT JOIN processes q ON q.session_id = f.session_id AND q.seq = f.peer_process_seq
    WHERE f.session_id = ? AND (f.process_seq IS NOT NULL OR f.peer_process_seq IS NOT NULL)`)
    .iterate(sessionId) as IterableIterator<LocalEndRow>;
}

export function claimDns(db: Db, sessionId: number): ClaimDnsRow[] {
  return db.prepare('SELECT flow_seq, ts, query FROM dns WHERE session_id = ? ORDER BY ts').all(sessionId) as ClaimDnsRow[];
}

export function claimHttp(db: Db, sessionId: number): ClaimHttpRow[] {
  return db.prepare('SELECT flow_seq, ts, response_ts, method, path, is_connect, model, model_status FROM http WHERE session_id = ? ORDER BY ts')
    .all(sessionId) as ClaimHttpRow[];
}
