/**
 * The listening TCP sockets the Ollama tree holds right now, read from procfs. Sockets of a
 * process in another network namespace (a container) are only listed in that process's
 * /proc/<pid>/net/tcp, so each namespace of a tree process is read once through one of its pids.
 */
import { statSync } from 'node:fs';
import type { Role } from '../knowledge/processes.js';
import { addrToString } from '../decode/addr.js';
import { socketInodesOf } from '../attribution/procfs-fds.js';
import { PROC_NET_TABLES, TCP_LISTEN, parseProcNet, type SocketEntry } from '../attribution/procfs-net.js';
import { createPidTable, inTree, refreshPidTable, type PidEntry } from '../attribution/procfs-pid-table.js';
import { readProcessDetails, roleOf } from '../attribution/procfs-process.js';
import { redactArgv } from '../attribution/cmdline-redact.js';
import { readBootTime, readProcText } from '../attribution/procfs-stat.js';
import { readOllamaEnv, type OllamaEnv } from './environ.js';
import { parseOllamaHost, type OllamaHost } from './ollama-host.js';
import { judgeHostSetting, judgeListenAddr, type ListenScope } from './scope.js';

export interface TreeProcess {
  pid: number;
  ppid: number;
  comm: string;
  exe: string | null;
  /** Redacted (src/attribution/cmdline-redact.ts): `ollama run MODEL` keeps no prompt. */
  cmdline: string[];
  role: Role | null;
  env: OllamaEnv;
  /** OLLAMA_HOST as the server parses it (the default when unset or unreadable). */
  ollama_host: OllamaHost & { scope: ListenScope | 'name' };
  /** Network namespace inode (null: unreadable); same as ours = the host's. */
  netns: number | null;
  host_netns: boolean;
}

export interface Listener {
  pid: number;
  comm: string;
  role: Role | null;
  address: string;
  port: number;
  ip_version: 4 | 6;
  scope: ListenScope;
  /** On the API port of this process's OLLAMA_HOST (or one given by the caller). */
  api: boolean;
  netns: number | null;
  host_netns: boolean;
}

export interface LiveListeners {
  processes: TreeProcess[];
  listeners: Listener[];
}

export interface ListenerOptions {
  procRoot?: string;
  /** More API ports to mark (besides each server's OLLAMA_HOST port). */
  apiPorts?: readonly number[];
  /** Processes to take as part of the Ollama tree (--pid), with their children. */
  extraPids?: readonly number[];
}

function netnsOf(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}

/** Listening TCP sockets of one namespace, read through a process inside it. */
export function readListening(procRoot: string, pid: number | 'self'): SocketEntry[] {
  const out: SocketEntry[] = [];
  for (const [file, proto] of PROC_NET_TABLES) {
    if (proto !== 6) continue;
    const text = readProcText(`${procRoot}/${pid}/net/${file}`);
    if (text !== null) for (const e of parseProcNet(text, proto, undefined, false)) if (e.state === TCP_LISTEN) out.push(e);
  }
  return out;
}

function describeProcess(procRoot: string, e: PidEntry, selfNetns: number | null): TreeProcess {
  const d = readProcessDetails(procRoot, e.pid);
  const env = readOllamaEnv(procRoot, e.pid);
  const host = parseOllamaHost(env.ollama_host);
  const netns = netnsOf(`${procRoot}/${e.pid}/ns/net`);
  return {
    pid: e.pid, ppid: e.ppid, comm: e.comm, exe: d.exe, cmdline: redactArgv(d.cmdline, d.exe), role: roleOf(e.comm, d.exe, d.cmdline),
    env, ollama_host: { ...host, scope: judgeHostSetting(host.host) }, netns,
    host_netns: netns === null || netns === selfNetns,
  };
}

function v4Text(addr: Buffer): string | null {
  const mapped = addr.subarray(0, 10).every((x) => x === 0) && addr[10] === 0xff && addr[11] === 0xff;
  return mapped ? addrToString(addr.subarray(12)) : null;
}

function toListener(e: SocketEntry, p: TreeProcess, apiPorts: ReadonlySet<number>): Listener {
  const v4 = v4Text(e.localAddr);
  const isApi = apiPorts.has(e.localPort) || (p.role === 'server' && e.localPort === p.ollama_host.port);
  return {
    pid: p.pid, comm: p.comm, role: p.role, address: v4 ?? addrToString(e.localAddr), port: e.localPort,
    ip_version: v4 ? 4 : 6, scope: judgeListenAddr(e.localAddr), api: isApi, netns: p.netns, host_netns: p.host_netns,
  };
}

/** Sockets per namespace, read once per namespace (unreadable namespaces: per pid). */
function listeningByNamespace(procRoot: string, procs: readonly TreeProcess[]): Map<string, SocketEntry[]> {
  const out = new Map<string, SocketEntry[]>();
  for (const p of procs) {
    const key = p.netns === null ? `pid:${p.pid}` : `ns:${p.netns}`;
    if (!out.has(key)) out.set(key, readListening(procRoot, p.pid));
  }
  return out;
}

export function listOllamaListeners(opts: ListenerOptions = {}): LiveListeners {
  const procRoot = opts.procRoot ?? '/proc';
  const table = createPidTable();
  refreshPidTable(table, procRoot, readBootTime(procRoot), { names: [], pids: new Set(opts.extraPids ?? []) });
  const selfNetns = netnsOf(`${procRoot}/self/ns/net`);
  const processes = [...table.entries.values()]
    .filter((e) => e.pid !== process.pid && inTree(table, e.pid))
    .sort((a, b) => a.pid - b.pid)
    .map((e) => describeProcess(procRoot, e, selfNetns));
  const apiPorts = new Set(opts.apiPorts ?? []);
  const byNs = listeningByNamespace(procRoot, processes);
  const listeners: Listener[] = [];
  for (const p of processes) {
    const inodes = socketInodesOf(procRoot, p.pid);
    if (typeof inodes === 'string') continue;
    const held = new Set(inodes);
    const sockets = byNs.get(p.netns === null ? `pid:${p.pid}` : `ns:${p.netns}`) ?? [];
    for (const e of sockets) if (held.has(e.inode)) listeners.push(toListener(e, p, apiPorts));
  }
  return { processes, listeners: dedupe(listeners) };
}

/** A listener shared across fork (the same inode in parent and child) is listed once, under the first pid. */
function dedupe(list: Listener[]): Listener[] {
  const seen = new Set<string>();
  return list.filter((l) => {
    const key = `${l.netns}|${l.address}|${l.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
