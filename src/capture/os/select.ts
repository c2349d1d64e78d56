/**
 * One live capture per OS behind the LiveCapture interface (live-capture.ts), chosen at run time by
 * process.platform (injectable, as for attribution: src/attribution/os/select.ts): macOS runs
 * Apple's tcpdump over pktap, whose packets name their processes; elsewhere libpcap through `cap`.
 */
import { openLiveCapture, type LiveCapture, type LiveCaptureOptions } from '../live-capture.js';
import { openTcpdumpCapture } from './darwin/tcpdump-capture.js';

export function openPlatformCapture(opts: LiveCaptureOptions, platform: NodeJS.Platform = process.platform): LiveCapture {
  return platform === 'darwin' ? openTcpdumpCapture(opts) : openLiveCapture(opts);
}
