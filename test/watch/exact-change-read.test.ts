/**
 * The dashboard's change read of a live session is exact (schema 14, flows.write_seq): each read
 * hands over the rows written since the last read and nothing else. Before, it re-read every row
 * whose last packet fell within 2 s of its watermark (a row can be committed after a later one):
 * on a busy 50,000-flow store the first change read after the load re-read ~2,000 unchanged rows,
 * the slowest frames (bench/RESULTS.md, "watch", wread). The store is written by the live engine
 * itself, replaying the demo capture (fixtures/demo/ollama-pull.pcapng, fixtures/README.md) with
 * writes every 20 ms; after each write the dashboard's poller reads, and what it is handed is
 * checked against the store's own rows: those whose stored values differ from the last read's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { DEMO_CAPTURE } from '../../src/commands/demo-command.js';
import { openReplayCapture } from '../../src/capture/replay-capture.js';
import { startLiveEngine } from '../../src/live/engine.js';
import { openDb, type Db } from '../../src/store/open-db.js';
import { StorePoller } from '../../src/watch/data/store-poller.js';
import { virtualClock } from '../helpers/replay-clock.js';

const dir = mkdtempSync(join(tmpdir(), 'oawr-exact-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Stored = Map<number, string>;

/** Every flow row of the store as text (write_seq apart: which write it was is not what is stored of the flow). */
function storedFlows(db: Db): Stored {
  const rows = db.prepare('SELECT * FROM flows').all() as { id: number; write_seq?: number | null }[];
  return new Map(rows.map(({ write_seq: _w, ...r }) => [r.id, JSON.stringify(r)]));
}

/** Ids of the rows that are new in `now` or whose stored values differ from `before`. */
function changedIds(before: Stored, now: Stored): number[] {
  return [...now].filter(([id, text]) => before.get(id) !== text).map(([id]) => id).sort((a, b) => a - b);
}

it("each change read of a live session hands over exactly the rows written since the last read; a write of no flow hands over none", async () => {
  const path = join(dir, 'live.db');
  openDb(path).close();
  const poller = new StorePoller(path, undefined, 60_000);
  // What each read hands to the merge (ids, in the order handed).
  const handed: number[][] = [];
  const merge = poller.model.merge.bind(poller.model);
  poller.model.merge = (rows, nowMs) => {
    const ids: number[] = [];
    handed.push(ids);
    return merge((function* () { for (const r of rows) { ids.push(r.id); yield r; } })(), nowMs);
  };
  let last: Stored = new Map();
  const reads: { want: number[]; got: number[] | null }[] = [];
  /** A poll, and in the same read transaction the store's rows: what changed since the last poll's. */
  const pollAndCompare = () => poller.withDb((db) => {
    db.exec('BEGIN');
    try {
      const now = storedFlows(db);
      const before = handed.length;
      poller.poll(Date.now());
      reads.push({ want: changedIds(last, now), got: handed.length > before ? [...handed[before]].sort((a, b) => a - b) : null });
      last = now;
    } finally {
      db.exec('COMMIT');
    }
  });

  const capture = openReplayCapture(DEMO_CAPTURE, { speed: 1, clock: virtualClock(Math.floor(Date.now() / 1000) * 1000) });
  const engine = startLiveEngine({ db: path, capture, evidence: 'none', writeIntervalMs: 20 });
  engine.on('second', pollAndCompare);
  await capture.ended;
  await engine.stop();
  pollAndCompare();
  try {
    const written = reads.filter((r) => r.got !== null && r.want.length > 0);
    expect(written.length).toBeGreaterThan(3);
    // Each read: exactly the rows written since the one before (no row read again unchanged, none missed).
    for (const r of reads) expect(r.got ?? []).toEqual(r.want);
    // No row twice in one read.
    for (const ids of handed) expect(new Set(ids).size).toBe(ids.length);

    // A write that stores no flow (as a daemon's progress write of a quiet second): data_version moves, a read runs, it hands over nothing.
    const sessionId = poller.sessionId!;
    const writer = new Database(path);
    writer.prepare('UPDATE sessions SET written_at = ? WHERE id = ?').run(Date.now() * 1000, sessionId);
    writer.close();
    const readsBefore = poller.reads;
    pollAndCompare();
    expect(poller.reads).toBe(readsBefore + 1);
    expect(reads.at(-1)).toEqual({ want: [], got: [] });

    // What the dashboard holds is the store's final state.
    const db = openDb(path, { readonly: true });
    const final = db.prepare('SELECT id, bytes_in, bytes_out, last_seen, write_seq FROM flows WHERE session_id = ?').all(sessionId) as { id: number; bytes_in: number; bytes_out: number; last_seen: number; write_seq: number | null }[];
    db.close();
    expect(final.length).toBeGreaterThan(20);
    expect(final.every((f) => f.write_seq !== null)).toBe(true);
    for (const f of final) {
      const held = poller.model.flows.flows.get(f.id)!;
      expect([held.bytesIn, held.bytesOut, held.lastSeenUs]).toEqual([f.bytes_in, f.bytes_out, f.last_seen]);
    }
  } finally {
    poller.close();
  }
}, 60_000);
