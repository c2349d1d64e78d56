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
import { OLLAMA_API_PORT } from '../knowledge/ports.js';
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

/**
 * What procfs did not show this user (another user's /proc/<pid>/fd needs root, or
 * CAP_DAC_READ_SEARCH + CAP_SYS_PTRACE; /proc mounted hidepid hides other users' processes).
 */
export interface Visibility {
  /** Processes of the Ollama tree whose sockets could not be read. */
  unreadable: { pid: number; comm: string; uid: number | null }[];
  /** Sockets listening on an API port in this network namespace that no visible process holds. */
  unowned: { address: string; port: number; ip_version: 4 | 6; scope: ListenScope; uid: number }[];
  /** The hidepid option /proc is mounted with (other users' processes invisible), or null. */
  hidepid: string | null;
}

export interface LiveListeners {
  processes: TreeProcess[];
  listeners: Listener[];
  visibility: Visibility;
}

/** True when procfs hid nothing the listener audit needed. */
export function fullyVisible(v: Visibility): boolean {
  return v.unreadable.length === 0 && v.unowned.length === 0 && v.hidepid === null;
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

function endpointOf(e: SocketEntry): { address: string; ip_version: 4 | 6 } {
  const v4 = v4Text(e.localAddr);
  return { address: v4 ?? addrToString(e.localAddr), ip_version: v4 ? 4 : 6 };
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
  const unreadable: Visibility['unreadable'] = [];
  const treeInodes = new Set<number>();
  for (const p of processes) {
    const inodes = socketInodesOf(procRoot, p.pid);
    if (inodes === 'denied') unreadable.push({ pid: p.pid, comm: p.comm, uid: table.entries.get(p.pid)?.uid ?? null });
    if (typeof inodes === 'string') continue;
    const held = new Set(inodes);
    for (const i of inodes) treeInodes.add(i);
    const sockets = byNs.get(p.netns === null ? `pid:${p.pid}` : `ns:${p.netns}`) ?? [];
    for (const e of sockets) if (held.has(e.inode)) listeners.push(toListener(e, p, apiPorts));
  }
  const ports = new Set([OLLAMA_API_PORT, ...apiPorts, ...processes.filter((p) => p.role === 'server').map((p) => p.ollama_host.port)]);
  const unowned = unownedApiListeners(procRoot, table, ports, treeInodes);
  return { processes, listeners: dedupe(listeners), visibility: { unreadable, unowned, hidepid: readHidepid(procRoot) } };
}

/**
 * Sockets of this namespace listening on an API port that no process we can read holds: their
 * owner is hidden from us. Only asked when some process's fds were unreadable (else every
 * owner is visible and a socket without one is a race with its close).
 */
function unownedApiListeners(procRoot: string, table: ReturnType<typeof createPidTable>, ports: ReadonlySet<number>, treeInodes: ReadonlySet<number>): Visibility['unowned'] {
  const candidates = readListening(procRoot, 'self').filter((e) => ports.has(e.localPort) && !treeInodes.has(e.inode));
  if (candidates.length === 0) return [];
  const wanted = new Set(candidates.map((e) => e.inode));
  let denied = 0;
  for (const pid of table.entries.keys()) {
    if (wanted.size === 0) break;
    const inodes = socketInodesOf(procRoot, pid);
    if (inodes === 'denied') denied++;
    if (typeof inodes !== 'string') for (const i of inodes) wanted.delete(i);
  }
  if (denied === 0 && readHidepid(procRoot) === null) return [];
  return candidates.filter((e) => wanted.has(e.inode)).map((e) => ({ ...endpointOf(e), port: e.localPort, scope: judgeListenAddr(e.localAddr), uid: e.uid }));
}

const CAP_SYS_PTRACE = 19n;

/** Our effective capabilities include CAP_SYS_PTRACE (root has it): hidepid hides nothing from us. */
function seesEveryProcess(procRoot: string): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/im.exec(readProcText(`${procRoot}/self/status`) ?? '');
  return m !== null && ((BigInt(`0x${m[1]}`) >> CAP_SYS_PTRACE) & 1n) === 1n;
}

/** The hidepid option of the proc mount at procRoot (`invisible`, `2`, ...) when it hides processes from us, else null. */
function readHidepid(procRoot: string): string | null {
  if (seesEveryProcess(procRoot)) return null;
  const text = readProcText(`${procRoot}/self/mountinfo`);
  for (const line of text?.split('\n') ?? []) {
    const [pre, post] = line.split(' - ');
    if (!post || pre.split(' ')[4] !== procRoot || !post.startsWith('proc ')) continue;
    const m = /(?:^|,)hidepid=(\w+)/.exec(post.split(' ')[2] ?? '');
    if (m && m[1] !== '0' && m[1] !== 'off') return m[1];
  }
  return null;
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

/**
 * Watches whether an Ollama server, runner or desktop app runs in this network namespace (the one
 * a live capture here sees), for `verify`: an idle server has no flow to show it was there.
 * `sample()` once a second is cheap: the pid table is kept and only new pids are read.
 */
export interface OllamaWatch {
  sample(): void;
  /** The first one seen, as `ollama (pid 12, server)`; null while none was. */
  seen(): string | null;
}

export function watchOllamaHere(procRoot = '/proc'): OllamaWatch {
  const table = createPidTable();
  const bootTime = readBootTime(procRoot);
  const selfNetns = netnsOf(`${procRoot}/self/ns/net`);
  let seen: string | null = null;
  return {
    sample() {
      if (seen !== null) return;
      refreshPidTable(table, procRoot, bootTime, { names: [], pids: new Set() });
      for (const e of table.entries.values()) {
        if (e.pid === process.pid || !inTree(table, e.pid)) continue;
        const ns = netnsOf(`${procRoot}/${e.pid}/ns/net`);
        // Unreadable (another user's process, unprivileged): counted, it may well be here.
        if (ns !== null && ns !== selfNetns) continue;
        const d = readProcessDetails(procRoot, e.pid);
        const role = roleOf(e.comm, d.exe, d.cmdline);
        if (role === 'cli') continue; // `ollama run` alone serves nothing
        seen = `${e.comm} (pid ${e.pid}${role ? `, ${role}` : ''})`;
        return;
      }
    },
    seen: () => seen,
  };
}
