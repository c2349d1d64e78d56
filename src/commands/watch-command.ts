/**
 * `watch`: attaches to a store (--db: a daemon's, read-only, no privileges; or a finished session)
 * or captures in-process through the live engine (root or CAP_NET_RAW), and shows it: the
 * dashboard on a terminal, one line (or JSON object) per second otherwise, one screen with --once.
 */
import { openDb } from '../store/open-db.js';
import { DEFAULTS, resolveDbPath, settingsFromOptions, type DaemonOptionValues } from '../settings.js';
import { EXIT_OK, EXIT_USAGE, UserError } from '../errors.js';
import type { LiveEngine, LiveSummary } from '../live/engine.js';
import { visible } from '../text/visible.js';
import { requireSessions } from './session-check.js';
import { runDashboard, runLines, runOnce, type StoreTarget } from '../watch/run-modes.js';
import { canCapture } from '../capture/os/capture-privilege.js';

export interface WatchOptions extends DaemonOptionValues {
  session?: number;
  once?: boolean;
  json?: boolean;
  /** Where `e` and `r` write (default: the working directory). */
  out?: string;
}

export const NO_SOURCE = 'watch needs either the privilege to capture (run it as root: `sudo ollama-audit watch`; or give node CAP_NET_RAW on Linux, join the access_bpf group on macOS) '
  + 'or a store to attach to without privileges: `ollama-audit watch --db /var/lib/ollama-audit/audit.db` (a running daemon\'s) or `ollama-audit demo --watch`';

/** A signal, the reader of stdout going away, or `ended` (then the listeners are removed all the same). */
function untilSignal(ended?: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeListener(s, stop);
      process.stdout.removeListener('error', stop);
      resolve();
    };
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, stop);
    process.stdout.on('error', stop); // `watch | head`: the reader went away
    void ended?.then(stop, stop);
  });
}

/**
 * What the dashboard shows of an in-process engine: its session, read when it wrote a second
 * (no polling while it runs). Once it stopped (its last write emits no `second`) nothing nudges the
 * data side any more: it is nudged every pollMs as if it polled a finished store, so a frame held
 * back by frameMs and claims held back by their interval still reach the screen.
 */
export function engineTarget(live: LiveEngine, dbPath: string, outDir: string): StoreTarget {
  return {
    dbPath, session: live.sessionId, outDir,
    nudge: (changed) => {
      live.on('second', () => changed());
      live.on('stopped', () => {
        changed();
        setInterval(changed, DEFAULTS.watch.pollMs).unref();
      });
    },
  };
}

/** `captureOptions`: the capture options given on the command line (e.g. `--filter`), which --db cannot use. */
export async function runWatch(opts: WatchOptions, captureOptions: string[] = []): Promise<number> {
  if (captureOptions.includes('--metrics')) throw new UserError('--metrics: watch serves no metrics; run `ollama-audit daemon --metrics ...` for that');
  if (opts.db !== undefined && captureOptions.length) {
    throw new UserError(`${captureOptions.join(', ')}: for capturing in-process; with --db watch only reads the store (the daemon that writes it has its own options): drop ${captureOptions.length === 1 ? 'it' : 'them'}`);
  }
  const outDir = opts.out ?? process.cwd();
  let engine: LiveEngine | null = null;
  let target: StoreTarget;
  if (opts.db !== undefined) {
    const dbPath = resolveDbPath(opts.db);
    // A missing or foreign file, or a --session it does not hold: one line, exit 2, before any drawing.
    const db = openDb(dbPath, { readonly: true });
    try {
      requireSessions(db, opts.session, opts.db);
    } finally {
      db.close();
    }
    target = { dbPath, session: opts.session, outDir };
  } else {
    if (opts.session !== undefined) throw new UserError('--session needs --db: it chooses a session of a store to browse');
    if (!canCapture()) throw new UserError(NO_SOURCE);
    const settings = settingsFromOptions(opts);
    // The engine (capture, decoding, attribution, the store's writer) is loaded only to capture:
    // `watch --db` draws without it (less memory: bench/RESULTS.md, "watch").
    const { startLiveEngine } = await import('../live/engine.js');
    engine = startLiveEngine(settings);
    const live = engine;
    target = engineTarget(live, settings.db, outDir);
    // --duration ends the capture; the dashboard stays on the ended session until q.
    if (settings.duration !== undefined) setTimeout(() => void live.stop(), settings.duration * 1000).unref();
  }
  // What the engine says while the screen is drawn (procfs fallback, evidence stopped, a full
  // store) is printed once the screen is restored, with its stopped line: as `daemon` says them.
  const warnings: string[] = [];
  engine?.on('warning', (w) => warnings.push(w));
  let summary: LiveSummary | null = null;
  try {
    await showStore(target, opts);
  } finally {
    if (engine) summary = await engine.stop();
  }
  if (summary === null) return EXIT_OK;
  for (const w of warnings) process.stderr.write(`ollama-audit: ${visible(w)}\n`);
  if (summary.error) throw summary.error;
  const { stoppedLine } = await import('./daemon-command.js');
  process.stderr.write(`${visible(stoppedLine(summary))}\n`);
  // Rows were lost (a full disk): as `daemon`, exit 2 although what was stored is sound.
  return summary.stored.gaps.length > 0 ? EXIT_USAGE : EXIT_OK;
}

/** Dashboard, lines or once, by the options and whether both ends are terminals. */
export async function showStore(target: StoreTarget, opts: { once?: boolean; json?: boolean }): Promise<void> {
  if (opts.once) return runOnce(target, opts.json === true, process.stdout);
  if (!process.stdout.isTTY || !process.stdin.isTTY || opts.json) return runLines(target, opts.json === true, process.stdout, untilSignal(target.ended));
  return runDashboard(target, process.stdout, process.stdin);
}
