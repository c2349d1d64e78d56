/**
 * `--attribution auto|ebpf|procfs`: whether a live session adds kernel socket events (bpftrace) to
 * procfs, decided at start and recorded in the session (coverage reports it).
 * - procfs: /proc only; a connection gone before its first packet is read stays unattributed.
 * - ebpf: kernel events are required; if they cannot be had the session stops with why.
 * - auto: kernel events when root, bpftrace is installed and its probes attach in time; else
 *   procfs with a warning that says why.
 * Capture does not wait for bpftrace: until its probes are attached (about a second, much longer
 * on a loaded machine) procfs alone answers, and the session records from when the events were on
 * (kernel_events_since_us). auto says so once bpftrace is slow (noticeAfterMs) and keeps waiting up
 * to attachTimeoutMs: under a flood bpftrace took longer than 2 s in about half the runs, and
 * giving up then lost kernel events for the whole session.
 */
import { onPath } from '../../../capture/os/on-path.js';
import { startKernelEvents, type KernelEventSource } from './bpftrace-source.js';
import { createKernelEventIndex, type KernelEventIndex } from './kernel-event-index.js';
import type { LsofLookupRecord } from '../darwin/lsof-attributor.js';
import type { AttributionMode } from '../../../settings.js';

/** What a session records of its attribution (sessions.attribution, JSON). */
export interface AttributionRecord {
  /**
   * 'kernel-events+procfs' while bpftrace's probes are attached, else 'procfs'; 'pktap' on macOS
   * (each packet names its process); 'lsof' on macOS without pktap (not root, no tcpdump: lookups
   * of each new flow's sockets, lower confidence; why_not says why pktap was not used); 'replay': a
   * capture file replayed (`demo --watch`), its packets naming their processes as the file does.
   */
  method: 'kernel-events+procfs' | 'procfs' | 'pktap' | 'lsof' | 'replay';
  mode: AttributionMode;
  /** µs since the epoch when kernel events first began; null when they never did. */
  kernel_events_since_us: number | null;
  /** Why kernel events are not on (auto's fallback, auto still waiting for a slow bpftrace, or a bpftrace that ended); null when they are or were not asked for. */
  why_not: string | null;
  /** Events the kernel's buffer lost (a sender of one of them may be unnamed). */
  kernel_events_lost: number;
  /** Windows (µs) after kernel events began when they were off (bpftrace ended and was restarting); end null: still off. */
  kernel_event_gaps: { start_us: number; end_us: number | null }[];
  /** method 'lsof': its runs, flows it found no socket of, flows never looked up, and why lsof could not run. */
  lsof?: LsofLookupRecord;
}

export interface KernelAttribution {
  /** Handed to the procfs attributor; null when kernel events were not asked for. */
  readonly index: KernelEventIndex | null;
  record(): AttributionRecord;
  stop(): Promise<void>;
}

export interface KernelAttributionOptions {
  mode: AttributionMode;
  bpftrace: string;
  tracefsDir: string;
  attachTimeoutMs: number;
  /**
   * auto: when bpftrace has not attached after this many ms, say that procfs alone answers until it
   * does; it is still waited for up to attachTimeoutMs.
   */
  noticeAfterMs?: number;
  /** auto fell back to procfs, or bpftrace ended or warned during the session: one sentence for the user. */
  onWarning(text: string): void;
  /** ebpf mode: kernel events cannot be had; the session must stop. */
  onRequiredFailed(why: string): void;
}

/** After bpftrace ends during a session: wait this long before starting it again, doubling up to the last. */
const RESTART_BACKOFF_MS = [1000, 2000, 4000, 8000, 16_000, 30_000];

/**
 * auto's notice that bpftrace is slow to attach: after noticeAfterMs, while `waiting()`, one
 * warning, and the session's why_not says what it waits for until the probes attach or it gives up.
 */
function waitNotice(opts: KernelAttributionOptions, waiting: () => boolean, setWhy: (why: string) => void): { given(): boolean; cancel(): void } {
  let given = false;
  if (opts.mode !== 'auto' || opts.noticeAfterMs === undefined || opts.noticeAfterMs >= opts.attachTimeoutMs) return { given: () => false, cancel: () => {} };
  const timer = setTimeout(() => {
    if (!waiting()) return;
    given = true;
    const why = `bpftrace had not attached its probes ${opts.noticeAfterMs! / 1000} s after the start (waiting up to ${opts.attachTimeoutMs / 1000} s)`;
    setWhy(why);
    opts.onWarning(`attribution from procfs only until kernel socket events are on: ${why}; connections shorter than a /proc scan may stay unattributed meanwhile`);
  }, opts.noticeAfterMs);
  timer.unref();
  return { given: () => given, cancel: () => clearTimeout(timer) };
}

/**
 * Why kernel events cannot even be tried here, or null. Checked before a capture starts, so
 * `--attribution ebpf` on a machine without them is refused at once.
 */
export function cannotTry(bpftrace: string): string | null {
  if (process.platform !== 'linux') return 'kernel socket events are a Linux feature';
  if (process.getuid?.() !== 0) return 'bpftrace needs root';
  if (!onPath(bpftrace)) return `${bpftrace} is not installed (Debian/Ubuntu: apt-get install bpftrace)`;
  return null;
}

/**
 * Starts kernel events in the background as the mode asks; never throws, never delays the
 * capture. A bpftrace that ends during the session is started again (with backoff); the time
 * without it is recorded as a gap.
 */
export function startKernelAttribution(opts: KernelAttributionOptions): KernelAttribution {
  const rec: AttributionRecord = {
    method: 'procfs', mode: opts.mode, kernel_events_since_us: null, why_not: null, kernel_events_lost: 0, kernel_event_gaps: [],
  };
  if (opts.mode === 'procfs') return { index: null, record: () => ({ ...rec }), stop: async () => {} };
  // The index exists from the start so the attributor can be built before bpftrace is up.
  const index = createKernelEventIndex();
  let source: KernelEventSource | null = null;
  let lostBefore = 0;
  let stopped = false;
  let restarts = 0;
  let restartTimer: NodeJS.Timeout | null = null;
  const startedAt = Date.now();
  const notice = waitNotice(opts, () => source === null && rec.why_not === null && !stopped, (why) => { rec.why_not = why; });

  const start = (): void => {
    const why = cannotTry(opts.bpftrace);
    const ready = why === null
      ? startKernelEvents({
        bpftrace: opts.bpftrace, tracefsDir: opts.tracefsDir, attachTimeoutMs: opts.attachTimeoutMs, index,
        onExit: ended, onStderr: (line) => opts.onWarning(`bpftrace: ${line}`),
      })
      : Promise.reject(new Error(why));
    ready.then(attached, (err: Error) => (rec.kernel_events_since_us === null ? failedAtStart(err.message) : retry(err.message)));
  };

  const attached = (s: KernelEventSource): void => {
    if (stopped) return void s.stop();
    source = s;
    rec.method = 'kernel-events+procfs';
    rec.why_not = null;
    const now = Date.now() * 1000;
    if (rec.kernel_events_since_us === null && notice.given()) {
      opts.onWarning(`kernel socket events are on, ${((Date.now() - startedAt) / 1000).toFixed(1)} s after the start: procfs alone answered until then`);
    }
    notice.cancel();
    rec.kernel_events_since_us ??= now;
    const gap = rec.kernel_event_gaps.at(-1);
    if (gap && gap.end_us === null) {
      gap.end_us = now;
      opts.onWarning('kernel socket events are on again');
    }
  };

  const failedAtStart = (why: string): void => {
    notice.cancel();
    rec.why_not = why;
    if (opts.mode === 'ebpf') opts.onRequiredFailed(`--attribution ebpf: ${why}`);
    else opts.onWarning(`attribution from procfs only: ${why}; connections shorter than a /proc scan may stay unattributed (--attribution procfs silences this)`);
  };

  function ended(why: string): void {
    if (source) lostBefore += source.stats().lost;
    source = null;
    rec.method = 'procfs';
    rec.why_not = why;
    rec.kernel_event_gaps.push({ start_us: Date.now() * 1000, end_us: null });
    opts.onWarning(`kernel socket events stopped (${why}): attribution from procfs only until bpftrace is running again (recorded as a gap)`);
    retry(why);
  }

  function retry(why: string): void {
    rec.why_not = why;
    if (stopped) return;
    const wait = RESTART_BACKOFF_MS[Math.min(restarts++, RESTART_BACKOFF_MS.length - 1)]!;
    restartTimer = setTimeout(start, wait);
    restartTimer.unref();
  }

  start();
  return {
    index,
    record: () => ({ ...rec, kernel_event_gaps: rec.kernel_event_gaps.map((g) => ({ ...g })), kernel_events_lost: lostBefore + (source?.stats().lost ?? 0) }),
    async stop() {
      stopped = true;
      notice.cancel();
      if (restartTimer) clearTimeout(restartTimer);
      await source?.stop();
    },
  };
}
