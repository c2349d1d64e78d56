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
import { isCloudModel } from '../knowledge/model-names.js';
import { isoMicros } from '../store/format-time.js';
import { THRESHOLDS } from './coverage.js';
import type { ApiRequest, FlowFact, SessionFacts } from './session-facts.js';

export interface ChainRequest {
  flow_id: number;
  method: string;
  path: string | null;
  /** The model the request named (its body's `model`), when read; null otherwise. */
  model: string | null;
  /** Why there is no model (README "Model names in API requests"): `past-limit`, `unread`...; `found` with one; null: a route whose model is not read. */
  model_status: string | null;
  /** The model is an Ollama cloud model (`*:cloud` / `*-cloud`): the request is cloud use, served through ollama.com. */
  cloud_model: boolean;
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
      flow_id: r.flowId, method: r.method, path: r.path, model: r.model, model_status: r.modelStatus, cloud_model: r.model !== null && isCloudModel(r.model), activity: r.activity, client: r.client,
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

/**
 * What a chain says in words: "request for gpt-oss:120b-cloud (a cloud model) caused a flow to
 * ollama.com". Plain text: whoever prints it makes it visible (text/visible.ts), as each sink escapes its own way.
 */
export function causeSentence(c: Chain): string {
  const r = c.request;
  const unknown = r.model_status !== null && r.model_status !== 'absent' ? ` (model not known: ${r.model_status})` : '';
  const what = r.model === null ? `request${unknown}` : `request for ${r.model}${r.cloud_model ? ' (a cloud model)' : ''}`;
  if (c.caused.length === 0) return `${what} caused no flow`;
  const to = [...new Set(c.caused.map((f) => f.hostname ?? f.far_addr))];
  return `${what} caused ${c.caused.length === 1 ? 'a flow' : `${c.caused.length} flows`} to ${to.join(', ')}`;
}

function causedFlow(f: FlowFact): CausedFlow {
  return { flow_id: f.id, activity: f.activity, hostname: f.hostname, far_addr: f.farAddr, far_port: f.farPort, first_seen: isoMicros(f.firstSeen) };
}
