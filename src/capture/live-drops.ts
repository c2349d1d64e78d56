/**
 * Kernel drop counters for live capture. `cap` never calls pcap_stats, so we read what pcap_stats
 * reads on Linux ourselves: PACKET_STATISTICS of the capture's packet socket, through our own
 * small addon (native/packet-stats), and the interface counters libpcap uses for ps_ifdrop
 * (/sys/class/net/<dev>/statistics/rx_missed_errors + rx_fifo_errors). See native-notes/cap.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ANY_DEVICE } from './link-types.js';

export interface PacketStatsAddon {
  /** Kernel counters since the previous call (the kernel zeroes them on each read). */
  packetStats(fd: number): { packets: number; drops: number; freezeQueue: number };
  ignoreOutgoing(fd: number): void;
}

const ADDON_PATH = join('native', 'packet-stats', 'build', 'Release', 'packet_stats.node');

let addon: { value: PacketStatsAddon | null; why: string } | null = null;

/** The addon, or null with the reason drops will be reported as unknown. */
export function loadPacketStats(): { value: PacketStatsAddon | null; why: string } {
  if (addon) return addon;
  const file = findUp(dirname(fileURLToPath(import.meta.url)), ADDON_PATH);
  if (file === null) {
    addon = { value: null, why: 'kernel drops unknown: the packet-stats addon is not built (npm run build:native)' };
    return addon;
  }
  try {
    const mod = createRequire(import.meta.url)(file) as Partial<PacketStatsAddon>;
    if (typeof mod.packetStats !== 'function' || typeof mod.ignoreOutgoing !== 'function') {
      addon = { value: null, why: 'kernel drops unknown: this platform has no packet sockets' };
    } else {
      addon = { value: mod as PacketStatsAddon, why: '' };
    }
  } catch (e) {
    addon = { value: null, why: `kernel drops unknown: cannot load ${file}: ${(e as Error).message.split('\n')[0]}` };
  }
  return addon;
}

/** src/capture (tests) and dist/capture (installed) sit at different depths below the package root. */
function findUp(from: string, rel: string): string | null {
  for (let dir = from, i = 0; i < 6; i++, dir = dirname(dir)) {
    const candidate = join(dir, rel);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** Running totals for one capture socket. */
export interface KernelCounters {
  fd: number | null;
  /** Passed the filter, dropped ones included (the kernel adds drops into tp_packets). */
  packets: number;
  drops: number;
  freezeQueue: number;
  /** Why the counters are unknown, '' when they are known. */
  unknown: string;
}

export function newKernelCounters(fd: number | null, why: string): KernelCounters {
  const unknown = why || (fd === null ? 'kernel drops unknown: the capture socket was not found in /proc/self/fd' : '');
  return { fd: unknown ? null : fd, packets: 0, drops: 0, freezeQueue: 0, unknown };
}

/** Adds what the kernel counted since the last read. Must run before the socket is closed. */
export function accumulate(c: KernelCounters, stats: PacketStatsAddon | null): void {
  if (c.fd === null || stats === null) return;
  try {
    const s = stats.packetStats(c.fd);
    c.packets += s.packets;
    c.drops += s.drops;
    c.freezeQueue += s.freezeQueue;
  } catch (e) {
    c.fd = null;
    c.unknown = `kernel drops unknown after a read failed: ${(e as Error).message}`;
  }
}

/** rx_missed_errors + rx_fifo_errors of a device, null for `any` or when sysfs does not have them. */
export function interfaceDrops(device: string): number | null {
  if (device === ANY_DEVICE || device.includes('/')) return null;
  const base = `/sys/class/net/${device}/statistics/`;
  try {
    return Number(readFileSync(base + 'rx_missed_errors', 'utf8')) + Number(readFileSync(base + 'rx_fifo_errors', 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Packets this network namespace's loopback has sent (/proc/net/dev, which is per namespace where
 * /sys/class/net is per sysfs mount); null when unreadable. On `any` the kernel counts each of them
 * twice in the capture socket's statistics (sent and received copy) and libpcap discards the sent
 * one, so the counters alone cannot say what is still unread in the ring (live-capture.ts).
 */
export function loopbackSent(): number | null {
  try {
    const line = readFileSync('/proc/net/dev', 'utf8').split('\n').find((l) => l.trimStart().startsWith('lo:'));
    if (line === undefined) return null;
    // After "lo:": 8 receive columns (bytes, packets, errs, drop, fifo, frame, compressed, multicast), then transmit bytes, packets.
    const sent = Number(line.slice(line.indexOf(':') + 1).trim().split(/\s+/)[9]);
    return Number.isFinite(sent) ? sent : null;
  } catch {
    return null;
  }
}
