// The store's writer thread: runs the INSERTs of one session in one transaction while the
// capture thread keeps decoding (SQLite row inserts cost about 6 µs each here; on the capture
// thread they were a third of an import). It knows only SQL and rows: the capture thread builds
// the rows (src/store/session-rows.ts). Plain JavaScript so that Node can start it both from
// dist/ and from the TypeScript sources under test.
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';

const Database = createRequire(import.meta.url)('better-sqlite3');
const { dbPath, busyTimeoutMs, sql, pending } = workerData;
const inFlight = new Int32Array(pending);

let db = null;
let sessionId = 0;
let stmts = null;
let failed = null;
// SHA-256 of the imported file's bytes as its reader hands them on (op 'hash'): most of them in
// the reader's own window buffers, shared with this thread (workerData.hashing), hashed in place;
// the reader waits on a buffer's busy flag before it reads into it again. null: nothing hashed yet.
const shared = workerData.hashing && {
  buffers: workerData.hashing.buffers.map((sab) => new Uint8Array(sab)),
  busy: new Int32Array(workerData.hashing.busy),
};
let hash = null;

function hashBytes(m) {
  if (hash === null) hash = createHash('sha256');
  if (m.bytes !== undefined) hash.update(m.bytes);
  else {
    hash.update(shared.buffers[m.buffer].subarray(m.start, m.end));
    Atomics.store(shared.busy, m.buffer, 0);
    Atomics.notify(shared.busy, m.buffer);
  }
}

function sourceDigest() {
  const hex = hash === null ? null : hash.digest('hex');
  hash = null;
  return hex;
}

function fail(err) {
  failed = { code: err && err.code ? String(err.code) : '', message: err && err.message ? String(err.message) : String(err) };
  try {
    if (db && db.inTransaction) db.exec('ROLLBACK');
  } catch {
    // A failed rollback leaves a hot journal: SQLite rolls it back on the next open.
  }
  parentPort.postMessage({ op: 'error', ...failed });
}

// Rows per INSERT statement: a statement of many rows is one call into SQLite where one per row
// paid the call, the binding's setup and a result object each time.
const ROWS_PER_INSERT = 16;
const params = [];

/** An INSERT's statement for one row and for ROWS_PER_INSERT rows (its VALUES group repeated). */
function prepareInsert(text) {
  const group = text.slice(text.lastIndexOf('VALUES') + 'VALUES'.length).trim();
  return { one: db.prepare(text), many: db.prepare(text + `, ${group}`.repeat(ROWS_PER_INSERT - 1)) };
}

function insertAll(stmt, rows) {
  let i = 0;
  for (; i + ROWS_PER_INSERT <= rows.length; i += ROWS_PER_INSERT) {
    params.length = 0;
    for (let j = i; j < i + ROWS_PER_INSERT; j++) {
      const r = rows[j];
      r[0] = sessionId;
      for (let k = 0; k < r.length; k++) params.push(r[k]);
    }
    stmt.many.run(...params);
  }
  for (; i < rows.length; i++) {
    rows[i][0] = sessionId;
    stmt.one.run(...rows[i]);
  }
}

parentPort.on('message', (m) => {
  try {
    if (m.op === 'begin') {
      db = new Database(dbPath);
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      stmts = { flow: prepareInsert(sql.flow), dns: prepareInsert(sql.dns), http: prepareInsert(sql.http), process: prepareInsert(sql.process) };
      db.exec('BEGIN IMMEDIATE');
      sessionId = Number(db.prepare(sql.session).run(...m.session).lastInsertRowid);
      parentPort.postMessage({ op: 'began', sessionId });
    } else if (m.op === 'rows') {
      if (failed === null) {
        insertAll(stmts.process, m.processes);
        insertAll(stmts.flow, m.flows);
        insertAll(stmts.dns, m.dns);
        insertAll(stmts.http, m.http);
      }
      Atomics.sub(inFlight, 0, 1);
      Atomics.notify(inFlight, 0);
    } else if (m.op === 'hash') {
      hashBytes(m);
    } else if (m.op === 'commit') {
      const sha256 = sourceDigest();
      if (failed !== null) return;
      if (sha256 !== null) m.end[m.end.length - 1] = sha256; // FINISH_SESSION's source_sha256
      // The same bytes imported before: checked in this transaction, so two imports of one file
      // running at once cannot both land; the rollback leaves the store as it was.
      const earlier = m.refuseDuplicate && sha256 !== null ? db.prepare(sql.findImport).get(sha256, sessionId) : undefined;
      if (earlier !== undefined) {
        db.exec('ROLLBACK');
        db.close();
        db = null;
        parentPort.postMessage({ op: 'duplicate', earlier });
        return;
      }
      db.prepare(sql.finish).run(...m.end, sessionId);
      db.exec('COMMIT');
      db.close();
      db = null;
      parentPort.postMessage({ op: 'committed', sessionId });
    } else if (m.op === 'abort') {
      sourceDigest();
      if (db && db.inTransaction) db.exec('ROLLBACK');
      if (db) db.close();
      db = null;
      parentPort.postMessage({ op: 'aborted' });
    }
  } catch (err) {
    if (m.op === 'rows') {
      Atomics.sub(inFlight, 0, 1);
      Atomics.notify(inFlight, 0);
    }
    fail(err);
  }
});
