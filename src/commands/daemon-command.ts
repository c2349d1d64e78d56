import { clockUtc, startLiveEngine, type LiveEngine, type LiveSettings, type LiveStarted, type LiveSummary } from '../live/engine.js';
import { formatPercent } from '../text/format-values.js';
import { EXIT_OK, EXIT_USAGE } from '../errors.js';
import { visible } from '../text/visible.js';
import { resolveDbPath } from '../settings.js';
import { listenMetrics } from '../metrics/metrics-server.js';
import { watchEngine } from '../metrics/live-metrics.js';

/**
 * `daemon`: the live engine (src/live/engine.ts) until SIGINT/SIGTERM (or --duration), its
 * warnings and final summary on stderr. A store error stops it: thrown, printed as one line, exit 2.
 */
export interface DaemonOptions extends LiveSettings {
  /** Stop after this many seconds (otherwise at SIGINT/SIGTERM). */
  duration?: number;
}

export async function runDaemon(opts: DaemonOptions, log: Log = (l) => process.stderr.write(`${visible(l)}\n`)): Promise<number> {
  // Bound before capture starts: a port in use stops the daemon at once (exit 2), not after it began.
  const metrics = opts.metrics ? await listenMetrics(opts.metrics) : null;
  try {
    const engine = startLiveEngine(opts);
    if (metrics) {
      metrics.serve(watchEngine(engine, resolveDbPath(opts.db)).render);
      log(`ollama-audit: metrics at http://${metrics.address}/metrics`);
    }
    const summary = await captureUntilStopped(engine, { duration: opts.duration }, log);
    // Rows were lost: the run did not do what it was asked, although what it stored is sound.
    return summary.stored.gaps.length > 0 ? EXIT_USAGE : EXIT_OK;
  } finally {
    await metrics?.close();
  }
}

type Log = (line: string) => void;

/**
 * Prints what the engine says and stops it at SIGINT/SIGTERM, after `duration` seconds or when
 * `until` settles. Resolves with its summary once the session is ended; throws its store error.
 */
export async function captureUntilStopped(engine: LiveEngine, when: { duration?: number; until?: Promise<unknown> }, log: Log): Promise<LiveSummary> {
  engine.on('started', (s) => log(startedLine(s)));
  engine.on('warning', (w) => log(`ollama-audit: ${w}`));
  const stop = () => void engine.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const durationTimer = when.duration !== undefined ? setTimeout(stop, when.duration * 1000) : null;
  when.until?.then(stop, stop);
  const summary = await new Promise<LiveSummary>((resolve) => engine.on('stopped', resolve));
  if (durationTimer) clearTimeout(durationTimer);
  process.removeListener('SIGINT', stop);
  process.removeListener('SIGTERM', stop);
  if (summary.error) throw summary.error;
  log(stoppedLine(summary));
  return summary;
}

function startedLine(s: LiveStarted): string {
  const evidence = s.evidence === 'none' ? 'none' : `${s.evidence} in ${s.evidenceDir}`;
  return `ollama-audit: capturing on ${s.interfaces}${s.filter ? ` (filter: ${s.filter})` : ''} into ${s.dbPath}, session ${s.sessionId}; evidence: ${evidence}; stop with Ctrl-C or SIGTERM`;
}

export function stoppedLine(s: LiveSummary): string {
  const loss = s.lossEstimate === null ? 'unknown' : formatPercent(s.lossEstimate);
  return `ollama-audit: stopped: ${s.packets} packets, ${s.flows} flows (${s.ollamaFlows} Ollama, ${s.unattributed} unattributed), kernel drops ${s.kernelDrops ?? 'unknown'}${s.shed > 0 ? `, ${s.shed} packets shed to keep up (counted as drops)` : ''}, estimated loss ${loss}${unwrittenText(s)}${storedText(s)}`;
}

/** Flows the stop deadline left unwritten: said, because claims over the session cannot hold. */
function unwrittenText(s: LiveSummary): string {
  if (s.unwrittenAtStop === 0) return '';
  return `; stopping within 2 s left ${s.unwrittenAtStop} flows without their latest counters in the store (recorded in session ${s.sessionId} as unwritten_at_stop: claims over it cannot hold)`;
}

/** When the store was full: what was and was not stored, and when ("12 flows stored, 30 flows not stored (disk full from … to …)"). */
function storedText(s: LiveSummary): string {
  const { stored } = s;
  if (stored.gaps.length === 0) return '';
  const windows = stored.gaps.map((g, i) => `from ${clockUtc(g.start_us)} to ${i === stored.gaps.length - 1 && !s.ended ? 'the end' : clockUtc(g.end_us)}`).join(', ');
  const records = stored.recordsNotStored > 0 ? `, ${stored.recordsNotStored} DNS/HTTP records not stored` : '';
  const incomplete = stored.flowsIncomplete > 0 ? ` (${stored.flowsIncomplete} of them without their last changes)` : '';
  const ended = s.ended
    ? `; the gap is recorded in session ${s.sessionId}, and claims over it cannot hold`
    : `; the store was still full at the end: session ${s.sessionId} could not be marked ended (free space; \`sessions\` lists it)`;
  return `; ${stored.flows} flows stored${incomplete}, ${stored.flowsNotStored} flows not stored${records} (disk full ${windows})${ended}`;
}
