/**
 * Whether this process may open a live capture, asked before anything is started so that a
 * command can say at once how to get the privilege (or to read a store instead):
 * - Linux: root, or CAP_NET_RAW (bit 13) in the effective set (`setcap cap_net_raw+eip` on node,
 *   or a service's AmbientCapabilities): the packet socket needs nothing more.
 * - macOS: root, or read and write access to the BPF devices: the access_bpf group that Wireshark's
 *   ChmodBPF installs gives exactly that (`/dev/bpf*` mode 0660, group access_bpf), and libpcap
 *   then captures without root (pktap still needs root: capture/os/select.ts falls back to cap).
 * - Any other OS: root only (no probe known to be right there).
 */
import { accessSync, constants, readFileSync } from 'node:fs';

/** What the answer depends on: this process's unless a test passes its own. */
export interface PrivilegeProbe {
  uid: number | undefined;
  /** The `CapEff:` hex mask of /proc/self/status, or null when there is none (not Linux, unreadable). */
  effectiveCaps: () => string | null;
  /** Whether the first BPF device opens for reading and writing. */
  bpfAccessible: () => boolean;
}

const CAP_NET_RAW = 13n;
const FIRST_BPF_DEVICE = '/dev/bpf0';

function thisProcess(): PrivilegeProbe {
  return {
    uid: process.getuid?.(),
    effectiveCaps: () => {
      try {
        return /^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? null;
      } catch {
        return null;
      }
    },
    bpfAccessible: () => {
      try {
        accessSync(FIRST_BPF_DEVICE, constants.R_OK | constants.W_OK);
        return true;
      } catch {
        return false;
      }
    },
  };
}

export function canCapture(platform: NodeJS.Platform = process.platform, probe: PrivilegeProbe = thisProcess()): boolean {
  if (probe.uid === 0) return true;
  if (platform === 'linux') {
    const eff = probe.effectiveCaps();
    return eff !== null && (BigInt(`0x${eff}`) & (1n << CAP_NET_RAW)) !== 0n;
  }
  if (platform === 'darwin') return probe.bpfAccessible();
  return false;
}
