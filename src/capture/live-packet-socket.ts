/**
 * Finds the AF_PACKET socket that `cap.open` created, since `cap` does not expose its pcap_t
 * or fd: the process's socket fds are listed before and after the open, and the new one whose
 * inode /proc/net/packet lists is the capture socket (libpcap opens exactly one per handle;
 * other sockets it opens for ioctls are closed again before open returns).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** fd -> socket inode, for every socket fd of this process. */
export type SocketFds = Map<number, string>;

export function socketFds(): SocketFds {
  const out: SocketFds = new Map();
  let names: string[];
  try {
    names = readdirSync('/proc/self/fd');
  } catch {
    return out;
  }
  for (const name of names) {
    const inode = socketInode(`/proc/self/fd/${name}`);
    if (inode !== null) out.set(Number(name), inode);
  }
  return out;
}

function socketInode(link: string): string | null {
  try {
    const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(link));
    return m ? m[1] : null;
  } catch {
    return null; // closed between readdir and readlink (e.g. the fd of readdir itself)
  }
}

/** Inodes of the packet sockets in this network namespace (/proc/net/packet, last column). */
function packetInodes(): Set<string> {
  const inodes = new Set<string>();
  try {
    const lines = readFileSync('/proc/net/packet', 'utf8').split('\n');
    const col = lines[0].trim().split(/\s+/).indexOf('Inode');
    for (const line of lines.slice(1)) {
      const f = line.trim().split(/\s+/);
      if (col >= 0 && f[col]) inodes.add(f[col]);
    }
  } catch {
    // not Linux, or /proc not mounted: no packet sockets known
  }
  return inodes;
}

/** The one packet socket fd opened since `before` was taken, or null when there is not exactly one. */
export function newPacketSocketFd(before: SocketFds): number | null {
  const packet = packetInodes();
  const fresh: number[] = [];
  for (const [fd, inode] of socketFds()) {
    if (before.get(fd) !== inode && packet.has(inode)) fresh.push(fd);
  }
  return fresh.length === 1 ? fresh[0] : null;
}

/** ARPHRD_LOOPBACK (772) in /sys/class/net/<dev>/type. */
export function isLoopbackDevice(device: string): boolean {
  if (device.includes('/')) return false;
  try {
    return readFileSync(`/sys/class/net/${device}/type`, 'utf8').trim() === '772';
  } catch {
    return false;
  }
}
