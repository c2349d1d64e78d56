/**
 * `--attribution auto|ebpf|procfs`: whether a live session adds kernel socket events (bpftrace) to
 * procfs, decided at start and recorded in the session (coverage reports it).
 * - procfs: /proc only; a connection gone before its first packet is read stays unattributed.
 * - ebpf: kernel events are required; if they cannot be had the session stops with why.
 * - auto: kernel events when root, bpftrace is installed and its probes attach in time; else
 *   procfs with a warning that says why.
 * Capture does not wait for bpftrace: until its probes are attached (about a second) procfs alone
 * answers, and the session records from when the events were on.
 */
import { execFileSync } from 'node:child_process';
import { startKernelEvents, type KernelEventSource } from './bpftrace-source.js';
import { createKernelEventIndex, type KernelEventIndex } from './kernel-event-index.js';

export const ATTRIBUTION_MODES = ['auto', 'ebpf', 'procfs'] as const;
export type AttributionMode = (typeof ATTRIBUTION_MODES)[number];

/** What a session records of its attribution (sessions.attribution, JSON). */
export interface AttributionRecord {
  /** 'kernel-events+procfs' once bpftrace's probes are attached, else 'procfs'. */
  method: 'kernel-events+procfs' | 'procfs';
  mode: AttributionMode;
  /** µs since the epoch when kernel events began; null while they are not on. */
  kernel_events_since_us: number | null;
  /** Why kernel events are not on (auto's fallback, or a bpftrace that ended); null when they are or were not asked for. */
  why_not: string | null;
  /** Events the kernel's buffer lost (a sender of one of them may be unnamed). */
  kernel_events_lost: number;
}

export interface KernelAttribution {
  /** Handed to the procfs attributor; stays empty when kernel events are off. */
  readonly index: KernelEventIndex | null;
  record(): AttributionRecord;
  stop(): Promise<void>;
}

export interface KernelAttributionOptions {
  mode: AttributionMode;
  bpftrace: string;
  tracefsDir: string;
  attachTimeoutMs: number;
  /** auto fell back to procfs, or bpftrace ended during the session: one sentence for the user. */
  onWarning(text: string): void;
  /** ebpf mode: kernel events cannot be had; the session must stop. */
  onRequiredFailed(why: string): void;
}

function onPath(program: string): boolean {
  if (program.includes('/')) return true;
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', program], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why kernel events cannot even be tried here, or null. */
function cannotTry(bpftrace: string): string | null {
  if (process.platform !== 'linux') return 'kernel socket events are a Linux feature';
  if (process.getuid?.() !== 0) return 'bpftrace needs root';
  if (!onPath(bpftrace)) return `${bpftrace} is not installed (Debian/Ubuntu: apt-get install bpftrace)`;
  return null;
}

/** Starts kernel events in the background as the mode asks; never throws, never delays the capture. */
export function startKernelAttribution(opts: KernelAttributionOptions): KernelAttribution {
  const rec: AttributionRecord = { method: 'procfs', mode: opts.mode, kernel_events_since_us: null, why_not: null, kernel_events_lost: 0 };
  let source: KernelEventSource | null = null;
  let stopped = false;
  const fail = (why: string): void => {
    rec.why_not = why;
    if (opts.mode === 'ebpf') opts.onRequiredFailed(`--attribution ebpf: ${why}`);
    else opts.onWarning(`attribution from procfs only: ${why}; connections shorter than a /proc scan may stay unattributed (--attribution procfs silences this)`);
  };
  if (opts.mode === 'procfs') return { index: null, record: () => ({ ...rec }), stop: async () => {} };

  const why = cannotTry(opts.bpftrace);
  // The index exists from the start so the attributor can be built before bpftrace is up.
  const index = createKernelEventIndex();
  const ready = why === null
    ? startKernelEvents({
      bpftrace: opts.bpftrace, tracefsDir: opts.tracefsDir, attachTimeoutMs: opts.attachTimeoutMs, index,
      onExit: (exitWhy) => {
        rec.method = 'procfs';
        rec.why_not = exitWhy;
        opts.onWarning(`kernel socket events stopped (${exitWhy}): attribution continues from procfs only`);
      },
    })
    : Promise.reject(new Error(why));
  ready.then((s) => {
    if (stopped) return void s.stop();
    source = s;
    rec.method = 'kernel-events+procfs';
    rec.kernel_events_since_us = Date.now() * 1000;
  }, (err: Error) => fail(err.message));

  return {
    index,
    record: () => ({ ...rec, kernel_events_lost: source?.stats().lost ?? 0 }),
    async stop() {
      stopped = true;
      await source?.stop();
    },
  };
}
