/**
 * Whether a program can be run: a path that exists, or a name found executable in a folder of
 * PATH (what spawn() would run). Asked once at start: of bpftrace (Linux kernel events) and
 * tcpdump (macOS pktap). No shell: PATH may be one a test set, without /bin.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export function onPath(program: string): boolean {
  if (program.includes('/')) return existsSync(program);
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir === '' ? '.' : dir, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
