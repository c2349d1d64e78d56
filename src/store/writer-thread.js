// The store's writer thread: runs the INSERTs of one session in one transaction while the
// capture thread keeps decoding (SQLite row inserts cost about 6 µs each here; on the capture
// thread they were a third of an import). It knows only SQL and rows: the capture thread builds
// the rows (src/store/session-rows.ts). Plain JavaScript so that Node can start it both from
// dist/ and from the TypeScript sources under test.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';

const Database = createRequire(import.meta.url)('better-sqlite3');
const { dbPath, busyTimeoutMs, sql, pending } = workerData;
const inFlight = new Int32Array(pending);

let db = null;
let sessionId = 0;
let stmts = null;
let failed = null;
// SHA-256 of the imported file, up to where the capture thread has read it (op 'hash'): read
// again here from the page cache, right after that thread, so hashing costs the decoding thread
// nothing. null until the first message; `failed`: it could not be read here (it shrank, or
// vanished), and the session keeps no hash rather than a wrong one.
let source = null;

function hashTo(path, to) {
  if (source === null) source = { fd: null, hash: createHash('sha256'), pos: 0, buf: Buffer.allocUnsafe(4 * 1024 * 1024), failed: false };
  try {
    if (source.fd === null && !source.failed) source.fd = openSync(path, 'r');
    while (!source.failed && source.pos < to) {
      const n = readSync(source.fd, source.buf, 0, Math.min(source.buf.length, to - source.pos), source.pos);
      if (n === 0) source.failed = true; // the file shrank under us
      else {
        source.hash.update(source.buf.subarray(0, n));
        source.pos += n;
      }
    }
  } catch {
    source.failed = true; // unreadable here: the import goes on, without a hash rather than a wrong one
  }
}

function sourceDigest() {
  if (source === null) return null;
  if (source.fd !== null) closeSync(source.fd);
  const hex = source.failed ? null : source.hash.digest('hex');
  source = null;
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

function insertAll(stmt, rows) {
  for (const r of rows) {
    r[0] = sessionId;
    stmt.run(...r);
  }
}

parentPort.on('message', (m) => {
  try {
    if (m.op === 'begin') {
      db = new Database(dbPath);
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      stmts = { flow: db.prepare(sql.flow), dns: db.prepare(sql.dns), http: db.prepare(sql.http), process: db.prepare(sql.process) };
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
      hashTo(m.path, m.to);
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
      sourceDigest(); // closes the file
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
