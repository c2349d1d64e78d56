/**
 * Claims held back by their interval reach the screen once judged, even when nothing is written
 * after the change that made them stale: the end of an in-process session (`demo --watch`, `sudo
 * watch --duration`) is the last write, and its verdicts must be drawn. The store is a real import
 * of the demo capture; the writer changes a flow as a daemon's reclassification would.
 */
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { StorePoller } from '../../src/watch/data/store-poller.js';
import { SourceLoop } from '../../src/watch/data/source-loop.js';
import type { Frame, FrameQuery } from '../../src/watch/data/frame.js';
import { demoStore } from './demo-store.js';

const QUERY: FrameQuery = {
  view: 'flows', detail: null, paused: false,
  flows: { all: true, closed: true, filter: '', sort: 'total', reverse: false, frozen: false, offset: 0, height: 50 },
};

it('a verdict judged after its interval, with no write since, is sent in a frame', async () => {
  const own = await demoStore('oarp-claims-');
  const poller = new StorePoller(own.path, undefined, 5_000);
  const frames: Frame[] = [];
  let now = 1_000;
  const loop = new SourceLoop(poller, (f) => frames.push(f), () => now, 500);
  const claim = 'wild-update-check-api-ollama-ai';
  const verdict = (f: Frame) => f.claims.find((c) => c.id === claim)?.verdict;
  try {
    loop.query(QUERY);
    // The capture never reached api.ollama.ai: the claim holds.
    expect(verdict(frames[0])).toBe('holds');
    const writer = new Database(own.path);
    writer.prepare("UPDATE flows SET hostname = 'api.ollama.ai', sni = 'api.ollama.ai', last_seen = last_seen + 1 WHERE id = (SELECT min(id) FROM flows WHERE activity = 'registry')").run();
    writer.close();
    now = 2_000; // within the 5 s interval: the change is read and drawn, the claims wait
    loop.tick();
    expect(frames).toHaveLength(2);
    expect(verdict(frames[1])).toBe('holds');
    now = 7_000; // nothing written since; the interval has passed: judged again, and drawn
    loop.tick();
    expect(frames).toHaveLength(3);
    expect(verdict(frames[2])).toBe('violated');
  } finally {
    poller.close();
    own.remove();
  }
});
