/**
 * The UI's side of the data thread: a DataSource whose frames come from store-thread.ts. The
 * thread file is compiled JavaScript beside this one (dist/), as the store's writer thread is.
 */
import { Worker } from 'node:worker_threads';
import { DEFAULTS } from '../../settings.js';
import type { DataSource, Frame, FrameQuery } from './frame.js';
import type { ThreadMessage, ThreadReply, ThreadSettings } from './thread-protocol.js';

export interface ThreadSource extends DataSource {
  /** The in-process engine wrote a second: read now (instead of polling). */
  changed(): void;
}

export function startThreadSource(settings: ThreadSettings, onError: (message: string) => void): ThreadSource {
  const worker = new Worker(new URL('./store-thread.js', import.meta.url), {
    workerData: settings,
    // Its reads' short-lived rows need no large young generation (DEFAULTS.watch.dataThreadYoungMb).
    resourceLimits: { maxYoungGenerationSizeMb: DEFAULTS.watch.dataThreadYoungMb },
  });
  const listeners: ((f: Frame) => void)[] = [];
  const waiting = new Map<number, (text: string) => void>();
  let nextId = 1;
  const send = (m: ThreadMessage) => worker.postMessage(m);
  worker.on('message', (m: ThreadReply) => {
    if (m.type === 'frame') for (const l of listeners) l(m.frame);
    else if (m.type === 'done') { waiting.get(m.id)?.(m.text); waiting.delete(m.id); }
    else if (m.id !== undefined && waiting.has(m.id)) { waiting.get(m.id)!(m.message); waiting.delete(m.id); }
    else onError(m.message);
  });
  worker.on('error', (err) => onError(err.message));
  const ask = (m: (id: number) => ThreadMessage) => new Promise<string>((resolve) => {
    const id = nextId++;
    waiting.set(id, resolve);
    send(m(id));
  });
  return {
    query: (query: FrameQuery) => send({ type: 'query', query }),
    onFrame: (l) => { listeners.push(l); },
    changed: () => send({ type: 'changed' }),
    exportEvidence: (flowId) => ask((id) => ({ type: 'export', id, flowId })),
    writeReport: () => ask((id) => ({ type: 'report', id })),
    close: async () => {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      send({ type: 'close' });
      const t = setTimeout(() => void worker.terminate(), 2000);
      await exited;
      clearTimeout(t);
    },
  };
}
