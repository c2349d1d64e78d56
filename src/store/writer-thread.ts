/**
 * An import's store writer thread (session-writer.ts starts it through start-thread.ts): runs the
 * INSERTs of one session in one transaction while the capture thread keeps decoding (SQLite row
 * inserts cost about 6 µs each here; on the capture thread they were a third of an import). It
 * builds the flow rows from the numbers the capture thread packed (flow-pack.ts: addresses,
 * Community ID, conn_state and history are made here, off the thread that bounds the import's
 * wall time) and hashes the imported file's bytes (SHA-256) beside its inserts.
 */
import { createHash, type Hash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { createFlowUnpacker, type PackedFlows } from './flow-pack.js';
import { FLOW_COLUMNS, type Row } from './session-rows.js';
import type { WriterMessage, WriterSettings } from './session-writer.js';

// By require, not import: an ES module importing a CommonJS one makes Node lex that module's
// source for its named exports (cjs-module-lexer), and this thread has to compile the lexer for it
// (~10-20 ms of CPU per import; ef8c83b's writer loaded it this way too).
const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');
const { dbPath, busyTimeoutMs, sql, pending, hashing, flowSlots } = workerData as WriterSettings;
const packed = createFlowUnpacker(flowSlots);
const port = parentPort!;
const inFlight = new Int32Array(pending);

interface Insert {
  /** The statement for n rows (1 or ROWS_PER_INSERT) at index n. */
  byRows: BetterSqlite3.Statement[];
}

let db: BetterSqlite3.Database | null = null;
let sessionId = 0;
let stmts: { flow: Insert; dns: Insert; http: Insert; process: Insert } | null = null;
let failed: { code: string; message: string } | null = null;
// SHA-256 of the imported file's bytes as its reader hands them on (op 'hash'): most of them in
// the reader's own window buffers, shared with this thread, hashed in place; the reader waits on
// a buffer's busy flag before it reads into it again. null: nothing hashed yet.
const shared = hashing && {
  buffers: hashing.buffers.map((sab) => new Uint8Array(sab)),
  busy: new Int32Array(hashing.busy),
};
let hash: Hash | null = null;

function hashBytes(m: Extract<WriterMessage, { op: 'hash' }>): void {
  if (hash === null) hash = createHash('sha256');
  if (m.bytes !== undefined) hash.update(m.bytes);
  else {
    hash.update(shared!.buffers[m.buffer!].subarray(m.start, m.end));
    Atomics.store(shared!.busy, m.buffer!, 0);
    Atomics.notify(shared!.busy, m.buffer!);
  }
}

function sourceDigest(): string | null {
  const hex = hash === null ? null : hash.digest('hex');
  hash = null;
  return hex;
}

function fail(err: unknown): void {
  const e = err as { code?: unknown; message?: unknown } | null;
  failed = { code: e && e.code ? String(e.code) : '', message: e && e.message ? String(e.message) : String(err) };
  try {
    if (db && db.inTransaction) db.exec('ROLLBACK');
  } catch {
    // A failed rollback leaves a hot journal: SQLite rolls it back on the next open.
  }
  port.postMessage({ op: 'error', ...failed });
}

// Rows per INSERT statement: a statement of many rows is one call into SQLite where one per row
// paid the call, the binding's setup and a result object each time.
const ROWS_PER_INSERT = 16;
const params: (string | number | null)[] = [];

/** An INSERT's statement for one row and for ROWS_PER_INSERT rows (its VALUES group repeated). */
function prepareInsert(d: BetterSqlite3.Database, text: string): Insert {
  const group = text.slice(text.lastIndexOf('VALUES') + 'VALUES'.length).trim();
  const byRows: BetterSqlite3.Statement[] = [];
  byRows[1] = d.prepare(text);
  byRows[ROWS_PER_INSERT] = d.prepare(text + `, ${group}`.repeat(ROWS_PER_INSERT - 1));
  return { byRows };
}

/**
 * Groups of ROWS_PER_INSERT rows, then the rest one by one, through one loop: the remainder is
 * not a path of its own that V8 compiles this function without (it did, after the first batch of
 * 16-row groups, and threw the compiled code away at the first remainder).
 */
function insertAll(stmt: Insert, rows: Row[]): void {
  for (let i = 0; i < rows.length;) {
    const n = rows.length - i >= ROWS_PER_INSERT ? ROWS_PER_INSERT : 1;
    params.length = 0;
    for (let j = i; j < i + n; j++) {
      const r = rows[j];
      r[0] = sessionId;
      for (let k = 0; k < r.length; k++) params.push(r[k]);
    }
    stmt.byRows[n].run(...params);
    i += n;
  }
}

// A flow INSERT's parameters for one row and for ROWS_PER_INSERT rows, refilled in place from the
// packed flows (no array per row).
const oneFlow: Row = new Array(FLOW_COLUMNS).fill(null);
const manyFlows: Row = new Array(FLOW_COLUMNS * ROWS_PER_INSERT).fill(null);

/** Flows [from, to) of a packed batch: ROWS_PER_INSERT rows per INSERT, then the rest one by one (as insertAll). */
function insertFlows(p: PackedFlows, from: number, to: number): void {
  const stmt = stmts!.flow;
  for (let i = from; i < to;) {
    const n = to - i >= ROWS_PER_INSERT ? ROWS_PER_INSERT : 1;
    const params = n === 1 ? oneFlow : manyFlows;
    packed.rowsInto(p, i, n, params);
    for (let j = 0; j < n; j++) params[j * FLOW_COLUMNS] = sessionId;
    stmt.byRows[n].run(...params);
    i += n;
  }
}

function begin(session: Row): void {
  const d = db = new Database(dbPath);
  d.pragma(`busy_timeout = ${busyTimeoutMs}`);
  d.pragma('synchronous = NORMAL');
  d.pragma('foreign_keys = ON');
  // An INSERT of ROWS_PER_INSERT rows that may stop halfway (a constraint) keeps a statement
  // journal, so that it can be undone alone; SQLite writes one to a temporary file once it holds
  // more than 64 KiB, which a flow INSERT's pages did: 82,620 writes to /var/tmp/etilqs_* on the
  // 1M-packet benchmark file, 83 % of the import's write calls (ef8c83b inserted row by row). In memory instead. The
  // store's own journal (WAL) is untouched: an interrupted import still leaves the store as it was.
  d.pragma('temp_store = MEMORY');
  stmts = { flow: prepareInsert(d, sql.flow), dns: prepareInsert(d, sql.dns), http: prepareInsert(d, sql.http), process: prepareInsert(d, sql.process) };
  d.exec('BEGIN IMMEDIATE');
  sessionId = Number(d.prepare(sql.session).run(...session).lastInsertRowid);
  port.postMessage({ op: 'began', sessionId });
}

function commit(end: Row, refuseDuplicate: boolean): void {
  const sha256 = sourceDigest();
  if (failed !== null) return;
  const d = db!;
  if (sha256 !== null) end[end.length - 1] = sha256; // FINISH_SESSION's source_sha256
  // The same bytes imported before: checked in this transaction, so two imports of one file
  // running at once cannot both land; the rollback leaves the store as it was.
  const earlier = refuseDuplicate && sha256 !== null ? d.prepare(sql.findImport).get(sha256, sessionId) : undefined;
  if (earlier !== undefined) {
    d.exec('ROLLBACK');
    d.close();
    db = null;
    port.postMessage({ op: 'duplicate', earlier });
    return;
  }
  d.prepare(sql.finish).run(...end, sessionId);
  d.exec('COMMIT');
  d.close();
  db = null;
  port.postMessage({ op: 'committed', sessionId });
}

/**
 * Work in arrival order, in steps of at most SLICE_ROWS rows. The file's bytes are hashed as soon
 * as they arrive instead: the reader waits for a window buffer until it is hashed, and behind a
 * queue of row batches (up to MAX_IN_FLIGHT of them when many flows close at once) that was
 * sometimes a tenth of a second of the decoding thread's time. Between turns of WORK_MS the
 * thread takes new messages, so a buffer waits for at most one turn.
 */
const steps: (() => void)[] = [];
/** Steps that run also after a failure (besides answeredRows and the session's end). */
const mustRun = new WeakSet<() => void>();
const SLICE_ROWS = 256;
const WORK_MS = 4;
let scheduled = false;

function queueRows(m: Extract<WriterMessage, { op: 'rows' }>): void {
  if (m.processes.length > 0) steps.push(() => insertAll(stmts!.process, m.processes));
  const flows = m.flows;
  // The slot is given back once its last rows are read and inserted (the capture thread may be
  // waiting for it; the rows are read into the INSERT's parameters slice by slice), and also after
  // a failure, when no step reads it.
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    packed.release(flows);
  };
  for (let from = 0; from < flows.count; from += SLICE_ROWS) {
    const to = Math.min(from + SLICE_ROWS, flows.count);
    steps.push(() => {
      insertFlows(flows, from, to);
      if (to === flows.count) release();
    });
  }
  mustRun.add(release);
  steps.push(release);
  for (let from = 0; from < m.dns.length; from += SLICE_ROWS) steps.push(() => insertAll(stmts!.dns, m.dns.slice(from, from + SLICE_ROWS)));
  for (let from = 0; from < m.http.length; from += SLICE_ROWS) steps.push(() => insertAll(stmts!.http, m.http.slice(from, from + SLICE_ROWS)));
  steps.push(answeredRows);
}

/** One batch of rows is done (inserted, or dropped after a failure): the capture thread may send another. */
function answeredRows(): void {
  Atomics.sub(inFlight, 0, 1);
  Atomics.notify(inFlight, 0);
}

function drain(): void {
  scheduled = false;
  const until = performance.now() + WORK_MS;
  let done = 0;
  while (done < steps.length && performance.now() < until) {
    const step = steps[done++];
    // After a failure only the answers, the slots given back and the end of the session run (no more inserts).
    if (failed !== null && step !== answeredRows && step !== ending && !mustRun.has(step)) continue;
    try {
      step();
    } catch (err) {
      fail(err);
    }
  }
  steps.splice(0, done);
  if (steps.length > 0) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(drain);
}

/** The session's end (commit or abort), queued behind the rows before it. */
let ending: (() => void) | null = null;

function abort(): void {
  sourceDigest();
  if (db && db.inTransaction) db.exec('ROLLBACK');
  if (db) db.close();
  db = null;
  port.postMessage({ op: 'aborted' });
}

port.on('message', (m: WriterMessage) => {
  if (m.op === 'hash') {
    try {
      hashBytes(m);
    } catch (err) {
      fail(err);
    }
    return;
  }
  if (m.op === 'begin') steps.push(() => begin(m.session));
  else if (m.op === 'rows') queueRows(m);
  else {
    ending = m.op === 'commit' ? () => commit(m.end, m.refuseDuplicate) : abort;
    steps.push(ending);
  }
  schedule();
});
