/**
 * "What changed since": for readers that follow a store another process writes (the dashboard,
 * `export --follow`). A reader keeps the store's data_version and a watermark (the largest
 * last_seen it has, µs) and asks again when data_version moves.
 */
import type { Db } from '../open-db.js';
import { iterateFlowsWhere, type FlowRecord } from './flows.js';
import { protoName } from '../proto-name.js';

/** SQLite's data_version: changes whenever another connection commits to the store. */
export function dataVersion(db: Db): number {
  return db.pragma('data_version', { simple: true }) as number;
}

/**
 * Caps the connection's page cache at `kib` KiB (SQLite's default here is 16 MiB a connection). A
 * reader that follows a store for hours and keeps its own state (the dashboard) gains little from
 * caching the store's pages: the OS caches the file, and a claims evaluation that reads every flow
 * of a 50,000-flow session filled the 16 MiB (+27 MB RSS measured, bench/RESULTS.md).
 */
export function capPageCache(db: Db, kib: number): void {
  db.pragma(`cache_size = -${Math.max(1, Math.floor(kib))}`);
}

/** Largest last_seen of a session's flows (µs), or null when it has none: the next watermark. */
export function flowWatermark(db: Db, sessionId: number): number | null {
  return (db.prepare('SELECT max(last_seen) AS w FROM flows WHERE session_id = ?').get(sessionId) as { w: number | null }).w;
}

/**
 * The session's flows whose last packet is later than `since` (µs), new or updated (a live flow's
 * row grows in place), in time order, one at a time. Uses flows(session_id, last_seen).
 */
export function flowsChangedSince(db: Db, sessionId: number, since: number): Generator<FlowRecord> {
  return iterateFlowsWhere(db, 'f.session_id = ? AND f.last_seen > ?', [sessionId, since]);
}

/**
 * What the dashboard keeps of a flow (watch/state/flow-state.ts): a FlowRecord has all of it, and
 * watchRowsChangedSince reads only this (no http models, no peer or effective process): a change
 * read of a busy store runs every half second.
 */
export type WatchRow = Pick<FlowRecord, 'id' | 'proto' | 'initiator_addr' | 'responder_addr' | 'responder_port' | 'hostname'
  | 'hostname_source' | 'activity' | 'ollama' | 'bytes_in' | 'bytes_out' | 'conn_state'>
  & {
    process: { pid: number; name: string; exe?: string | null } | null;
    /** first_seen and last_seen as stored (µs), not as ISO text: the dashboard keeps µs, and 50,000 rows made into text and parsed back cost time and garbage. */
    first_seen_us: number;
    last_seen_us: number;
    /** The live session's write that last wrote the row (schema 14), null for an import's row: the next exact read starts after the largest. */
    write_seq: number | null;
  };

/** The columns watchRowsChangedSince selects, in order (rows are read as arrays: see there). */
const enum Col { id, proto, initiatorAddr, responderAddr, responderPort, hostname, hostnameSource, activity, ollama, bytesIn, bytesOut, firstSeen, lastSeen, connState, pid, comm, writeSeq }

/**
 * As flowsChangedSince (or, given sinceWrite, the rows written after that write), only the
 * dashboard's columns, each row handed over in ONE object that is refilled for the next row: a row
 * is valid until the next one is asked for, and a reader copies what it keeps (the dashboard's merge
 * compares it with what it has and copies only a changed row). Rows are read as arrays:
 * better-sqlite3 building a named-column object per row cost ~3× the read (2,000 rows: 17 ms
 * against 6). A read by last_seen re-reads a 2 s overlap: ~2,000 unchanged rows of a busy store
 * (the first read after the load: 40–60 ms under load, the slowest frames, bench/RESULTS.md).
 */
export function* watchRowsChangedSince(db: Db, sessionId: number, since: number, sinceWrite: number | null = null): Generator<WatchRow> {
  // Given sinceWrite (a live session's rows carry their write, schema 14): exactly the rows written
  // after it, through flows_session_write_seq; the first change read after the load of a 50,000-flow
  // store read ~200 rows instead of the 2 s overlap's ~2,200 (bench/RESULTS.md, "watch", wread).
  const where = sinceWrite === null ? 'f.last_seen > ?' : 'f.write_seq > ?';
  const rows = db.prepare(`SELECT f.id, f.proto, f.initiator_addr, f.responder_addr, f.responder_port, f.hostname, f.hostname_source,
      f.activity, f.ollama, f.bytes_in, f.bytes_out, f.first_seen, f.last_seen, f.conn_state, p.pid, p.comm, f.write_seq FROM flows f
    LEFT JOIN processes p ON p.session_id = f.session_id AND p.seq = f.process_seq
    WHERE f.session_id = ? AND ${where} ORDER BY f.first_seen, f.id`).raw(true).iterate(sessionId, sinceWrite ?? since);
  const proc = { pid: 0, name: '' };
  const row: WatchRow = { id: 0, proto: 'tcp', initiator_addr: '', responder_addr: '', responder_port: 0, hostname: null, hostname_source: null,
    activity: '', ollama: false, bytes_in: 0, bytes_out: 0, first_seen_us: 0, last_seen_us: 0, conn_state: null, process: null, write_seq: null };
  for (const r of rows as Iterable<unknown[]>) {
    const pid = r[Col.pid] as number | null;
    if (pid !== null) {
      proc.pid = pid;
      proc.name = (r[Col.comm] as string | null) ?? '';
    }
    row.id = r[Col.id] as number;
    row.proto = protoName(r[Col.proto] as number);
    row.initiator_addr = r[Col.initiatorAddr] as string;
    row.responder_addr = r[Col.responderAddr] as string;
    row.responder_port = r[Col.responderPort] as number;
    row.hostname = r[Col.hostname] as string | null;
    row.hostname_source = r[Col.hostnameSource] as FlowRecord['hostname_source'];
    row.activity = r[Col.activity] as string;
    row.ollama = r[Col.ollama] === 1;
    row.bytes_in = r[Col.bytesIn] as number;
    row.bytes_out = r[Col.bytesOut] as number;
    row.first_seen_us = r[Col.firstSeen] as number;
    row.last_seen_us = r[Col.lastSeen] as number;
    row.conn_state = r[Col.connState] as string | null;
    row.process = pid === null ? null : proc;
    row.write_seq = r[Col.writeSeq] as number | null;
    yield row;
  }
}
