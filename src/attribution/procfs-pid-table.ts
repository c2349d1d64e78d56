/**
 * A light table of every live pid (comm, ppid, start time), refreshed at each rescan by reading
 * /proc/<pid>/stat of new pids only. It tells the fd scan which processes to walk first and the
 * attributor which processes belong to the Ollama tree (whose network namespaces it reads).
 */
import { statSync } from 'node:fs';
import { processRole } from '../knowledge/processes.js';
import { nameMatches } from './procfs-process.js';
import { listPids, readStat, startTimeMicros, type PidStat } from './procfs-stat.js';

export interface PidEntry {
  pid: number;
  ppid: number;
  comm: string;
  startTicks: number;
  /** µs since epoch. */
  startTime: number;
  /** Owner uid of /proc/<pid> (the effective uid); -1 when unknown. */
  uid: number;
  /** In the Ollama tree by its own name or a user pick (ancestors: see inTree). */
  ownTree: boolean;
  /** Refresh generation of the last stat read. */
  gen: number;
}

export interface PidTable {
  entries: Map<number, PidEntry>;
  /** Pids that appeared in the last refresh, newest first. */
  fresh: number[];
  gen: number;
}

export interface TreePicks {
  names: readonly string[];
  pids: ReadonlySet<number>;
}

/** A process forked but not yet exec'd still shows its parent's comm: re-read young processes. */
const YOUNG_US = 1_000_000;

export function createPidTable(): PidTable {
  return { entries: new Map(), fresh: [], gen: 0 };
}

function ownerUid(procRoot: string, pid: number): number {
  try {
    return statSync(`${procRoot}/${pid}`).uid;
  } catch {
    return -1;
  }
}

/** Put one stat into the table: same pid + start ticks updates, anything else is a new process. */
function applyStat(table: PidTable, procRoot: string, st: PidStat, bootTime: number, picks: TreePicks): PidEntry {
  const old = table.entries.get(st.pid);
  const same = old !== undefined && old.startTicks === st.startTicks;
  const entry: PidEntry = {
    pid: st.pid, ppid: st.ppid, comm: st.comm, startTicks: st.startTicks,
    startTime: startTimeMicros(bootTime, st.startTicks),
    uid: same ? old.uid : ownerUid(procRoot, st.pid),
    ownTree: processRole(st.comm) !== null || picks.pids.has(st.pid) || nameMatches(picks.names, st.comm, null, null),
    gen: table.gen,
  };
  table.entries.set(st.pid, entry);
  return entry;
}

/** Re-read one pid (a recheck before trusting a cached identity); null when gone. */
export function restatPid(table: PidTable, procRoot: string, pid: number, bootTime: number, picks: TreePicks): PidEntry | null {
  const st = readStat(procRoot, pid);
  if (st === null) {
    table.entries.delete(pid);
    return null;
  }
  return applyStat(table, procRoot, st, bootTime, picks);
}

/** List the proc root, drop exited pids, stat new and young ones. */
export function refreshPidTable(table: PidTable, procRoot: string, bootTime: number, picks: TreePicks): void {
  table.gen++;
  const live = listPids(procRoot);
  const liveSet = new Set(live);
  for (const pid of table.entries.keys()) if (!liveSet.has(pid)) table.entries.delete(pid);
  const nowUs = Date.now() * 1000;
  const fresh: number[] = [];
  for (const pid of live) {
    const e = table.entries.get(pid);
    if (e && nowUs - e.startTime >= YOUNG_US) continue;
    const st = readStat(procRoot, pid);
    if (st === null) continue;
    if (!e) fresh.push(pid);
    applyStat(table, procRoot, st, bootTime, picks);
  }
  table.fresh = fresh.sort((a, b) => b - a);
}

/** True when pid or one of its ancestors is in the tree (at most 64 levels up). */
export function inTree(table: PidTable, pid: number): boolean {
  let e = table.entries.get(pid);
  for (let i = 0; e && i < 64; i++) {
    if (e.ownTree) return true;
    if (e.ppid <= 0 || e.ppid === e.pid) return false;
    e = table.entries.get(e.ppid);
  }
  return false;
}
