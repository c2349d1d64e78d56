/**
 * The three ways `watch` shows a store: the dashboard (a TTY both ways: ink, the data thread),
 * lines (not a TTY: one summary line or JSON object per second), and once (one screen as text).
 * Ink and React are imported here only, dynamically, after the environment is prepared (terminal.ts);
 * ink through ui/load-ink.ts (without es-toolkit's barrel).
 * The data side run on this thread (loop-source.ts: the store's reader, the claims engine) is
 * imported only by the lines and once: the dashboard's UI thread leaves it to the data thread.
 */
import { DEFAULTS } from '../settings.js';
import { UserError } from '../errors.js';
import type { DataSource, Frame, FrameQuery } from './data/frame.js';
import type { LoopSource } from './data/loop-source.js';
import { startThreadSource, type ThreadSource } from './data/thread-source.js';
import { frameQueryOf, initialUiState } from './state/ui-state.js';
import { summaryJson, summaryLine } from './summary-line.js';
import { enterAlternateScreen, prepareEnvironment } from './terminal.js';
import { keepYoungGenerationSmall } from './ui-heap.js';

export interface StoreTarget {
  dbPath: string;
  session?: number;
  /** Where `e` and `r` write. */
  outDir: string;
  /** The in-process engine nudges the data side after each written second instead of polling. */
  nudge?: (changed: () => void) => void;
  /** Start with closed flows shown (default: only for a finished session). A replay's flows close within seconds. */
  showClosed?: boolean;
  /** Claims evaluated again at most this often (default DEFAULTS.watch.claimsEveryMs). */
  claimsEveryMs?: number;
  /** The in-process source has ended (a replayed file, all written): lines mode prints the final state once more (not when it had ended before the first line) and returns. */
  ended?: Promise<unknown>;
}

/** The dashboard's first frame, from the data thread. */
function nextFrame(src: DataSource, q: FrameQuery): Promise<Frame> {
  return new Promise((resolve) => { src.onFrame(resolve); src.query(q); });
}

/** A frame of an in-process source (it answers a query synchronously). */
function frameNow(src: LoopSource, q: FrameQuery): Frame {
  let frame: Frame | null = null;
  src.onFrameOnce((f) => { frame = f; });
  src.query(q);
  return frame!;
}

const LINE_QUERY = (closed: boolean): FrameQuery => frameQueryOf({ ...initialUiState(closed) }, 1);

/** --once: one screen as text at the terminal's size (120×40 when not a terminal). */
export async function runOnce(t: StoreTarget, json: boolean, out: NodeJS.WriteStream): Promise<void> {
  const noColor = prepareEnvironment() || !out.isTTY;
  const { loopSource } = await import('./data/loop-source.js');
  const src = loopSource({ dbPath: t.dbPath, session: t.session, outDir: t.outDir, claimsEveryMs: 0 });
  try {
    const columns = out.isTTY ? out.columns : 120;
    const rows = out.isTTY ? out.rows : 40;
    const [{ createElement: h }, { renderToString }, { Screen }, { layoutOf }] = await Promise.all([import('react'), import('./ui/load-ink.js').then((m) => m.ink), import('./ui/screen.js'), import('./ui/layout.js')]);
    const first = frameNow(src, LINE_QUERY(true));
    if (json) { out.write(`${summaryJson(first)}\n`); return; }
    const ui = initialUiState(!first.header.live);
    const frame = frameNow(src, frameQueryOf(ui, layoutOf(columns, rows, first.claims.length)?.tableRows ?? 1));
    out.write(`${renderToString(h(Screen, { frame, ui, columns, rows, noColor, notice: null }), { columns })}\n`);
  } finally {
    await src.close();
  }
}

/** Not a terminal: a line (or JSON object) per second until `stopped` settles. */
export async function runLines(t: StoreTarget, json: boolean, out: NodeJS.WritableStream, stopped: Promise<unknown>): Promise<void> {
  // Whether the source had ended before the first line: that line is then already the final state.
  let endedFirst = false;
  void t.ended?.then(() => { endedFirst = true; }, () => undefined);
  const { loopSource } = await import('./data/loop-source.js');
  const sourceOf = () => loopSource({ dbPath: t.dbPath, session: t.session, outDir: t.outDir, claimsEveryMs: t.claimsEveryMs ?? DEFAULTS.watch.claimsEveryMs, frameMs: 0 });
  const src = sourceOf();
  let closed: boolean | null = t.showClosed ?? null;
  const once = (s: LoopSource) => {
    s.tick();
    const f = frameNow(s, LINE_QUERY(closed ?? true));
    closed ??= !f.header.live;
    out.write(`${json ? summaryJson(f) : summaryLine(f)}\n`);
  };
  once(src);
  if (endedFirst) return src.close();
  const timer = setInterval(() => once(src), DEFAULTS.watch.lineMs);
  try {
    // The end first: when a signal and the end come together, the final state is still printed.
    const why = await Promise.race([...(t.ended ? [t.ended.then(() => 'ended')] : []), stopped.then(() => 'stopped')]);
    if (why === 'ended') {
      // The final state, read afresh: its claims judged on all of it (no interval left over from the last line).
      const last = sourceOf();
      try { once(last); } finally { await last.close(); }
    }
  } finally {
    clearInterval(timer);
    await src.close();
  }
}

/** The dashboard until `q` (or a signal): resolves once the screen is restored. */
export async function runDashboard(t: StoreTarget, stdout: NodeJS.WriteStream, stdin: NodeJS.ReadStream): Promise<void> {
  keepYoungGenerationSmall();
  const noColor = prepareEnvironment();
  const [{ createElement: h }, { render }, { WatchApp }] = await Promise.all([import('react'), import('./ui/load-ink.js').then((m) => m.ink), import('./ui/app.js')]);
  const errors: string[] = [];
  const src: ThreadSource = startThreadSource({
    dbPath: t.dbPath, session: t.session, outDir: t.outDir, pollMs: t.nudge ? 0 : DEFAULTS.watch.pollMs,
    frameMs: DEFAULTS.watch.frameMs, claimsEveryMs: t.claimsEveryMs ?? DEFAULTS.watch.claimsEveryMs,
  }, (m) => { errors.push(m); quit(); });
  t.nudge?.(() => src.changed());
  let quit: () => void = () => undefined;
  const done = new Promise<void>((resolve) => { quit = resolve; });
  const leave = enterAlternateScreen(stdout, () => quit());
  const first = await nextFrameOrError(src, done);
  // Once more: a Worker's start puts V8's flags back (measured on Node 20: the growth factor is 2
  // again once the data thread runs, and this thread's young generation grew to 32 MB in the test).
  // The data thread has run by its first frame.
  keepYoungGenerationSmall();
  const app = render(h(WatchApp, { source: src, noColor, closed: t.showClosed ?? (first !== null && !first.header.live), onQuit: () => quit() }), {
    stdout, stdin, exitOnCtrlC: false, patchConsole: false,
  });
  try {
    await done;
  } finally {
    app.unmount();
    app.cleanup();
    leave();
    await src.close();
  }
  if (errors.length) throw new UserError(errors[0]);
}

/** The session's first frame (to know whether it is finished), or null when the data thread failed first. */
function nextFrameOrError(src: DataSource, failed: Promise<void>): Promise<Frame | null> {
  return Promise.race([nextFrame(src, LINE_QUERY(true)), failed.then(() => null)]);
}
