/**
 * One attribution implementation per OS behind the Attributor interface (attributor.ts), chosen
 * at run time by process.platform, as bandwhich's `os/` does: Linux reads procfs socket tables,
 * macOS takes each packet's process from pktap, or, when the capture could not be pktap's (not
 * root, no tcpdump: src/capture/os/select.ts), looks each new flow's sockets up with lsof. Imported files need neither choice: their
 * packets carry what they carry (ptcpdump comments, Apple's process blocks) on any OS.
 */
import type { Attributor } from '../attributor.js';
import type { KernelEventIndex } from './linux/kernel-event-index.js';
import { createProcfsAttributor } from './linux/index.js';
import { createLsofAttributor, createPktapAttributor } from './darwin/index.js';
import type { CaptureChoice } from '../../capture/os/select.js';

export interface PlatformAttributorOptions {
  /** --process NAME (Linux: joins the Ollama tree). */
  extraNames?: string[];
  /** --pid N (Linux: joins the Ollama tree). */
  extraPids?: number[];
  /** Linux: kernel socket events (bpftrace), asked before the socket tables. */
  kernelEvents?: KernelEventIndex;
  /** macOS lsof lookups: what went wrong with lsof (missing, a run timed out), one sentence each. */
  onWarning?(text: string): void;
}

export type AttributionMethod = 'procfs' | 'pktap' | 'lsof';

/** How this OS attributes live flows captured as `capture` chose, or null when it has no way we support. */
export function attributionMethod(platform: NodeJS.Platform = process.platform, capture: CaptureChoice = { method: 'pktap', fallback: null }): AttributionMethod | null {
  if (platform === 'linux') return 'procfs';
  if (platform === 'darwin') return capture.method === 'pktap' ? 'pktap' : 'lsof';
  return null;
}

/** The one warning at start when macOS attributes by lsof lookups: why, and what that costs. */
export function lsofFallbackWarning(capture: CaptureChoice, root: boolean = process.getuid?.() === 0): string {
  const unseen = root ? '' : "; other users' processes are not visible without root";
  return `${capture.fallback}, attributing by lsof lookups (lower confidence: connections that close before a lookup are missed${unseen})`;
}

/** Thrown for an OS without live attribution; its message is one line for the user. */
export class UnsupportedPlatformError extends Error {
  constructor(platform: string) {
    super(`live attribution is not supported on ${platform} (Linux: procfs; macOS: pktap): import a capture file instead`);
    this.name = 'UnsupportedPlatformError';
  }
}

/** The live attributor of `platform` (default: this process's; tests pass another). */
export function createPlatformAttributor(
  opts: PlatformAttributorOptions = {}, platform: NodeJS.Platform = process.platform, capture?: CaptureChoice,
): Attributor {
  const method = attributionMethod(platform, capture);
  if (method === 'procfs') return createProcfsAttributor({ extraNames: opts.extraNames, extraPids: opts.extraPids, kernelEvents: opts.kernelEvents });
  if (method === 'pktap') return createPktapAttributor();
  if (method === 'lsof') {
    return createLsofAttributor({ extraNames: opts.extraNames, extraPids: opts.extraPids, why: capture?.fallback ?? null, onWarning: opts.onWarning });
  }
  throw new UnsupportedPlatformError(platform);
}

/** The attributor of a source whose packets name their processes (a replayed capture file: ptcpdump comments or pktap blocks). */
export function createPacketAttributor(): Attributor {
  return { ...createPktapAttributor(), sessionRecord: () => ({ method: 'replay' }) };
}
