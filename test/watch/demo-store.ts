/**
 * A store filled by a real import of the bundled demo capture (fixtures/demo/ollama-pull.pcapng, made
 * by fixtures/make/pull.sh: an Ollama pull through a fake registry, CDN and proxy, plus curl, dig and
 * ping traffic of other processes; fixtures/README.md). The watch tests read it as a daemon's store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importFile } from '../../src/commands/import-file.js';
import { DEMO_CAPTURE } from '../../src/commands/demo-command.js';
import { openDb } from '../../src/store/open-db.js';
import { queryFlows, type FlowRecord } from '../../src/store/read/flows.js';
import { watchRowsChangedSince, type WatchRow } from '../../src/store/read/changes.js';

export interface DemoStore { dir: string; path: string; sessionId: number; remove: () => void }

export async function demoStore(prefix = 'oawt-'): Promise<DemoStore> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const path = join(dir, 'audit.db');
  openDb(path).close();
  const summary = await importFile(path, DEMO_CAPTURE);
  return { dir, path, sessionId: summary.session_id, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function demoFlows(store: DemoStore): FlowRecord[] {
  const db = openDb(store.path, { readonly: true });
  try {
    return queryFlows(db, { session: store.sessionId });
  } finally {
    db.close();
  }
}

/** The session's flows as the dashboard reads them (every row "changed since" before the first). */
export function demoWatchRows(store: DemoStore): WatchRow[] {
  const db = openDb(store.path, { readonly: true });
  try {
    // Each row copied: the read hands every row over in one object it refills (store/read/changes.ts).
    return Array.from(watchRowsChangedSince(db, store.sessionId, -1), (r) => ({ ...r, process: r.process && { ...r.process } }));
  } finally {
    db.close();
  }
}
