/**
 * One live capture per OS behind the LiveCapture interface (live-capture.ts), chosen at run time by
 * process.platform (injectable, as for attribution: src/attribution/os/select.ts): macOS runs
 * Apple's tcpdump over pktap, whose packets name their processes, when it can (root, and a
 * tcpdump to run); else, and on every other OS, libpcap through `cap` (on macOS then with lsof
 * lookups for attribution, lower confidence: the session says so).
 */
import { openLiveCapture, type LiveCapture, type LiveCaptureOptions } from '../live-capture.js';
import { openTcpdumpCapture } from './darwin/tcpdump-capture.js';
import { onPath } from './on-path.js';
import { networkInterfaces } from 'node:os';
import { ANY_DEVICE } from '../link-types.js';
import { DARWIN_BPF_HINT } from '../live-error.js';

export type CaptureMethod = 'pktap' | 'cap';

export interface CaptureChoice {
  method: CaptureMethod;
  /** macOS only: why pktap could not be used (one clause), so capture is cap's; null otherwise. */
  fallback: string | null;
}

/** What decides macOS's choice: asked of this host unless a test passes its own. */
export interface CaptureHost {
  root: boolean;
  /** A `tcpdump` to run is on PATH (Apple's is /usr/sbin/tcpdump). */
  tcpdump: boolean;
}

function thisHost(): CaptureHost {
  return { root: process.getuid?.() === 0, tcpdump: onPath('tcpdump') };
}


/** pktap on macOS needs root and Apple's tcpdump; without either, cap (BPF devices) and lsof lookups. */
export function chooseCapture(platform: NodeJS.Platform = process.platform, host: () => CaptureHost = thisHost): CaptureChoice {
  if (platform !== 'darwin') return { method: 'cap', fallback: null };
  const h = host();
  if (!h.root) return { method: 'cap', fallback: 'not root: pktap unavailable' };
  if (!h.tcpdump) return { method: 'cap', fallback: 'tcpdump not found on PATH (macOS has it at /usr/sbin/tcpdump): pktap unavailable' };
  return { method: 'pktap', fallback: null };
}

export function openPlatformCapture(opts: LiveCaptureOptions, choice: CaptureChoice, platform: NodeJS.Platform = process.platform): LiveCapture {
  if (choice.method === 'pktap') return openTcpdumpCapture(opts);
  if (platform !== 'darwin') return openLiveCapture(opts);
  return openLiveCapture({ ...opts, interfaces: withoutAny(opts.interfaces), permissionHint: DARWIN_BPF_HINT });
}

/**
 * macOS's libpcap has no `any` device (pktap's `all` is tcpdump's): it stands for every interface
 * with an address (lo0, where the API and runner traffic is, en0, utun...), as getifaddrs(3) lists them.
 */
function withoutAny(devices: string[] | undefined): string[] {
  const asked = devices?.length ? devices : [ANY_DEVICE];
  if (!asked.includes(ANY_DEVICE)) return asked;
  return [...new Set([...asked.filter((d) => d !== ANY_DEVICE), ...Object.keys(networkInterfaces())])];
}
