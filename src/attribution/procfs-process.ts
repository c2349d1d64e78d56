/**
 * The details of one process that a flow record keeps: uid, argv, executable path.
 * Read once per pid + start time; a process that exits half-way yields what was readable.
 */
import { readlinkSync } from 'node:fs';
import { processRole, type Role } from '../knowledge/processes.js';
import { readProcText } from './procfs-stat.js';

export interface ProcessDetails {
  uid: number;
  cmdline: string[];
  exe: string | null;
}

/** Real uid from the `Uid:` line of /proc/<pid>/status; -1 when unknown. */
export function parseStatusUid(text: string): number {
  const m = /^Uid:\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : -1;
}

/** NUL-separated argv; the kernel ends it with a NUL. */
export function parseCmdline(text: string): string[] {
  const parts = text.split('\0');
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

export function readProcessDetails(procRoot: string, pid: number): ProcessDetails {
  const status = readProcText(`${procRoot}/${pid}/status`);
  // cmdline is UTF-8; readProcText reads latin1 for speed on the hot files.
  const cmdline = readProcText(`${procRoot}/${pid}/cmdline`);
  let exe: string | null = null;
  try {
    exe = readlinkSync(`${procRoot}/${pid}/exe`);
  } catch {
    exe = null; // kernel threads, exited processes, other users' processes when unprivileged
  }
  return {
    uid: status === null ? -1 : parseStatusUid(status),
    cmdline: cmdline === null ? [] : parseCmdline(Buffer.from(cmdline, 'latin1').toString('utf8')),
    exe,
  };
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The Ollama role by comm, else by the executable's file name (a process may rename its thread). */
export function roleOf(comm: string, exe: string | null, cmdline: readonly string[]): Role | null {
  const args = cmdline.length > 0 ? cmdline : null;
  return processRole(comm, args) ?? (exe ? processRole(basename(exe.replace(/ \(deleted\)$/, '')), args) : null);
}

/** A user-given name (--process) against comm (15 bytes at most), the exe file name or argv[0]. */
export function nameMatches(names: readonly string[], comm: string, exe: string | null, argv0: string | null): boolean {
  for (const n of names) {
    if (n === comm || (comm.length === 15 && n.startsWith(comm))) return true;
    if (exe !== null && basename(exe) === n) return true;
    if (argv0 !== null && basename(argv0) === n) return true;
  }
  return false;
}
