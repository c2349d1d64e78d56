/**
 * Loads the optional `cap` addon (CommonJS) on demand, so that reading files and the tests of
 * everything else work on machines where it is not installed or did not build.
 */
import { createRequire } from 'node:module';
import { capMissingError } from './live-error.js';

/** One `cap.Cap` handle (see native-notes/cap.md for what it does and does not do). */
export interface CapHandle {
  /**
   * Returns the link type as text (`ETHERNET`, `LINKTYPE_LINUX_SLL`, `Unknown linktype N`...).
   * `snaplen` is taken only by the patched build (CapModule.snaplenPatch ≥ 1); cap 0.2.1 itself fixes 65535.
   * `bufferTimeoutMs` > 0 (level 2): immediate mode off, so a TPACKET_V3 ring with that block timeout.
   */
  open(device: string, filter: string, bufferBytes: number, buffer: Buffer, snaplen?: number, bufferTimeoutMs?: number): string;
  close(): boolean;
  /**
   * `origLen` (the packet's length on the wire) comes from the patched build only; the kernel's
   * timestamp (`tsSec`, `tsUsec`: pkt_hdr->ts) from level 2 only.
   */
  on(event: 'packet', listener: (nbytes: number, truncated: boolean, origLen?: number, tsSec?: number, tsUsec?: number) => void): this;
  removeAllListeners(event?: string): this;
}

export interface CapDevice {
  name: string;
  description?: string;
  flags?: string;
}

export interface CapModule {
  Cap: { new (): CapHandle; deviceList(): CapDevice[] };
  /**
   * The native/cap-patch level cap was rebuilt with: 1 = snaplen argument, original length per
   * packet, poll budget; 2 = also the buffer timeout (TPACKET_V3 ring) and the kernel's timestamps.
   */
  snaplenPatch?: number;
}

let cached: CapModule | null = null;

/** The `cap` module, or a LiveCaptureError saying how to install it. */
export function loadCap(): CapModule {
  if (cached) return cached;
  try {
    cached = createRequire(import.meta.url)('cap') as CapModule;
  } catch (e) {
    throw capMissingError(e);
  }
  return cached;
}

/** Devices libpcap can open (pcap_findalldevs), or null when it cannot list them. */
export function listDevices(cap: CapModule): CapDevice[] | null {
  try {
    return cap.Cap.deviceList();
  } catch {
    return null;
  }
}
