/**
 * A reverse proxy in front of the API, found three ways:
 * - process: the store attributes an API flow to a proxy process (live capture with procfs);
 * - request-relay: an API request with the same method and path as a request on another TCP
 *   flow of the same session, made while that outer request was waiting for its answer (what
 *   a proxy does: `location /ollama/ { proxy_pass http://127.0.0.1:11434/; }` strips a prefix,
 *   so the outer path may end with the inner one). This works on any capture, no process needed;
 * - live-procfs: a proxy process running now that holds a connection to an API port, or that
 *   listens on the front port a relay was seen on (which gives the relay its name).
 * The clients behind a proxy are the initiators of its front-side flows.
 */
import { ClientTally, type ClientGroup } from './clients.js';
import { proxyName, type LiveProxy } from './live-proxies.js';
import { clientProcess, flowKey, serverProcess, type FlowRow, type HttpRow } from './store-rows.js';

export type ProxyEvidence = 'process' | 'request-relay' | 'live-procfs';

export interface ProxyReport {
  /** nginx, caddy...; null when only the relay shows a proxy and no process could be named. */
  name: string | null;
  pids: number[];
  detected_by: ProxyEvidence[];
  /** Where clients reach the proxy: "addr:port". */
  front: string[];
  /** API flows and requests that came through it. */
  api_flows: number;
  api_requests: number;
  clients: ClientGroup[];
}

export interface ProxyAnalysis {
  proxies: ProxyReport[];
  /** API flow key -> index into proxies. */
  viaProxy: Map<string, number>;
}

interface Building {
  name: string | null;
  pids: Set<number>;
  evidence: Set<ProxyEvidence>;
  front: Set<string>;
  /** The front-side flows' clients, tallied as found; relayed flows once each (frontKeys). */
  frontClients: ClientTally;
  frontKeys: Set<string>;
  apiFlows: Set<string>;
  apiRequests: number;
}

function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function pathRelays(outer: string | null, inner: string | null): boolean {
  if (outer === null || inner === null) return false;
  return outer === inner || (inner.startsWith('/') && outer.endsWith(inner));
}

/** The outer request a proxy was answering when it made this API request; null when none fits. */
function outerRequest(inner: HttpRow, candidates: readonly { flow: FlowRow; req: HttpRow }[]): { flow: FlowRow; req: HttpRow } | null {
  let best: { flow: FlowRow; req: HttpRow } | null = null;
  for (const c of candidates) {
    if (c.req.session_id !== inner.session_id || c.req.method !== inner.method) continue;
    const until = c.req.response_ts ?? c.flow.last_seen;
    if (c.req.ts > inner.ts || until < inner.ts) continue;
    if (!pathRelays(c.req.path, inner.path)) continue;
    if (!best || c.req.ts > best.req.ts) best = c;
  }
  return best;
}

function newBuilding(name: string | null): Building {
  return { name, pids: new Set(), evidence: new Set(), front: new Set(), frontClients: new ClientTally(), frontKeys: new Set(), apiFlows: new Set(), apiRequests: 0 };
}

/** The proxy a flow's client process is by its name or executable (nginx, caddy...); null when none. */
export function proxyByProcess(f: FlowRow): string | null {
  const client = clientProcess(f);
  return client && (proxyName(client.name) ?? proxyName(client.exe));
}

export interface ProxyInput {
  /** API flows with requests or a proxy as client (proxyByProcess): the others show nothing here. */
  apiFlows: readonly FlowRow[];
  apiHttp: ReadonlyMap<string, HttpRow[]>;
  /** Other TCP flows of the span that have requests (relay candidates). */
  otherFlows: readonly FlowRow[];
  otherHttp: ReadonlyMap<string, HttpRow[]>;
  /** Every other TCP flow of the span, read again only for a proxy known by its process alone. */
  allOtherFlows: () => Iterable<FlowRow>;
  live: readonly LiveProxy[];
}

export function detectProxies(input: ProxyInput): ProxyAnalysis {
  const builds = new Map<string, Building>();
  const viaKey = new Map<string, string>();
  const get = (key: string, name: string | null): Building => {
    let b = builds.get(key);
    if (!b) builds.set(key, (b = newBuilding(name)));
    return b;
  };
  const candidates = input.otherFlows.flatMap((flow) => (input.otherHttp.get(flowKey(flow)) ?? []).map((req) => ({ flow, req })));

  for (const f of input.apiFlows) {
    const key = flowKey(f);
    // A proxy is the API's client: the flow's process when it ran here, never the server (the peer).
    const client = clientProcess(f);
    const byProcess = proxyByProcess(f);
    for (const req of input.apiHttp.get(key) ?? []) {
      const outer = outerRequest(req, candidates);
      if (!outer) continue;
      const front = endpoint(outer.flow.responder_addr, outer.flow.responder_port);
      const b = get(`front:${outer.flow.session_id}:${front}`, proxyName(serverProcess(outer.flow)?.name ?? null) ?? byProcess);
      b.evidence.add('request-relay');
      b.front.add(front);
      addFront(b, outer.flow);
      b.apiFlows.add(key);
      b.apiRequests++;
      viaKey.set(key, `front:${outer.flow.session_id}:${front}`);
    }
    if (byProcess && !viaKey.has(key)) {
      const bKey = `pid:${f.session_id}:${client!.pid}`;
      const b = get(bKey, byProcess);
      b.apiFlows.add(key);
      b.apiRequests += (input.apiHttp.get(key) ?? []).length;
      viaKey.set(key, bKey);
    }
    if (byProcess) {
      const b = builds.get(viaKey.get(key)!)!;
      b.evidence.add('process');
      b.pids.add(client!.pid);
    }
  }
  addProcessFronts(builds, input.allOtherFlows);
  nameFromLive(builds, input.live);
  return finish(builds, viaKey);
}

function addFront(b: Building, flow: FlowRow): void {
  const key = flowKey(flow);
  if (b.frontKeys.has(key)) return;
  b.frontKeys.add(key);
  b.frontClients.add(flow);
}

/** A proxy known by its process only: its front flows are that process's other flows (it answered them). */
function addProcessFronts(builds: Map<string, Building>, others: () => Iterable<FlowRow>): void {
  const needing = [...builds.values()].filter((b) => b.front.size === 0 && b.pids.size > 0);
  if (needing.length === 0) return;
  for (const f of others()) {
    const server = serverProcess(f);
    if (server === null) continue;
    for (const b of needing) {
      if (!b.pids.has(server.pid)) continue;
      b.front.add(endpoint(f.responder_addr, f.responder_port));
      b.frontClients.add(f);
    }
  }
}

function portOf(ep: string): number {
  return Number(ep.slice(ep.lastIndexOf(':') + 1));
}

function hostOf(ep: string): string {
  return ep.slice(0, ep.lastIndexOf(':')).replace(/^\[|\]$/g, '');
}

function listensOn(p: LiveProxy, ep: string): boolean {
  const host = hostOf(ep);
  return p.listening.some((l) => l.port === portOf(ep) && (l.address === host || l.address === '0.0.0.0' || l.address === '::'));
}

function nameFromLive(builds: Map<string, Building>, live: readonly LiveProxy[]): void {
  for (const b of builds.values()) {
    const p = live.find((x) => [...b.front].some((ep) => listensOn(x, ep)));
    if (!p) continue;
    b.name ??= p.name;
    b.evidence.add('live-procfs');
    for (const pid of p.pids) b.pids.add(pid);
  }
  // Connected to the API now but not seen in the store (no capture yet, or another window).
  for (const p of live) {
    if (!p.connected_to_api || [...builds.values()].some((b) => p.pids.some((pid) => b.pids.has(pid)))) continue;
    const b = newBuilding(p.name);
    b.evidence.add('live-procfs');
    for (const pid of p.pids) b.pids.add(pid);
    for (const l of p.listening) b.front.add(endpoint(l.address, l.port));
    builds.set(`live:${p.pids[0]}`, b);
  }
}

function finish(builds: Map<string, Building>, viaKey: Map<string, string>): ProxyAnalysis {
  const keys = [...builds.keys()];
  const proxies = keys.map((k) => {
    const b = builds.get(k)!;
    return {
      name: b.name, pids: [...b.pids].sort((x, y) => x - y), detected_by: [...b.evidence].sort(), front: [...b.front].sort(),
      api_flows: b.apiFlows.size, api_requests: b.apiRequests, clients: b.frontClients.groups(),
    };
  });
  const viaProxy = new Map<string, number>();
  for (const [flow, k] of viaKey) viaProxy.set(flow, keys.indexOf(k));
  return { proxies, viaProxy };
}
