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
import { ClientTally, type ClientGroup } from './clients.js';
import { exposureFindings, type Finding } from './findings.js';
import { findHostTrap, type HostTrapGroup } from './host-trap.js';
import { listOllamaListeners, type Listener, type TreeProcess, type Visibility } from './listeners.js';
import { findLiveProxies, type LiveProxy } from './live-proxies.js';
import { detectProxies, proxyByProcess, type ProxyReport } from './proxies.js';
import { iterateApiFlows, iterateOtherFlows, loadHttp, type FlowRow, type StoreScope } from './store-rows.js';
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
  if (!db) notes.push('no store: API clients, proxies and the Host-header trap were not analysed');
  const api = db ? readApiFlows(db, scope) : { clients: [], kept: [], sessionIds: [], from: Infinity, to: -Infinity };
  const apiHttp = db ? loadHttp(db, api.kept) : new Map();
  const others = () => (db && api.sessionIds.length > 0 ? iterateOtherFlows(db, scope, api.sessionIds, api.from, api.to) : []);
  const otherFlows: FlowRow[] = [];
  for (const f of others()) if (f.has_http) otherFlows.push(f);
  const otherHttp = db ? loadHttp(db, otherFlows) : new Map();

  const { proxies, viaProxy } = detectProxies({ apiFlows: api.kept, apiHttp, otherFlows, otherHttp, allOtherFlows: others, live: liveProxies });
  const hostTrap = findHostTrap({ apiFlows: api.kept, apiHttp, proxies, viaProxy, ctx: opts.hostCheck ?? defaultHostCheck() });

  return {
    live: opts.live, sessions: opts.sessions ?? null, api_ports: apiPorts.sort((a, b) => a - b),
    processes: live.processes, listeners: live.listeners, visibility: live.visibility, clients: api.clients, proxies, host_trap: hostTrap,
    findings: [...exposureFindings({ processes: live.processes, listeners: live.listeners, visibility: live.visibility, clients: api.clients, proxies, hostTrap }), ...(mac?.findings ?? [])],
    notes,
  };
}

/**
 * One pass over the API flows: clients tallied as they come; kept are only the flows the proxy and
 * Host-check analysis look at again (with requests, or a proxy as client), so a store's millions
 * of API flows are never held.
 */
function readApiFlows(db: Db, scope: StoreScope): { clients: ClientGroup[]; kept: FlowRow[]; sessionIds: number[]; from: number; to: number } {
  const tally = new ClientTally();
  const kept: FlowRow[] = [];
  const sessions = new Set<number>();
  let from = Infinity;
  let to = -Infinity;
  for (const f of iterateApiFlows(db, scope)) {
    tally.add(f);
    sessions.add(f.session_id);
    if (f.first_seen < from) from = f.first_seen;
    if (f.last_seen > to) to = f.last_seen;
    if (f.has_http || proxyByProcess(f) !== null) kept.push(f);
  }
  return { clients: tally.groups(), kept, sessionIds: [...sessions], from, to };
}
