/**
 * Runs bpftrace with the fixed program of kernel-events.ts and feeds its lines into a
 * KernelEventIndex. Started once per live session; if it cannot start (no root, no bpftrace, a
 * probe that does not attach in time) the caller falls back to procfs and says why.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { BPFTRACE_PROGRAM, parseKernelEvent } from './kernel-events.js';
import type { KernelEventIndex } from './kernel-event-index.js';

export interface KernelEventStats {
  /** Events read from bpftrace. */
  events: number;
  /** Events the kernel's perf buffer lost before bpftrace read them (bpftrace's "Lost N events"). */
  lost: number;
}

export interface KernelEventSource {
  stats(): KernelEventStats;
  /** Ends bpftrace (it detaches every probe); resolves when it has exited. */
  stop(): Promise<void>;
}

export interface KernelEventOptions {
  /** The bpftrace program to run (default: `bpftrace` on PATH). */
  bpftrace: string;
  /** Give up when the probes are not attached within this many ms. */
  attachTimeoutMs: number;
  /** Where tracefs is (or is mounted when missing). */
  tracefsDir: string;
  /** Where the events go. */
  index: KernelEventIndex;
  /** bpftrace ended while the session ran. */
  onExit(why: string): void;
  /** A line bpftrace wrote to stderr after it started (warnings worth passing on). */
  onStderr(line: string): void;
}

/** Ends the shell and bpftrace together (one process group). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

const STOP_GRACE_MS = 1000;
/**
 * bpftrace must not outlive the daemon, whichever way the daemon ends (SIGKILL and crashes too,
 * which run no code of ours). A pipe does it: this shell starts bpftrace and a watcher that reads
 * the shell's stdin, the write end of which only the daemon holds. When the daemon ends, for any
 * reason, the kernel closes that end, the watcher's read sees EOF and it stops bpftrace (SIGTERM:
 * a background job ignores SIGINT; the kernel detaches the probes when their last fd closes).
 * The shell itself waits for bpftrace, so its exit (and our pipes' EOF) follows bpftrace's death
 * too. The watcher reads a copy (fd 3) of stdin, since a background job's own stdin is /dev/null,
 * and keeps none of our output pipes open. "$@" is bpftrace and its arguments.
 */
const GUARD = 'exec 3<&0; "$@" & b=$!; (cat <&3 >/dev/null 2>&1; kill -TERM "$b" 2>/dev/null) >/dev/null 2>&1 & exec 3<&-; wait "$b"';
/** Lines bpftrace prints that are no error: it loads with this warning on machines with a low memlock limit. */
const HARMLESS = /RLIMIT_MEMLOCK|^Attaching \d+ probes/;

/** Tracepoints need tracefs; mount it when missing (root can). Returns why it cannot be had, or null. */
export function ensureTracefs(dir: string): string | null {
  if (existsSync(`${dir}/events`)) return null;
  const r = spawnSync('mount', ['-t', 'tracefs', 'nodev', dir], { encoding: 'utf8' });
  if (existsSync(`${dir}/events`)) return null;
  return `tracefs is not mounted at ${dir} and mounting it failed (${(r.stderr || r.error?.message || `exit ${r.status}`).trim()})`;
}

/**
 * The line that says why bpftrace failed. bpftrace 0.17 prints its memlock warning as an "ERROR"
 * line first even when something else stops it (a unit without the right capabilities: "Unknown
 * struct/union"), so the harmless lines are passed over.
 */
function errorOf(stderr: string[], fallback: string): string {
  const line = stderr.find((l) => /ERROR/.test(l) && !HARMLESS.test(l)) ?? stderr.find((l) => !HARMLESS.test(l));
  return line ? `bpftrace: ${line.trim()}` : fallback;
}

/** Starts bpftrace; rejects with an Error whose message says, in one line, why kernel events are not available. */
export function startKernelEvents(opts: KernelEventOptions): Promise<KernelEventSource> {
  const tracefsProblem = ensureTracefs(opts.tracefsDir);
  if (tracefsProblem) return Promise.reject(new Error(tracefsProblem));
  const { index } = opts;
  const stats: KernelEventStats = { events: 0, lost: 0 };
  const stderr: string[] = [];
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', GUARD, 'sh', opts.bpftrace, '-B', 'line', '-e', BPFTRACE_PROGRAM], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C meant for the daemon reaches bpftrace only through us.
      detached: true,
      // The UDP de-duplication map, cleared every 10 s: room for a busy resolver's sockets and peers.
      env: { ...process.env, BPFTRACE_MAP_KEYS_MAX: '65536' },
    });
  } catch (err) {
    return Promise.reject(new Error(`cannot run ${opts.bpftrace}: ${(err as Error).message}`));
  }
  let ready = false;
  let stopping = false;
  let exited = false;
  const exitedP = new Promise<void>((resolve) => child.once('close', () => {
    exited = true;
    child.stdin!.destroy(); // ends the watcher of a bpftrace that died on its own
    resolve();
  }));

  const countLost = (line: string): void => {
    const m = /Lost (\d+) events/.exec(line);
    if (m) stats.lost += Number(m[1]);
  };
  child.stdin!.on('error', () => {}); // EPIPE once the shell is gone: nothing to tell
  createInterface({ input: child.stderr! }).on('line', (line) => {
    countLost(line);
    if (stderr.length < 20) stderr.push(line);
    if (ready && !HARMLESS.test(line) && !/Lost \d+ events/.test(line)) opts.onStderr(line);
  });

  return new Promise<KernelEventSource>((resolve, reject) => {
    const source: KernelEventSource = {
      stats: () => ({ ...stats }),
      async stop() {
        if (exited) return;
        stopping = true;
        child.stdin!.end();
        const t = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_GRACE_MS);
        await exitedP;
        clearTimeout(t);
      },
    };
    const timer = setTimeout(() => {
      if (ready) return;
      killGroup(child, 'SIGKILL');
      reject(new Error(`bpftrace did not attach its probes within ${opts.attachTimeoutMs} ms`));
    }, opts.attachTimeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const e = parseKernelEvent(line);
      if (e) {
        stats.events++;
        index.add(e);
      } else if (line === 'R ready' && !ready) {
        ready = true;
        clearTimeout(timer);
        resolve(source);
      } else countLost(line);
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${opts.bpftrace}: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const why = errorOf(stderr, `bpftrace exited (${signal ?? `code ${code}`})`);
      if (!ready) reject(new Error(why));
      else if (!stopping) opts.onExit(why);
    });
  });
}
