import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { interfacesDown } from '../capture/interface-state.js';
import { watchOllamaHere } from '../exposure/listeners.js';
import { startLiveEngine } from '../live/engine.js';
import { UserError } from '../errors.js';
import { captureUntilStopped } from './daemon-command.js';
import { visible } from '../text/visible.js';
import { DEFAULTS } from '../settings.js';

export interface VerifyLiveOptions {
  /** Capture for this many seconds. */
  duration?: number;
  /** Capture while this shell command runs, plus `grace` seconds after it exits. */
  exercise?: string;
  grace?: number;
  interface?: string[];
  filter?: string;
  /** Store processes' command lines verbatim (see DaemonOptions.keepCmdline). */
  keepCmdline?: boolean;
}

/** What a live verify saw besides the packets: read while it captured. */
export interface LiveWatch {
  sessionId: number;
  /** An Ollama server/runner/app seen in /proc during the window (`ollama (pid 12, server)`), or null. */
  ollamaSeen: string | null;
  /** Captured interfaces that could not carry packets at the end of the window. */
  interfacesDown: string[];
}

/**
 * The live part of `verify`: the live engine (as the daemon runs it) for --duration, or for as long as --exercise
 * runs plus a grace period (so late connections the command caused are still seen). Returns the
 * session id, whether an Ollama server/runner/app ran in this namespace (sampled at the start,
 * every second and at the end), and which captured interfaces were down at the end. The
 * exercised command's output goes to stderr, so `--json` stays parseable.
 */
export async function captureLive(dbPath: string, live: VerifyLiveOptions, tempDir: string | null): Promise<LiveWatch> {
  if (live.duration === undefined && live.exercise === undefined) throw new UserError('a live verify needs --duration or --exercise');
  const ollama = watchOllamaHere();
  const engine = startLiveEngine({
    db: dbPath,
    interface: live.interface,
    filter: live.filter,
    keepCmdline: live.keepCmdline,
    evidenceDir: tempDir ? join(tempDir, 'evidence') : undefined,
  });
  // Sampled at the start, every second and at the end.
  ollama.sample();
  engine.on('second', () => ollama.sample());
  const until = live.exercise === undefined ? undefined : exercise(live.exercise, live.grace ?? DEFAULTS.exerciseGraceS);
  await captureUntilStopped(engine, { duration: live.duration, until }, (line) => process.stderr.write(`${line}\n`));
  ollama.sample();
  return { sessionId: engine.sessionId, ollamaSeen: ollama.seen(), interfacesDown: interfacesDown(live.interface?.length ? live.interface : DEFAULTS.interfaces) };
}

/** Runs `command` with its output on stderr; settles `grace` seconds after it exits (or at once if it cannot run). */
function exercise(command: string, grace: number): Promise<void> {
  return new Promise<void>((done) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 2, 2] });
    child.on('exit', (code, signal) => {
      process.stderr.write(`ollama-audit: exercised command ended (${signal ?? `exit ${code}`}); capturing ${grace} s more\n`);
      setTimeout(done, grace * 1000);
    });
    child.on('error', (err) => {
      process.stderr.write(`ollama-audit: could not run --exercise command: ${visible(err.message)}\n`);
      done();
    });
  });
}
