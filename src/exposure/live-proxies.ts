/**
 * Reverse-proxy processes running now (nginx, caddy, apache, haproxy, traefik, envoy): their
 * listening ports and whether they hold a connection to an Ollama API port at this moment.
 * Only processes with a proxy's name are walked, so this stays cheap on a busy host.
 */
import { statSync } from 'node:fs';
import { addrToString } from '../decode/addr.js';
import { socketInodesOf } from '../attribution/procfs-fds.js';
import { PROC_NET_TABLES, TCP_LISTEN, parseProcNet, type SocketEntry } from '../attribution/procfs-net.js';
import { createPidTable, refreshPidTable } from '../attribution/procfs-pid-table.js';
import { readBootTime, readProcText } from '../attribution/procfs-stat.js';

export const PROXY_NAMES: readonly string[] = ['nginx', 'caddy', 'apache2', 'httpd', 'haproxy', 'traefik', 'envoy'];

/** The proxy a process name or executable path stands for, else null. */
export function proxyName(commOrPath: string | null): string | null {
  if (!commOrPath) return null;
  const base = commOrPath.slice(commOrPath.lastIndexOf('/') + 1).replace(/ \(deleted\)$/, '');
  return PROXY_NAMES.find((n) => base === n) ?? null;
}

export interface LiveProxy {
  name: string;
  /** Every pid of it (master and workers), lowest first. */
  pids: number[];
  /** Listening endpoints, "addr:port" ([v6]:port). */
  listening: { address: string; port: number }[];
  /** Holds a TCP connection to one of the API ports now. */
  connected_to_api: boolean;
}

function v4OrV6(addr: Buffer): string {
  const mapped = addr.subarray(0, 10).every((x) => x === 0) && addr[10] === 0xff && addr[11] === 0xff;
  return mapped ? addrToString(addr.subarray(12)) : addrToString(addr);
}

function tcpTable(procRoot: string, pid: number): SocketEntry[] {
  const out: SocketEntry[] = [];
  for (const [file, proto] of PROC_NET_TABLES) {
    if (proto !== 6) continue;
    const text = readProcText(`${procRoot}/${pid}/net/${file}`);
    if (text !== null) out.push(...parseProcNet(text, proto, undefined, false));
  }
  return out;
}

function netnsKey(procRoot: string, pid: number): string {
  try {
    return `ns:${statSync(`${procRoot}/${pid}/ns/net`).ino}`;
  } catch {
    return `pid:${pid}`;
  }
}

export function findLiveProxies(apiPorts: readonly number[], procRoot = '/proc'): LiveProxy[] {
  const table = createPidTable();
  refreshPidTable(table, procRoot, readBootTime(procRoot), { names: [], pids: new Set() });
  const groups = new Map<string, { name: string; pids: number[]; inodes: Set<number>; ns: string }>();
  for (const e of table.entries.values()) {
    const name = proxyName(e.comm);
    if (!name) continue;
    const inodes = socketInodesOf(procRoot, e.pid);
    if (typeof inodes === 'string') continue;
    const ns = netnsKey(procRoot, e.pid);
    const key = `${name}|${ns}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { name, pids: [], inodes: new Set(), ns }));
    g.pids.push(e.pid);
    for (const i of inodes) g.inodes.add(i);
  }
  return [...groups.values()].map((g) => {
    g.pids.sort((a, b) => a - b);
    const sockets = tcpTable(procRoot, g.pids[0]).filter((s) => g.inodes.has(s.inode));
    const seen = new Set<string>();
    const listening = sockets.filter((s) => s.state === TCP_LISTEN)
      .map((s) => ({ address: v4OrV6(s.localAddr), port: s.localPort }))
      .filter((l) => !seen.has(`${l.address}:${l.port}`) && seen.add(`${l.address}:${l.port}`) !== undefined);
    const connected = sockets.some((s) => s.state !== TCP_LISTEN && apiPorts.includes(s.remotePort));
    return { name: g.name, pids: g.pids, listening, connected_to_api: connected };
  });
}
