/**
 * The dashboard's data side on a store another connection writes, as a daemon does (issue #11):
 * a writer's commits appear at the next poll, an unchanged data_version causes no read at all
 * (no statement but the data_version pragma), and no read transaction is left open (the writer's
 * checkpoint empties the WAL). The store is a real import of the demo capture.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorePoller } from '../../src/watch/data/store-poller.js';
import { SourceLoop } from '../../src/watch/data/source-loop.js';
import type { Frame, FrameQuery } from '../../src/watch/data/frame.js';
import { createElement as h } from 'react';
import { renderToString } from 'ink';
import { Screen } from '../../src/watch/ui/screen.js';
import { initialUiState } from '../../src/watch/state/ui-state.js';
import { claimsReport } from '../../src/claims/evaluate.js';
import { itNeeding } from '../helpers/needs.js';
import { demoFlows, demoStore, type DemoStore } from './demo-store.js';

let store: DemoStore;
beforeAll(async () => { store = await demoStore(); });
afterAll(() => store.remove());

const QUERY: FrameQuery = {
  view: 'flows', detail: null, paused: false,
  flows: { all: true, closed: true, filter: '', sort: 'total', reverse: false, frozen: false, offset: 0, height: 50 },
};

/** Every SQL statement the poller's connection prepares from now on (a pragma is not prepared through it). */
function recordStatements(poller: StorePoller): string[] {
  const seen: string[] = [];
  poller.withDb((db) => {
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string, ...rest: unknown[]) => { seen.push(sql); return (prepare as (...a: unknown[]) => unknown)(sql, ...rest); }) as typeof db.prepare;
  });
  return seen;
}

describe('following a store', () => {
  it("the dashboard's connection caches at most 2 MiB of the store's pages (SQLite's default: 16 MiB)", () => {
    const poller = new StorePoller(store.path, undefined, 0);
    try {
      poller.poll(1_000);
      // A negative cache_size is KiB.
      expect(poller.withDb((db) => db.pragma('cache_size', { simple: true }))).toBe(-2048);
      const other = new Database(store.path, { readonly: true });
      expect(other.pragma('cache_size', { simple: true })).toBeLessThan(-2048);
      other.close();
    } finally {
      poller.close();
    }
  });

  it('reads every flow once; an unchanged data_version reads nothing; a commit appears with its rate', () => {
    const poller = new StorePoller(store.path, undefined, 0);
    const writer = new Database(store.path);
    try {
      expect(poller.poll(1_000)).toBe(true);
      const rows = demoFlows(store);
      expect(poller.model.flows.flows.size).toBe(rows.length);
      expect(poller.sessionId).toBe(store.sessionId);

      const sql = recordStatements(poller);
      for (let t = 1_250; t <= 3_000; t += 250) expect(poller.poll(t)).toBe(false);
      // (better-sqlite3 runs a pragma without prepare(): only the data_version check ran.)
      expect(sql).toEqual([]);
      expect(poller.reads).toBe(1);

      // The daemon's per-second upsert of a live flow: more bytes, a later last packet.
      const cdn = rows.find((r) => r.activity === 'blob-download')!;
      writer.prepare('UPDATE flows SET bytes_in = bytes_in + 400000, last_seen = last_seen + 1000000 WHERE id = ?').run(cdn.id);
      expect(poller.poll(4_000)).toBe(true);
      expect(poller.reads).toBe(2);
      const merged = poller.model.flows.flows.get(cdn.id)!;
      expect(merged.bytesIn).toBe(cdn.bytes_in + 400_000);
      expect(merged.rateIn).toBe(400_000 / 3); // grown since its sighting at 1 s, seen at 4 s
      // Only rows near the watermark were read again, not the whole session.
      expect(sql.filter((s) => /last_seen >/.test(s))).toHaveLength(1);

      // No read transaction left open: the writer's checkpoint can move every WAL frame into the database.
      const cp = writer.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
      expect(cp[0].busy).toBe(0);
    } finally {
      writer.close();
      poller.close();
    }
  });

  it('a new session (a daemon restarted) replaces the state; frames at most every frameMs unless the query changes', () => {
    const poller = new StorePoller(store.path, undefined, 0);
    const frames: Frame[] = [];
    let now = 10_000;
    const loop = new SourceLoop(poller, (f) => frames.push(f), () => now, 500);
    try {
      loop.query(QUERY);
      expect(frames).toHaveLength(1);
      expect(frames[0].total).toBe(demoFlows(store).length);
      const writer = new Database(store.path);
      const bump = () => writer.prepare('UPDATE flows SET bytes_out = bytes_out + 1, last_seen = last_seen + 1 WHERE session_id = ? AND id = (SELECT min(id) FROM flows)').run(store.sessionId);
      try {
        for (let i = 0; i < 8; i++) { now += 100; bump(); loop.tick(); }
      } finally {
        writer.close();
      }
      // 800 ms of changes every 100 ms: one frame at +500 ms, not eight.
      expect(frames).toHaveLength(2);
      loop.query({ ...QUERY, view: 'hosts' });
      expect(frames).toHaveLength(3);
      expect(frames[2].list.kind).toBe('groups');
    } finally {
      poller.close();
    }
  });

  it('a claim whose verdict changed flashes in one frame; the next frame, frameMs later, shows it as usual', async () => {
    // Its own store: the writer renames the registry flow as a daemon's reclassification would.
    const own = await demoStore('oawt-flash-');
    const poller = new StorePoller(own.path, undefined, 0);
    const frames: Frame[] = [];
    let now = 1_000;
    const loop = new SourceLoop(poller, (f) => frames.push(f), () => now, 500);
    const claim = 'wild-update-check-api-ollama-ai';
    const strip = (f: Frame) => renderToString(h(Screen, { frame: f, ui: initialUiState(true), columns: 160, rows: 40, noColor: true, notice: null }), { columns: 160 })
      .split('\n').find((l) => l.includes(claim))!;
    try {
      loop.query(QUERY);
      // The capture never reached api.ollama.ai: the claim holds, nothing flashes (a first evaluation is no change).
      expect(frames[0].claims.find((c) => c.id === claim)).toMatchObject({ verdict: 'holds', changed: false });
      const writer = new Database(own.path);
      writer.prepare("UPDATE flows SET hostname = 'api.ollama.ai', sni = 'api.ollama.ai', last_seen = last_seen + 1 WHERE id = (SELECT min(id) FROM flows WHERE activity = 'registry')").run();
      writer.close();
      now = 60_000; // long after the last evaluation, whatever it cost
      loop.tick();
      expect(frames).toHaveLength(2);
      expect(frames[1].claims.filter((c) => c.changed).map((c) => [c.id, c.verdict])).toEqual([[claim, 'violated']]);
      expect(strip(frames[1])).toMatch(/^\* VIOLATED/);
      now += 100;
      loop.tick();
      expect(frames).toHaveLength(2); // not before frameMs
      now += 400;
      loop.tick(); // no new data: a frame all the same, to end the flash
      expect(frames).toHaveLength(3);
      expect(frames[2].claims.find((c) => c.id === claim)).toMatchObject({ verdict: 'violated', changed: false });
      expect(strip(frames[2])).toMatch(/^ {2}VIOLATED/);
      now += 1_000;
      loop.tick();
      expect(frames).toHaveLength(3); // and then nothing more until something changes
    } finally {
      poller.close();
      own.remove();
    }
  });

  it("a flow's detail names the claims whose evidence cites it", () => {
    const poller = new StorePoller(store.path, undefined, 0);
    try {
      poller.poll(1_000);
      const cdn = demoFlows(store).find((r) => r.activity === 'blob-download')!;
      const report = poller.withDb((db) => claimsReport(db, { sessions: [store.sessionId] }));
      const citing = report.claims.filter((c) => c.evidence.flow_ids.includes(cdn.id)).map((c) => `${c.id} (${c.verdict})`);
      expect(citing.length).toBeGreaterThan(0);
      poller.loadDetail(cdn.id);
      const detail = poller.model.frame({ ...QUERY, detail: cdn.id }, 1_000).detail!;
      expect(detail.find((l) => l.startsWith('claims citing it:'))).toBe(`claims citing it: ${citing.join(', ')}`);
    } finally {
      poller.close();
    }
  });

  itNeeding(['dist'], 'the data thread (dist/) answers a query with a frame of the store', async () => {
    const { startThreadSource } = await import('../../dist/watch/data/thread-source.js' as string) as typeof import('../../src/watch/data/thread-source.js');
    const errors: string[] = [];
    const src = startThreadSource({ dbPath: store.path, pollMs: 250, frameMs: 500, claimsEveryMs: 0, outDir: store.dir }, (m) => errors.push(m));
    try {
      const frame = await new Promise<Frame>((resolve) => { src.onFrame(resolve); src.query(QUERY); });
      expect(frame.total).toBe(demoFlows(store).length);
      expect(frame.header.session).toBe(store.sessionId);
      expect(errors).toEqual([]);
    } finally {
      await src.close();
    }
  });

  itNeeding(['dist'], "the data thread runs with its young generation capped (its reads' short-lived rows made it tens of MB, bench/RESULTS.md)", async () => {
    const { startThreadSource } = await import('../../dist/watch/data/thread-source.js' as string) as typeof import('../../src/watch/data/thread-source.js');
    const { DEFAULTS } = await import('../../src/settings.js');
    // The thread's Worker, caught as the source sends it the query: its limits as the running thread has them.
    const { Worker } = await import('node:worker_threads');
    let worker: InstanceType<typeof Worker> | null = null;
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (this: InstanceType<typeof Worker>, ...args: Parameters<typeof post>) {
      worker = this;
      return post.apply(this, args);
    };
    const src = startThreadSource({ dbPath: store.path, pollMs: 250, frameMs: 500, claimsEveryMs: 0, outDir: store.dir }, () => undefined);
    try {
      const frame = await new Promise<Frame>((resolve) => { src.onFrame(resolve); src.query(QUERY); });
      expect(frame.total).toBe(demoFlows(store).length);
      expect(worker!.resourceLimits!.maxYoungGenerationSizeMb).toBe(DEFAULTS.watch.dataThreadYoungMb);
      expect(DEFAULTS.watch.dataThreadYoungMb).toBeLessThanOrEqual(4);
    } finally {
      Worker.prototype.postMessage = post;
      await src.close();
    }
  });
});
