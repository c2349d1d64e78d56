/**
 * The Host-header trap: Ollama listening on loopback checks the Host header and answers 403
 * with an empty body to anything it does not allow (allowed-host.ts). A reverse proxy that
 * forwards the client's `Host: $host` therefore breaks every request. A 403 counts here when
 * the request's Host is not allowed and the API answered on a loopback address (only a
 * loopback listener checks); when the store keeps the response's Content-Length, a 403 with a
 * body is some other refusal and is left out.
 */
import { isoMicros } from '../store/format-time.js';
import { hostAllowed, type HostCheckContext } from './allowed-host.js';
import { clientClass } from './scope.js';
import { OLLAMA_API_PORT } from '../knowledge/ports.js';
import type { ProxyReport } from './proxies.js';
import { flowKey, type FlowRow, type HttpRow } from './store-rows.js';

export interface HostTrapGroup {
  /** The proxy the requests came through (its name, else its front endpoint); null: straight from a client. */
  via: string | null;
  /** The Host header Ollama received. */
  host: string | null;
  requests: number;
  /** Client addresses that made the API requests (the proxy's own address when via a proxy). */
  clients: string[];
  first_seen: string;
  last_seen: string;
  /** Example request line. */
  example: string;
}

export interface HostTrapInput {
  apiFlows: readonly FlowRow[];
  apiHttp: ReadonlyMap<string, HttpRow[]>;
  proxies: readonly ProxyReport[];
  viaProxy: ReadonlyMap<string, number>;
  ctx: HostCheckContext;
}

/** Is this answer Ollama's Host check refusing the request? */
export function isHostCheck403(req: HttpRow, flow: FlowRow, ctx: HostCheckContext): boolean {
  if (req.status !== 403) return false;
  if (req.response_length !== undefined && req.response_length !== null && req.response_length !== 0) return false;
  if (clientClass(flow.responder_addr) !== 'loopback') return false;
  return !hostAllowed(req.host, ctx);
}

export function proxyLabel(p: ProxyReport): string {
  const where = p.front.length > 0 ? ` on ${p.front.join(', ')}` : '';
  return p.name ? `${p.name}${where}` : `a reverse proxy${where}`;
}

export function findHostTrap(input: HostTrapInput): HostTrapGroup[] {
  const groups = new Map<string, { via: string | null; host: string | null; n: number; clients: Set<string>; first: number; last: number; example: string }>();
  for (const f of input.apiFlows) {
    const idx = input.viaProxy.get(flowKey(f));
    const via = idx === undefined ? null : proxyLabel(input.proxies[idx]);
    for (const req of input.apiHttp.get(flowKey(f)) ?? []) {
      if (!isHostCheck403(req, f, input.ctx)) continue;
      const key = `${via ?? ''}\0${req.host ?? ''}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { via, host: req.host, n: 0, clients: new Set(), first: req.ts, last: req.ts, example: `${req.method} ${req.path ?? ''}` }));
      g.n++;
      g.clients.add(f.initiator_addr);
      g.first = Math.min(g.first, req.ts);
      g.last = Math.max(g.last, req.ts);
    }
  }
  return [...groups.values()].map((g) => ({
    via: g.via, host: g.host, requests: g.n, clients: [...g.clients].sort(),
    first_seen: isoMicros(g.first), last_seen: isoMicros(g.last), example: g.example,
  }));
}

/** The finding's sentence: the advice the field learned the hard way (ollama/ollama#3269). */
export function hostTrapMessage(g: HostTrapGroup): string {
  const host = g.host ?? '(none)';
  if (g.via !== null) {
    return `requests through ${g.via} with Host: ${host} got 403 from Ollama's host check (${g.requests} seen): `
      + `set \`proxy_set_header Host localhost:${OLLAMA_API_PORT}\` (nginx) or the equivalent`;
  }
  return `requests from ${g.clients.join(', ')} with Host: ${host} got 403 from Ollama's host check (${g.requests} seen): `
    + `call the API with Host localhost:${OLLAMA_API_PORT} (or an IP, *.local, *.internal); behind a proxy set \`proxy_set_header Host localhost:${OLLAMA_API_PORT}\` (nginx) or the equivalent`;
}
