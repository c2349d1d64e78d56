/**
 * The dashboard's data thread: holds the store's read-only connection and the merged state, so a
 * read or a claims evaluation never stalls drawing or keys. Messages in: `query` (the UI's
 * choices), `changed` (the in-process engine wrote a second), `export`/`report`, `close`.
 * Messages out: `frame`, `done` (an export's or report's answer), `failed` (a one-line reason).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { StorePoller } from './store-poller.js';
import { SourceLoop } from './source-loop.js';
import type { ThreadMessage, ThreadSettings } from './thread-protocol.js';

const settings = workerData as ThreadSettings;
const port = parentPort!;
let poller: StorePoller;
try {
  poller = new StorePoller(settings.dbPath, settings.session, settings.claimsEveryMs);
} catch (err) {
  port.postMessage({ type: 'failed', message: (err as Error).message });
  process.exit(0);
}
const loop = new SourceLoop(poller, (frame) => port.postMessage({ type: 'frame', frame }), Date.now, settings.frameMs, true);
const timer = settings.pollMs > 0 ? setInterval(() => loop.tick(), settings.pollMs) : null;

port.on('message', (m: ThreadMessage) => {
  try {
    if (m.type === 'query') loop.query(m.query);
    else if (m.type === 'changed') loop.tick();
    else if (m.type === 'export' || m.type === 'report') void writeOutput(m);
    else if (m.type === 'close') {
      if (timer) clearInterval(timer);
      poller.close();
      port.close();
    }
  } catch (err) {
    port.postMessage({ type: 'failed', message: (err as Error).message, id: 'id' in m ? m.id : undefined });
  }
});

/**
 * `e` (a flow's evidence) and `r` (a report folder): their writers (pcapng, the report's formats)
 * are loaded on the first such key, not by every dashboard (less memory on this thread).
 */
async function writeOutput(m: Extract<ThreadMessage, { type: 'export' | 'report' }>): Promise<void> {
  try {
    const { writeFlowEvidence, writeSessionReport } = await import('./outputs.js');
    const text = m.type === 'export' ? writeFlowEvidence(poller, m.flowId, settings.outDir) : writeSessionReport(poller, settings.outDir);
    port.postMessage({ type: 'done', id: m.id, text });
  } catch (err) {
    port.postMessage({ type: 'failed', message: (err as Error).message, id: m.id });
  }
}
