/**
 * The live engine's store thread (live-store.ts starts it): its own connection to the store,
 * the session's writes (live-session.ts), the retention step (retention.ts) and WAL checkpoints.
 * Automatic checkpoints are off on this connection: one landed on whichever commit crossed 1000
 * WAL pages (often a second's write); a passive checkpoint runs after a second's retention step
 * instead, once the WAL holds 1 MiB, where it holds up nothing but this thread. (Not every
 * second: a checkpoint syncs the database file, and a sync a second is disk work for little gain.)
 */
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { openDb, type Db } from './open-db.js';
import { liveSessionWrites } from './live-session.js';
import { createRetention } from './retention.js';
import { isDiskFull } from './store-error.js';
import type { LiveStoreReply, LiveStoreRequest, LiveStoreSettings, OpenSeqs } from './live-store.js';

const settings = workerData as LiveStoreSettings;
const port = parentPort!;

/** A retention step asked for open flows past the bound the capture thread sent them for. */
class NeedsOpen extends Error {
  constructor(readonly before: number) {
    super('open flows needed');
  }
}

function failure(id: number, err: unknown): LiveStoreReply {
  const e = err as { code?: unknown; message?: unknown };
  return { op: 'failed', id, code: e?.code ? String(e.code) : '', message: e?.message ? String(e.message) : String(err), diskFull: isDiskFull(err, settings.dbPath) };
}

let db: Db;
let writes: ReturnType<typeof liveSessionWrites>;
let retention: ReturnType<typeof createRetention> | null;
try {
  db = openDb(settings.dbPath);
  db.pragma('wal_autocheckpoint = 0');
  // The WAL is cut back to nothing when a checkpoint has emptied it: otherwise later seconds reuse
  // its file, and a full disk would show only once a second's write outgrew it (a write that
  // fails is told, counted and kept in a gap; one that quietly stops growing the file is not).
  db.pragma('journal_size_limit = 0');
  writes = liveSessionWrites(db, settings.sessionId, settings.me);
  retention = settings.retention && createRetention(db, settings.retention);
} catch (err) {
  port.postMessage(failure(-1, err));
  process.exit(0);
}

/**
 * WAL bytes past which a checkpoint runs: 1 MiB (SQLite's automatic one: 1000 pages of 4 KiB).
 * Each checkpoint cuts the WAL file back to nothing, so the store's files (database + WAL) swing
 * by this much; at 200 new flows a second, one every few seconds.
 */
const CHECKPOINT_WAL_BYTES = 256 * 4096;

function walBytes(): number {
  try {
    return statSync(`${settings.dbPath}-wal`).size;
  } catch {
    return 0;
  }
}

/** The second a chunk of which failed: its later chunks are skipped (the capture thread takes their flows back). */
let failedSecond = -1;

function maintain(nowUs: number, open: OpenSeqs | null): LiveStoreReply & { op: 'maintained' } {
  const t0 = performance.now();
  let flowsDeleted = 0;
  let needsOpenBefore: number | null = null;
  if (retention !== null) {
    try {
      flowsDeleted = retention.step(nowUs, {
        sessionId: settings.sessionId,
        openBefore(us) {
          if (open === null || us > open.before) throw new NeedsOpen(us);
          return open.seqs;
        },
      }).flows;
    } catch (err) {
      if (!(err instanceof NeedsOpen)) throw err;
      needsOpenBefore = err.before;
    }
  }
  const t1 = performance.now();
  if (walBytes() >= CHECKPOINT_WAL_BYTES) db.pragma('wal_checkpoint(PASSIVE)');
  return { op: 'maintained', id: 0, retainMs: t1 - t0, checkpointMs: performance.now() - t1, flowsDeleted, needsOpenBefore };
}

port.on('message', (m: LiveStoreRequest) => {
  try {
    if (m.op === 'flush') {
      if (m.second === failedSecond) return port.postMessage({ op: 'skipped', id: m.id } satisfies LiveStoreReply);
      const t0 = performance.now();
      writes.flush(m.rows);
      port.postMessage({ op: 'done', id: m.id, ms: performance.now() - t0 } satisfies LiveStoreReply);
    } else if (m.op === 'maintain') {
      port.postMessage({ ...maintain(m.nowUs, m.open), id: m.id } satisfies LiveStoreReply);
    } else if (m.op === 'end') {
      writes.end(m.end);
      db.close();
      port.postMessage({ op: 'done', id: m.id, ms: 0 } satisfies LiveStoreReply);
    }
  } catch (err) {
    if (m.op === 'flush') failedSecond = m.second;
    port.postMessage(failure(m.id, err));
  }
});
