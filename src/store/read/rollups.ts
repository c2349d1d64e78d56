/**
 * Per-day totals per destination × activity × process (× Ollama or not), over everything the store
 * ever held: the rollups of flows retention deleted (schema 13) plus the flows still stored, grouped
 * the same way. A flow is in exactly one of the two (retention moves it in one transaction), so
 * the sums are exact: "did Ollama ever contact X this year" outlives --retain.
 */
import type { Db } from '../open-db.js';
import { isoMicrosOrNull } from '../format-time.js';
import { ROLLUP_COLUMNS, ROLLUP_OF_FLOWS } from '../retention.js';

/** One day's traffic to one destination by one activity and process; field names are documented in README. */
export interface RollupRecord {
  /** UTC date of the flows' first packets, YYYY-MM-DD. */
  day: string;
  /** The flows' hostname (SNI, CONNECT, Host, DNS), else the far address. */
  destination: string;
  activity: string;
  /** The process's name; null: unattributed. */
  process: string | null;
  ollama: boolean;
  flows: number;
  bytes_out: number;
  bytes_in: number;
  /** ISO 8601 UTC of the earliest first packet and the latest last packet. */
  first_seen: string | null;
  last_seen: string | null;
  /** Of `flows`, how many are still stored as flows (the rest were deleted by --retain / --max-db). */
  stored_flows: number;
}

export interface RollupQuery {
  /** Only Ollama's flows. */
  ollamaOnly?: boolean;
  /** Only this destination (exact hostname or address). */
  destination?: string;
}

/** Rollups in day, destination, activity, process order, one at a time. */
export function* iterateRollups(db: Db, q: RollupQuery = {}): Generator<RollupRecord> {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (q.ollamaOnly) where.push('ollama = 1');
  if (q.destination !== undefined) {
    where.push('destination = ?');
    params.push(q.destination);
  }
  const sql = `SELECT day, destination, activity, process, ollama, sum(flows) AS flows, sum(bytes_out) AS bytes_out, sum(bytes_in) AS bytes_in,
      min(first_seen) AS first_seen, max(last_seen) AS last_seen, sum(stored) AS stored_flows
    FROM (SELECT ${ROLLUP_COLUMNS}, 0 AS stored FROM rollups
      UNION ALL SELECT *, flows AS stored FROM (${ROLLUP_OF_FLOWS} GROUP BY 1, 2, 3, 4, 5))
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    GROUP BY day, destination, activity, process, ollama ORDER BY day, destination, activity, process, ollama`;
  for (const r of db.prepare(sql).iterate(...params) as IterableIterator<Record<string, number | string>>) {
    yield {
      day: String(r.day), destination: String(r.destination), activity: String(r.activity), process: r.process === '' ? null : String(r.process),
      ollama: r.ollama === 1, flows: Number(r.flows), bytes_out: Number(r.bytes_out), bytes_in: Number(r.bytes_in),
      first_seen: isoMicrosOrNull(Number(r.first_seen)), last_seen: isoMicrosOrNull(Number(r.last_seen)), stored_flows: Number(r.stored_flows),
    };
  }
}
