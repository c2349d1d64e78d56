/**
 * The dashboard's data thread: holds the store's read-only connection and the merged state, so a
 * read or a claims evaluation never stalls drawing or keys. Messages in: `query` (the UI's
 * choices), `changed` (the in-process engine wrote a second), `export`/`report`, `close`.
 * Messages out: `frame`, `done` (an export's or report's answer), `failed` (a one-line reason).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { StorePoller } from './store-poller.js';
import { SourceLoop } from './source-loop.js';
import { writeFlowEvidence, writeSessionReport } from './outputs.js';
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
    else if (m.type === 'export') port.postMessage({ type: 'done', id: m.id, text: writeFlowEvidence(poller, m.flowId, settings.outDir) });
    else if (m.type === 'report') port.postMessage({ type: 'done', id: m.id, text: writeSessionReport(poller, settings.outDir) });
    else if (m.type === 'close') {
      if (timer) clearInterval(timer);
      poller.close();
      port.close();
    }
  } catch (err) {
    port.postMessage({ type: 'failed', message: (err as Error).message, id: 'id' in m ? m.id : undefined });
  }
});
