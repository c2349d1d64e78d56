/**
 * The dashboard's change read (store/read/changes.ts watchRowsChangedSince) makes no object per
 * row: the 2 s overlap re-reads ~2,000 unchanged rows of a busy store after the load, and an object
 * (and a process object) per row, made only to be compared with what the dashboard has and dropped,
 * was garbage in the slowest frames (bench/RESULTS.md, "watch", 2026-12-01 wmem2). Each row's values,
 * at the moment it is handed over, are the stored flow's (queryFlows, the read layer's full read).
 * The store is a real import of the demo capture.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDb } from '../../src/store/open-db.js';
import { watchRowsChangedSince } from '../../src/store/read/changes.js';
import { demoFlows, demoStore, type DemoStore } from './demo-store.js';

let store: DemoStore;
beforeAll(async () => { store = await demoStore('oawr-'); });
afterAll(() => store.remove());

it('hands every row over in one refilled object, each with its stored flow\'s values when handed over', () => {
  const stored = new Map(demoFlows(store).map((f) => [f.id, f]));
  const db = openDb(store.path, { readonly: true });
  try {
    const objects = new Set<object>();
    const processes = new Set<object>();
    let n = 0;
    for (const r of watchRowsChangedSince(db, store.sessionId, -1)) {
      objects.add(r);
      if (r.process) processes.add(r.process);
      const f = stored.get(r.id)!;
      expect([r.bytes_in, r.bytes_out, r.activity, r.hostname, r.conn_state, r.responder_port, r.ollama])
        .toEqual([f.bytes_in, f.bytes_out, f.activity, f.hostname, f.conn_state, f.responder_port, f.ollama]);
      expect(r.process?.pid ?? null).toBe(f.process?.pid ?? null);
      expect(Math.floor(r.last_seen_us / 1000)).toBe(Date.parse(f.last_seen!));
      n++;
    }
    expect(n).toBe(stored.size);
    expect(n).toBeGreaterThan(20);
    expect(processes.size).toBeGreaterThan(0);
    // One object for the rows and one for their processes, not one (or two) per row.
    expect(objects.size).toBe(1);
    expect(processes.size).toBe(1);
  } finally {
    db.close();
  }
});
