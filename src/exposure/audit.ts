/**
 * The exposure audit: who can reach the Ollama API and who did. Live (procfs): the Ollama
 * tree's listening sockets, judged by address, with OLLAMA_HOST/OLLAMA_ORIGINS; from the store:
 * API clients by class, reverse proxies in front and their clients, and the Host-header trap.
 * Plain data out; exposure-command.ts prints it.
 */
import { hostname } from 'node:os';
import { OLLAMA_API_PORT } from '../knowledge/ports.js';
import type { Db } from '../store/open-db.js';
import { interfaceAddrs } from '../attribution/local-addrs.js';
import type { HostCheckContext } from './allowed-host.js';
import { clientsByClass, type ClientGroup } from './clients.js';
import { exposureFindings, type Finding } from './findings.js';
import { findHostTrap, type HostTrapGroup } from './host-trap.js';
import { listOllamaListeners, type Listener, type TreeProcess, type Visibility } from './listeners.js';
import { findLiveProxies, type LiveProxy } from './live-proxies.js';
import { detectProxies, type ProxyReport } from './proxies.js';
import { loadApiFlows, loadHttp, loadOtherFlows, type StoreScope } from './store-rows.js';
import { listDarwinListeners, systemInputs } from './os/darwin/listeners.js';

export type { Finding } from './findings.js';

export interface AuditOptions {
  /** Read procfs now (listeners, environment, running proxies). */
  live: boolean;
  procRoot?: string;
  /** Store sessions to read; undefined: all. */
  sessions?: number[];
  /** API ports besides 11434 and what OLLAMA_HOST of a running server says. */
  apiPorts?: number[];
  /** Host check context; default: this machine's hostname and interface addresses. */
  hostCheck?: HostCheckContext;
  /** Whose live sources to read (default process.platform): macOS reads lsof and launchd, not procfs. */
  platform?: NodeJS.Platform;
}

export interface ExposureReport {
  live: boolean;
  sessions: number[] | null;
  api_ports: number[];
  /** Ollama-tree processes seen live (empty when not live). */
  processes: TreeProcess[];
  listeners: Listener[];
  /** What procfs hid from this user (null when not live): never read as "nothing listens". */
  visibility: Visibility | null;
  /** Inbound API clients by class, straight to the API (a proxy counts as its own client here). */
  clients: ClientGroup[];
  proxies: ProxyReport[];
  host_trap: HostTrapGroup[];
  findings: Finding[];
  /** What could not be looked at, one line each. */
  notes: string[];
}

function apiPortsOf(opts: AuditOptions, procs: readonly TreeProcess[]): number[] {
  const ports = new Set<number>([OLLAMA_API_PORT, ...(opts.apiPorts ?? [])]);
  for (const p of procs) if (p.role === 'server') ports.add(p.ollama_host.port);
  return [...ports].sort((a, b) => a - b);
}

function defaultHostCheck(): HostCheckContext {
  const hex = interfaceAddrs();
  return { hostname: hostname(), localAddrs: hex.map(hexToText) };
}

/** The 16-byte hex of local-addrs.ts back to text parseAddr understands. */
function hexToText(hex: string): string {
  if (hex.startsWith('00000000000000000000ffff')) {
    const b = Buffer.from(hex.slice(24), 'hex');
    return [...b].join('.');
  }
  return (hex.match(/.{4}/g) ?? []).join(':');
}

export function auditExposure(db: Db | null, opts: AuditOptions): ExposureReport {
  const notes: string[] = [];
  const mac = opts.live && (opts.platform ?? process.platform) === 'darwin' ? listDarwinListeners(systemInputs(), opts.apiPorts) : null;
  const live = mac?.live ?? (opts.live ? listOllamaListeners({ procRoot: opts.procRoot, apiPorts: opts.apiPorts }) : { processes: [], listeners: [], visibility: null });
  if (mac) notes.push(...mac.notes, 'macOS: reverse proxies running now are not looked for (they are found from the store)');
  if (!opts.live) notes.push('not live: listening sockets and OLLAMA_HOST were not read (run on the Ollama machine)');
  const apiPorts = apiPortsOf(opts, live.processes);
  for (const l of live.listeners) if (l.api && !apiPorts.includes(l.port)) apiPorts.push(l.port);
  const liveProxies: LiveProxy[] = opts.live && mac === null ? findLiveProxies(apiPorts, opts.procRoot) : [];

  const scope: StoreScope = { sessions: opts.sessions, apiPorts };
  const apiFlows = db ? loadApiFlows(db, scope) : [];
  if (!db) notes.push('no store: API clients, proxies and the Host-header trap were not analysed');
  const apiHttp = db ? loadHttp(db, apiFlows) : new Map();
  const sessionIds = [...new Set(apiFlows.map((f) => f.session_id))];
  // Loops, not Math.min(...flows): spreading a big store's flows overflows the call stack.
  let from = Infinity;
  let to = -Infinity;
  for (const f of apiFlows) {
    if (f.first_seen < from) from = f.first_seen;
    if (f.last_seen > to) to = f.last_seen;
  }
  const otherFlows = db && apiFlows.length > 0 ? loadOtherFlows(db, scope, sessionIds, from, to) : [];
  const otherHttp = db ? loadHttp(db, otherFlows) : new Map();

  const { proxies, viaProxy } = detectProxies({ apiFlows, apiHttp, otherFlows, otherHttp, live: liveProxies });
  const hostTrap = findHostTrap({ apiFlows, apiHttp, proxies, viaProxy, ctx: opts.hostCheck ?? defaultHostCheck() });
  const clients = clientsByClass(apiFlows);
  return {
    live: opts.live, sessions: opts.sessions ?? null, api_ports: apiPorts.sort((a, b) => a - b),
    processes: live.processes, listeners: live.listeners, visibility: live.visibility, clients, proxies, host_trap: hostTrap,
    findings: [...exposureFindings({ processes: live.processes, listeners: live.listeners, visibility: live.visibility, clients, proxies, hostTrap }), ...(mac?.findings ?? [])],
    notes,
  };
}
