/**
 * The terminal around ink 6.8: the environment mapped before ink and React load (`CI` would make it print
 * frames instead of redrawing them; `NO_COLOR` becomes FORCE_COLOR=0 for its color library), the
 * alternate screen entered and always left (quit, signals, a crash), the cursor hidden meanwhile.
 */
import { EXIT_USAGE, isUserFacing } from '../errors.js';
import { visible } from '../text/visible.js';

const ENTER = '\x1b[?1049h\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';

/** True when NO_COLOR asks for no color (any non-empty value, no-color.org). */
export function prepareEnvironment(env: NodeJS.ProcessEnv = process.env): boolean {
  // React's production build: its development build checks every render and costs several times
  // the CPU per frame. Read when React first loads, which is after this (run-modes.ts imports it).
  env.NODE_ENV ??= 'production';
  delete env.CI;
  delete env.CONTINUOUS_INTEGRATION;
  const noColor = (env.NO_COLOR ?? '') !== '';
  if (noColor) env.FORCE_COLOR = '0';
  return noColor;
}

/** Enters the alternate screen; the returned function leaves it (once, whatever calls it first). */
export function enterAlternateScreen(out: NodeJS.WriteStream, onSignal: () => void): () => void {
  let left = false;
  const leave = () => {
    if (left) return;
    left = true;
    out.write(LEAVE);
    for (const s of SIGNALS) process.removeListener(s, onSignal);
    process.removeListener('exit', leave);
    process.removeListener('uncaughtException', crash);
  };
  const crash = (err: Error) => {
    leave();
    // A store or input problem is one line and exit 2, as everywhere; anything else is a bug: its stack.
    if (isUserFacing(err as unknown)) {
      process.stderr.write(`ollama-audit: ${visible(err.message)}\n`);
      process.exit(EXIT_USAGE);
    }
    process.stderr.write(`ollama-audit watch: internal error: ${err.stack ?? err.message}\n`);
    process.exit(70);
  };
  out.write(ENTER);
  for (const s of SIGNALS) process.on(s, onSignal);
  process.on('exit', leave);
  process.on('uncaughtException', crash);
  return leave;
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
