/**
 * The live engine's store thread, from the capture thread's side: the per-second write (upserts
 * of a second's rows, in chunks), the retention step and WAL checkpoints run on a worker thread
 * (live-store-thread.ts) with its own connection, so SQLite's time is not the capture's (under a
 * flood it was a quarter of the capture thread). The capture thread builds the rows
 * (session-rows.ts) and sends them as plain arrays (structured clone); every request is answered
 * in order, one transaction each. A chunk that fails makes the thread skip the rest of its second.
 */
import type { Worker } from 'node:worker_threads';
import type { LiveRows } from './live-session.js';
import type { SessionEnd } from './session-rows.js';
import type { RetentionPolicy } from './retention.js';
import type { WriterIdentity } from './live-writer.js';
import { startThread } from './start-thread.js';

export interface LiveStoreSettings {
  dbPath: string;
  sessionId: number;
  me: WriterIdentity;
  /** --retain / --max-db; null: neither (verify's captures). */
  retention: RetentionPolicy | null;
}

/** The engine's open flows for a retention step: those that began before `before` (µs), a superset of those whose stored row is older. */
export interface OpenSeqs { before: number; seqs: number[] }

export type LiveStoreRequest =
  | { op: 'flush'; id: number; second: number; rows: LiveRows }
  | { op: 'maintain'; id: number; nowUs: number; open: OpenSeqs | null }
  | { op: 'end'; id: number; end: SessionEnd };

export type LiveStoreReply =
  | { op: 'done'; id: number; ms: number }
  /** A chunk of a second an earlier chunk of which failed: not written. */
  | { op: 'skipped'; id: number }
  | {
    op: 'maintained'; id: number; retainMs: number; checkpointMs: number; flowsDeleted: number;
    /** The step stopped before a bound later than OpenSeqs.before (a size bound): ask again with every open flow. */
    needsOpenBefore: number | null;
  }
  /** id -1: the thread could not open the store. */
  | { op: 'failed'; id: number; code: string; message: string; diskFull: boolean };

export type LiveStore = ReturnType<typeof startLiveStore>;

/**
 * The store thread's young generation (V8's new space), in MB. Its rows die as soon as they are
 * inserted, but V8 grew it to its default maximum, 32 MB committed, under a flood's 20,000 rows a
 * second while ~10 MB of it was ever in use (bench/RESULTS.md, tenth session): part of the daemon's
 * resident memory for nothing.
 */
const STORE_THREAD_YOUNG_MB = 8;

/**
 * Starts the store thread. `onFailure` is called once if the thread cannot open the store or
 * dies; every request still waiting is then answered with a failure.
 */
export function startLiveStore(settings: LiveStoreSettings, onFailure: (err: { code: string; message: string }) => void) {
  const worker: Worker = startThread(import.meta.url, './live-store-thread', {
    workerData: settings, resourceLimits: { maxYoungGenerationSizeMb: STORE_THREAD_YOUNG_MB },
  });
  const waiting = new Map<number, (r: LiveStoreReply) => void>();
  let nextId = 1;
  let dead: { code: string; message: string } | null = null;
  const failAll = (code: string, message: string) => {
    if (dead !== null) return;
    dead = { code, message };
    for (const [id, answer] of waiting) answer({ op: 'failed', id, code, message, diskFull: false });
    waiting.clear();
    onFailure(dead);
  };
  worker.on('message', (r: LiveStoreReply) => {
    if (r.id === -1 && r.op === 'failed') return failAll(r.code, r.message);
    const answer = waiting.get(r.id);
    waiting.delete(r.id);
    answer?.(r);
  });
  worker.on('error', (err) => failAll((err as { code?: string }).code ?? '', err.message));
  worker.on('exit', () => failAll('', 'the store thread exited'));

  /** Sends a request (with its id); the promise is its answer. */
  function ask<R extends LiveStoreReply>(req: LiveStoreRequest): Promise<R> {
    if (dead !== null) return Promise.resolve({ op: 'failed', id: req.id, ...dead, diskFull: false } as R);
    return new Promise<R>((resolve) => {
      waiting.set(req.id, resolve as (r: LiveStoreReply) => void);
      worker.postMessage(req);
    });
  }

  return {
    /** One transaction of a second's write; `second` numbers the write its chunks belong to. */
    flush: (second: number, rows: LiveRows) => ask<LiveStoreReply>({ op: 'flush', id: nextId++, second, rows }),
    /** The retention step (when the store has a policy) and a passive WAL checkpoint, after a second's write. */
    maintain: (nowUs: number, open: OpenSeqs | null) => ask<LiveStoreReply>({ op: 'maintain', id: nextId++, nowUs, open }),
    /** Marks the session ended and gives the store back. */
    end: (end: SessionEnd) => ask<LiveStoreReply>({ op: 'end', id: nextId++, end }),
    /** Requests sent and not answered yet. */
    pending: () => waiting.size,
    /** Ends the thread (after its last answer: nothing is left half-written, each request being one transaction). */
    async close(): Promise<void> {
      dead ??= { code: '', message: 'the store was closed' };
      await worker.terminate();
    },
  };
}
