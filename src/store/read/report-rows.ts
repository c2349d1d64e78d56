/**
 * What a report reads besides flows: the timeline's narrow flow rows, the findings' flows, process
 * summaries, DNS and HTTP rows. Rows that grow with traffic are iterated, never loaded whole.
 * Only columns that cannot hold a body or a prompt: no command lines, no User-Agent.
 */
import type { Db } from '../open-db.js';

/** `IN (SELECT value FROM json_each(?))` takes any number of ids as one parameter. */
const IN_IDS = 'IN (SELECT value FROM json_each(?))';

export interface TimelineRow { first_seen: number; last_seen: number; bytes: number; activity: string }

export function* timelineRows(db: Db, sessionIds: readonly number[]): Generator<TimelineRow> {
  yield* db.prepare(`SELECT first_seen, last_seen, bytes_out + bytes_in AS bytes, activity FROM flows
    WHERE session_id ${IN_IDS}`).iterate(JSON.stringify(sessionIds)) as IterableIterator<TimelineRow>;
}

/** Earliest first_seen and latest last_seen of the sessions' flows, null when they have none. */
export function flowSpan(db: Db, sessionIds: readonly number[]): { start: number; end: number } | null {
  const r = db.prepare(`SELECT min(first_seen) AS start, max(last_seen) AS end FROM flows WHERE session_id ${IN_IDS}`)
    .get(JSON.stringify(sessionIds)) as { start: number | null; end: number | null };
  return r.start === null || r.end === null ? null : { start: r.start, end: r.end };
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

export function findingFlows(db: Db, sessionIds: readonly number[], flowIds: readonly number[]): FindingFlow[] {
  return db.prepare(`SELECT f.id, f.session_id, f.seq, f.proto, f.initiator_addr, f.initiator_port, f.responder_addr,
      f.responder_port, f.first_seen, f.last_seen, f.packets_out + f.packets_in AS packets, f.activity, p.pid, p.comm, p.exe
    FROM flows f LEFT JOIN processes p ON p.session_id = f.session_id AND p.seq = f.process_seq
    WHERE f.session_id ${IN_IDS} AND f.id ${IN_IDS} ORDER BY f.session_id, f.seq`)
    .all(JSON.stringify(sessionIds), JSON.stringify(flowIds)) as FindingFlow[];
}

/** A process with the flows it owns (counted, bytes summed). No command line: it can hold a prompt. */
export interface ProcessSummaryRow {
  session_id: number; pid: number; name: string; exe: string | null; exe_sha256: string | null; role: string | null;
  ollama_tree: number; source: string; flows: number; bytes_out: number; bytes_in: number;
}

export function processSummaries(db: Db, sessionIds: readonly number[]): ProcessSummaryRow[] {
  return db.prepare(`SELECT p.session_id, p.pid, p.comm AS name, p.exe, p.exe_sha256, p.role, p.ollama_tree, p.source,
      COUNT(f.id) AS flows, COALESCE(SUM(f.bytes_out), 0) AS bytes_out, COALESCE(SUM(f.bytes_in), 0) AS bytes_in
    FROM processes p LEFT JOIN flows f ON f.session_id = p.session_id AND f.process_seq = p.seq
    WHERE p.session_id ${IN_IDS} GROUP BY p.id ORDER BY p.session_id, p.seq`)
    .all(JSON.stringify(sessionIds)) as ProcessSummaryRow[];
}

export interface DnsLookupRow { query: string; qtype: string; ts: number; rcode: string | null; answers: string }

export function* dnsLookups(db: Db, sessionIds: readonly number[]): Generator<DnsLookupRow> {
  yield* db.prepare(`SELECT query, qtype, ts, rcode, answers FROM dns WHERE session_id ${IN_IDS} ORDER BY ts, id`)
    .iterate(JSON.stringify(sessionIds)) as IterableIterator<DnsLookupRow>;
}

/** One HTTP request line with the id of its flow, and the model its body named (never other body bytes). */
export interface HttpRequestRow {
  session_id: number; flow_id: number | null; ts: number; method: string; path: string | null; host: string | null; status: number | null;
  model: string | null; model_status: string | null;
}

/** HTTP requests in time order; at most `limit` when given. */
export function* httpRequests(db: Db, sessionIds: readonly number[], limit?: number): Generator<HttpRequestRow> {
  const args: unknown[] = [JSON.stringify(sessionIds)];
  if (limit !== undefined) args.push(limit);
  yield* db.prepare(`SELECT h.session_id, f.id AS flow_id, h.ts, h.method, h.path, h.host, h.status, h.model, h.model_status
    FROM http h LEFT JOIN flows f ON f.session_id = h.session_id AND f.seq = h.flow_seq
    WHERE h.session_id ${IN_IDS} ORDER BY h.ts, h.id ${limit !== undefined ? 'LIMIT ?' : ''}`).iterate(...args) as IterableIterator<HttpRequestRow>;
}

export function httpRequestCount(db: Db, sessionIds: readonly number[]): number {
  return (db.prepare(`SELECT count(*) AS n FROM http WHERE session_id ${IN_IDS}`).get(JSON.stringify(sessionIds)) as { n: number }).n;
}
