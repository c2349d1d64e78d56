/**
 * One attribution implementation per OS behind the Attributor interface (attributor.ts), chosen
 * at run time by process.platform, as bandwhich's `os/` does: Linux reads procfs socket tables,
 * macOS takes each packet's process from pktap. Imported files need neither choice: their
 * packets carry what they carry (ptcpdump comments, Apple's process blocks) on any OS.
 */
import type { Attributor } from '../attributor.js';
import type { KernelEventIndex } from './linux/kernel-event-index.js';
import { createProcfsAttributor } from './linux/index.js';
import { createPktapAttributor } from './darwin/index.js';

export interface PlatformAttributorOptions {
  /** --process NAME (Linux: joins the Ollama tree). */
  extraNames?: string[];
  /** --pid N (Linux: joins the Ollama tree). */
  extraPids?: number[];
  /** Linux: kernel socket events (bpftrace), asked before the socket tables. */
  kernelEvents?: KernelEventIndex;
}

export type AttributionMethod = 'procfs' | 'pktap';

/** How this OS attributes live flows, or null when it has no way we support. */
export function attributionMethod(platform: NodeJS.Platform = process.platform): AttributionMethod | null {
  if (platform === 'linux') return 'procfs';
  if (platform === 'darwin') return 'pktap';
  return null;
}

/** Thrown for an OS without live attribution; its message is one line for the user. */
export class UnsupportedPlatformError extends Error {
  constructor(platform: string) {
    super(`live attribution is not supported on ${platform} (Linux: procfs; macOS: pktap): import a capture file instead`);
    this.name = 'UnsupportedPlatformError';
  }
}

/** The live attributor of `platform` (default: this process's; tests pass another). */
export function createPlatformAttributor(opts: PlatformAttributorOptions = {}, platform: NodeJS.Platform = process.platform): Attributor {
  const method = attributionMethod(platform);
  if (method === 'procfs') return createProcfsAttributor({ extraNames: opts.extraNames, extraPids: opts.extraPids, kernelEvents: opts.kernelEvents });
  if (method === 'pktap') return createPktapAttributor();
  throw new UnsupportedPlatformError(platform);
}

/** The attributor of a source whose packets name their processes (a replayed capture file: ptcpdump comments or pktap blocks). */
export function createPacketAttributor(): Attributor {
  return createPktapAttributor();
}
