/**
 * The socket inodes a process holds: every /proc/<pid>/fd/N that links to `socket:[inode]`.
 * This is the expensive part of procfs attribution (one readlink per open fd of every
 * process), so callers walk as few processes as they can.
 */
import { readdirSync, readlinkSync } from 'node:fs';

export type FdScan = number[] | 'gone' | 'denied';

const PREFIX = 'socket:[';

export function socketInodesOf(procRoot: string, pid: number): FdScan {
  const dir = `${procRoot}/${pid}/fd`;
  let fds: string[];
  try {
    fds = readdirSync(dir);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EACCES' ? 'denied' : 'gone';
  }
  const inodes: number[] = [];
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`${dir}/${fd}`);
    } catch {
      continue; // closed between readdir and readlink
    }
    if (target.startsWith(PREFIX)) inodes.push(Number(target.slice(PREFIX.length, -1)));
  }
  return inodes;
}
