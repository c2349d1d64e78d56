/**
 * The data side run on the calling thread: for `watch --once` and the line output (one read, no
 * drawing to keep smooth) and for tests (an injected clock, frames delivered synchronously).
 * The dashboard itself uses the worker thread (thread-source.ts).
 */
import { DEFAULTS } from '../../settings.js';
import type { DataSource, Frame } from './frame.js';
import { writeFlowEvidence, writeSessionReport } from './outputs.js';
import { SourceLoop } from './source-loop.js';
import { StorePoller } from './store-poller.js';

export interface LoopSource extends DataSource {
  /** One poll (what the worker's timer does every pollMs). */
  tick(): void;
  /** The next frame only (a caller asking one query at a time). */
  onFrameOnce(listener: (f: Frame) => void): void;
}

export function loopSource(o: { dbPath: string; session?: number; clock?: () => number; outDir: string; claimsEveryMs?: number; frameMs?: number; claimsAfterFirstFrame?: boolean }): LoopSource {
  const poller = new StorePoller(o.dbPath, o.session, o.claimsEveryMs ?? DEFAULTS.watch.claimsEveryMs);
  const listeners: ((f: Frame) => void)[] = [];
  let once: ((f: Frame) => void) | null = null;
  const loop = new SourceLoop(poller, (f) => {
    for (const l of listeners) l(f);
    const one = once;
    once = null;
    one?.(f);
  }, o.clock ?? Date.now, o.frameMs ?? DEFAULTS.watch.frameMs, o.claimsAfterFirstFrame);
  return {
    tick: () => loop.tick(),
    onFrameOnce: (l) => { once = l; },
    query: (q) => loop.query(q),
    onFrame: (l) => { listeners.push(l); },
    exportEvidence: async (flowId) => writeFlowEvidence(poller, flowId, o.outDir),
    writeReport: async () => writeSessionReport(poller, o.outDir),
    close: async () => poller.close(),
  };
}
