/**
 * Cause and effect on the plaintext API port: each inbound request (an http row on an API flow)
 * is linked to the flows it made the Ollama tree open: an `/api/pull` from 192.168.1.5 at T ->
 * the DNS lookups, registry and CDN connections that start between the request and its end
 * (plus a short grace). A flow is linked once, to the nearest request before it.
 *
 * With process attribution the candidates are the Ollama tree's own flows (link `process`).
 * Without it they are flows to Ollama destinations, DNS lookups of Ollama names and runner
 * traffic (link `timing`): another program's flow to the same place at the same time would be
 * linked too, which the link kind says.
 */
import { isoMicros } from '../store/format-time.js';
import { THRESHOLDS } from './coverage.js';
import type { ApiRequest, FlowFact, SessionFacts } from './session-facts.js';

export interface ChainRequest {
  flow_id: number;
  method: string;
  path: string | null;
  activity: string;
  client: string;
  /** The local program that sent the request ({pid, name}), when known: the API flow's process. */
  client_process: { pid: number; name: string } | null;
  /** The server that answered (the Ollama server), when known: the flow's peer, or its process for a remote client. */
  server_process: { pid: number; name: string } | null;
  ts: string;
}

export interface CausedFlow {
  flow_id: number;
  activity: string;
  hostname: string | null;
  far_addr: string;
  far_port: number;
  first_seen: string;
}

export interface Chain {
  session_id: number;
  request: ChainRequest;
  /** `process`: the caused flows are the Ollama tree's (attribution); `timing`: linked by time and destination only. */
  link: 'process' | 'timing';
  caused: CausedFlow[];
}

export interface SessionChains {
  chains: Chain[];
  /** flow id -> the request that caused it. */
  causeOf: Map<number, ApiRequest>;
}

const DESTINATION_ACTIVITIES = new Set(['registry', 'blob-download', 'ollama-com', 'dns', 'runner']);

function candidate(f: Readonly<FlowFact>, attribution: boolean): boolean {
  if (f.isApi || f.direction === 'inbound') return false;
  return attribution ? f.owner === 'ollama' : DESTINATION_ACTIVITIES.has(f.activity);
}

export function buildChains(s: SessionFacts): SessionChains {
  const graceUs = THRESHOLDS.request_grace_s * 1e6;
  const causeOf = new Map<number, ApiRequest>();
  const caused = new Map<ApiRequest, FlowFact[]>(s.requests.map((r) => [r, []]));
  s.flows.scan((f, i) => {
    if (!candidate(f, s.attribution)) return;
    const req = nearestRequest(s.requests, f.firstSeen, graceUs);
    if (!req) return;
    causeOf.set(f.id, req);
    caused.get(req)!.push(s.flows.at(i));
  });
  const link = s.attribution ? 'process' : 'timing';
  const sessionId = s.rows.session.id;
  const chains = s.requests.map((r): Chain => ({
    session_id: sessionId,
    request: {
      flow_id: r.flowId, method: r.method, path: r.path, activity: r.activity, client: r.client,
      client_process: r.clientProcess, server_process: r.serverProcess, ts: isoMicros(r.ts),
    },
    link,
    caused: caused.get(r)!.map(causedFlow),
  }));
  return { chains, causeOf };
}

/** The latest request that began at or before `t` and whose effects may still start at `t`. */
function nearestRequest(requests: readonly ApiRequest[], t: number, graceUs: number): ApiRequest | null {
  let best: ApiRequest | null = null;
  for (const r of requests) {
    if (r.ts > t) break;
    if (t <= r.end + graceUs) best = r;
  }
  return best;
}

function causedFlow(f: FlowFact): CausedFlow {
  return { flow_id: f.id, activity: f.activity, hostname: f.hostname, far_addr: f.farAddr, far_port: f.farPort, first_seen: isoMicros(f.firstSeen) };
}
