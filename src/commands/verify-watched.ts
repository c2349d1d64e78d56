import { loadSessionFacts } from '../claims/session-facts.js';
import { ollamaRanEvidence } from '../claims/ollama-ran.js';
import type { Db } from '../store/open-db.js';
import type { VerifyOfflineOptions } from './verify-command.js';
import type { LiveWatch } from './verify-live.js';

/** Whether the check watched anything: Ollama running, and a capture able to see traffic. */
export interface Watched {
  ollama_ran: boolean;
  /** What showed it (a process seen in /proc, a flow), or null. */
  ollama_evidence: string | null;
  /** --allow-idle was given: Ollama not running is accepted. */
  allow_idle: boolean;
  /** What was missing for a verdict of `silent`, one sentence each; empty when nothing was. */
  missing: string[];
}

/**
 * Ollama ran during the window: a flow shows it (ollama-ran.ts), or a live verify saw its server,
 * runner or app in /proc in this network namespace. The capture could see traffic: it holds
 * packets, or (live) every captured interface was up.
 */
export function watchedDuring(db: Db, sessions: number[], live: LiveWatch | null, opts: VerifyOfflineOptions): Watched {
  let evidence = live?.ollamaSeen ? `${live.ollamaSeen} was running` : null;
  const missing: string[] = [];
  const empty: string[] = [];
  for (const id of sessions) {
    const facts = loadSessionFacts(db, id);
    if (!facts) continue;
    const rows = facts.rows;
    evidence ??= ollamaRanEvidence(facts);
    if (rows.session.packets === 0 && (live === null || live.interfacesDown.length > 0)) empty.push(id === live?.sessionId ? 'the live capture' : `session ${id} (${rows.session.source})`);
  }
  if (empty.length > 0) {
    const down = live && live.interfacesDown.length > 0 ? ` on ${live.interfacesDown.join(', ')}` : '';
    missing.push(`${empty.join(', ')} saw 0 packets${down}: nothing shows the capture could see traffic (capture on an interface that is up, -i)`);
  }
  if (evidence === null && !opts.allowIdle) missing.push(idleText(live, opts));
  return { ollama_ran: evidence !== null, ollama_evidence: evidence, allow_idle: opts.allowIdle === true, missing };
}

function idleText(live: LiveWatch | null, opts: VerifyOfflineOptions): string {
  const what = 'no Ollama server, runner or app process, no Ollama flow';
  if (live) {
    const window = opts.live?.duration !== undefined ? `the ${opts.live.duration} s window` : 'the capture window';
    return `Ollama was not running during ${window} (${what}): start it, or pass --allow-idle to accept an idle check`;
  }
  const source = opts.pcap?.length ? opts.pcap.join(', ') : 'the judged sessions';
  return `${source} shows no sign of Ollama running (${what}, no answered API connection): capture while it runs, or pass --allow-idle to accept an idle check`;
}
