/**
 * /proc/<pid>/stat and /proc/stat: the fields that identify a process (pid + start time,
 * since pids are reused) and place it in the tree (ppid). Every read tolerates the process
 * having gone: procfs answers ENOENT/ESRCH for an exited pid and EACCES for a hidden one.
 */
import { closeSync, openSync, readSync, readdirSync } from 'node:fs';

/** USER_HZ: the unit of starttime. Fixed at 100 on every Linux ABI node runs on (sysconf(_SC_CLK_TCK)). */
export const CLOCK_TICKS_PER_SEC = 100;

export interface PidStat {
  pid: number;
  comm: string;
  ppid: number;
  /** Field 22: clock ticks after boot. */
  startTicks: number;
}

// procfs files report size 0 and come in page-sized reads: read them into one reused buffer
// (sync, single-threaded) instead of readFileSync's fstat + growing chunks. ~25% faster here.
let shared = Buffer.allocUnsafe(256 * 1024);

/** Text of a procfs file, or null when it cannot be read (gone, denied, absent). */
export function readProcText(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    let n = 0;
    for (;;) {
      if (n === shared.length) {
        const bigger = Buffer.allocUnsafe(shared.length * 2);
        shared.copy(bigger, 0, 0, n);
        shared = bigger;
      }
      const r = readSync(fd, shared, n, shared.length - n, null);
      if (r === 0) break;
      n += r;
    }
    return shared.toString('latin1', 0, n);
  } catch {
    return null; // ESRCH mid-read: the process went away
  } finally {
    closeSync(fd);
  }
}

/** `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so cut at the last ')'. */
export function parseStat(text: string): PidStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const ppid = Number(rest[1]);
  const startTicks = Number(rest[19]);
  if (!Number.isInteger(pid) || !Number.isInteger(ppid) || !Number.isFinite(startTicks)) return null;
  return { pid, comm: text.slice(open + 1, close), ppid, startTicks };
}

export function readStat(procRoot: string, pid: number): PidStat | null {
  const text = readProcText(`${procRoot}/${pid}/stat`);
  return text === null ? null : parseStat(text);
}

/** Boot time in seconds since the epoch (`btime` of /proc/stat); 0 when unreadable. */
export function readBootTime(procRoot: string): number {
  const m = /^btime\s+(\d+)/m.exec(readProcText(`${procRoot}/stat`) ?? '');
  return m ? Number(m[1]) : 0;
}

/** Start time in µs since the epoch. */
export function startTimeMicros(bootTimeSec: number, startTicks: number): number {
  return bootTimeSec * 1_000_000 + Math.round((startTicks * 1_000_000) / CLOCK_TICKS_PER_SEC);
}

/** Numeric entries of the proc root: the live pids. */
export function listPids(procRoot: string): number[] {
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const n of names) {
    const c = n.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(n));
  }
  return out;
}
