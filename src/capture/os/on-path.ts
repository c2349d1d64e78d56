/**
 * Whether a program can be run: a path that exists, or a name `sh` finds on PATH (what spawn()
 * would run). Asked once at start: of bpftrace (Linux kernel events) and Apple's tcpdump (macOS pktap).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function onPath(program: string): boolean {
  if (program.includes('/')) return existsSync(program);
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', program], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
