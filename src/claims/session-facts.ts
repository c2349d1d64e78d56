/**
 * What the claims engine knows about one stored session: its row, and per flow the facts claims
 * match on (direction, far end, names, owner). Loading is the only part that touches the
 * database; everything after works on these plain objects.
 */
import type { Db } from '../store/open-db.js';
import { hostWithoutPort, normalizeHostname } from '../knowledge/hostname.js';
import { OLLAMA_API_PORT } from '../knowledge/ports.js';
import { apiEndpoint } from '../knowledge/api-endpoints.js';
import { TCP_STATE_SYN, TCP_STATE_SYNACK } from '../flows/flow.js';
import { connOutcome, type ConnOutcome } from '../flows/conn-state.js';
import { isIP } from 'node:net';

export interface SessionRow {
  id: number; kind: string; source: string; format: string | null; interfaces: string;
  started_at: number | null; ended_at: number | null; packets: number; drops: number | null;
  loss_estimate: number | null;
  /** JSON {kind: count} of flows closed before their time (schema migration 6). */
  expired_early: string;
}

export interface FlowRow {
  id: number; session_id: number; seq: number; proto: number; initiator_addr: string; initiator_port: number;
  responder_addr: string; responder_port: number; first_seen: number; last_seen: number;
  packets_in: number; bytes_out: number; bytes_in: number; tcp_state: number; hostname: string | null;
  sni: string | null; http_method: string | null; http_path: string | null; http_host: string | null;
  connect_host: string | null; dns_name: string | null; activity: string; process_seq: number | null;
  conn_state: string | null; history: string | null;
  pid: number | null; comm: string | null; ollama_tree: number | null;
  /** The responder's process when both ends are local (flows.peer_process_seq). */
  peer_pid: number | null; peer_comm: string | null;
}

export interface DnsRow { flow_seq: number; ts: number; query: string }
export interface HttpRow { flow_seq: number; ts: number; response_ts: number | null; method: string; path: string | null; is_connect: number }

export interface SessionRows {
  session: SessionRow;
  flows: FlowRow[];
  dns: DnsRow[];
  http: HttpRow[];
  processCount: number;
}

export type FlowDirection = 'outbound' | 'inbound' | 'loopback';

export interface FlowFact {
  id: number;
  seq: number;
  proto: number;
  initiatorAddr: string;
  responderAddr: string;
  responderPort: number;
  /** The end that is not this host: the responder of an outbound flow, the initiator of an inbound one. */
  farAddr: string;
  farPort: number;
  firstSeen: number;
  lastSeen: number;
  bytes: number;
  activity: string;
  /** Best name of the responder, or for a DNS flow its first query. */
  hostname: string | null;
  /** Every name the flow carries (normalised): name fields and DNS queries. */
  names: string[];
  dnsQueries: string[];
  direction: FlowDirection;
  viaProxy: boolean;
  answered: boolean;
  /** Zeek's conn_state and history (null: stored before they were recorded). */
  connState: string | null;
  history: string | null;
  /** What came of it: unanswered (S0...), rejected (REJ) or connected; null when the state is unknown. */
  outcome: ConnOutcome | null;
  /**
   * Of `process`: 'ollama': a process of the Ollama tree; 'other': another process; null: no
   * process known. A local client's flow to a local server is the client's, not the server's.
   */
  owner: 'ollama' | 'other' | null;
  /** Could a process own it? Kernel traffic (ND, MLD, ICMP errors) cannot. */
  attributable: boolean;
  /** The initiator's process when the initiator is local, else the local responder's. */
  process: { pid: number; name: string } | null;
  /** The responder's process when both ends are local (e.g. the Ollama server a local client asked). */
  peerProcess: { pid: number; name: string } | null;
  isApi: boolean;
}

/** An HTTP request on an API flow: what cause-and-effect chains start from. */
export interface ApiRequest {
  flowId: number;
  method: string;
  path: string | null;
  activity: string;
  client: string;
  /** The program that sent the request when it ran on this host and is known: the API flow's process. */
  clientProcess: { pid: number; name: string } | null;
  /** The server that answered it when known: the flow's peer (local client) or its process (remote client). */
  serverProcess: { pid: number; name: string } | null;
  ts: number;
  /** µs when it was over: the next request on the same connection, or the connection's last packet. */
  end: number;
}

export interface SessionFacts {
  rows: SessionRows;
  flows: FlowFact[];
  requests: ApiRequest[];
  attribution: boolean;
}

const TCP = 6;
const UDP = 17;
const SCTP = 132;
const ICMP = 1;
const ICMPV6 = 58;

export function sessionIds(db: Db): number[] {
  return (db.prepare('SELECT id FROM sessions ORDER BY id').all() as { id: number }[]).map((r) => r.id);
}

export function loadSession(db: Db, id: number): SessionRows | null {
  const session = db.prepare(`SELECT id, kind, source, format, interfaces, started_at, ended_at, packets, drops, loss_estimate, expired_early
    FROM sessions WHERE id = ?`).get(id) as SessionRow | undefined;
  if (!session) return null;
  const flows = db.prepare(`SELECT f.id, f.session_id, f.seq, f.proto, f.initiator_addr, f.initiator_port, f.responder_addr,
      f.responder_port, f.first_seen, f.last_seen, f.packets_in, f.bytes_out, f.bytes_in, f.tcp_state, f.hostname, f.sni,
      f.http_method, f.http_path, f.http_host, f.connect_host, f.dns_name, f.activity, f.process_seq,
      f.conn_state, f.history, p.pid, p.comm, p.ollama_tree, q.pid AS peer_pid, q.comm AS peer_comm
    FROM flows f LEFT JOIN processes p ON p.session_id = f.session_id AND p.seq = f.process_seq
      LEFT JOIN processes q ON q.session_id = f.session_id AND q.seq = f.peer_process_seq
    WHERE f.session_id = ? ORDER BY f.first_seen, f.id`).all(id) as FlowRow[];
  const dns = db.prepare('SELECT flow_seq, ts, query FROM dns WHERE session_id = ? ORDER BY ts').all(id) as DnsRow[];
  const http = db.prepare('SELECT flow_seq, ts, response_ts, method, path, is_connect FROM http WHERE session_id = ? ORDER BY ts').all(id) as HttpRow[];
  const { n } = db.prepare('SELECT count(*) AS n FROM processes WHERE session_id = ?').get(id) as { n: number };
  return { session, flows, dns, http, processCount: n };
}

/** Derives the per-flow facts and API requests of a loaded session. Pure. */
export function sessionFacts(rows: SessionRows): SessionFacts {
  const queries = new Map<number, string[]>();
  for (const d of rows.dns) {
    const q = normalizeHostname(d.query);
    if (q === '') continue;
    const list = queries.get(d.flow_seq) ?? [];
    if (!list.includes(q)) list.push(q);
    queries.set(d.flow_seq, list);
  }
  const local = localAddrs(rows.flows);
  const flows = rows.flows.map((f) => flowFact(f, queries.get(f.seq) ?? [], local));
  // A live capture looks every flow up in procfs, so it has attribution even when nothing was
  // attributed (an idle host); an imported file has it only when its packets named processes.
  const attribution = rows.session.kind === 'live' || rows.processCount > 0;
  return { rows, flows, requests: apiRequests(rows, flows), attribution };
}

function flowFact(f: FlowRow, dnsQueries: string[], local: Set<string>): FlowFact {
  const direction = directionOf(f, local);
  const inbound = direction === 'inbound';
  const names = [f.hostname, f.sni, f.connect_host && hostWithoutPort(f.connect_host), f.http_host && hostWithoutPort(f.http_host), f.dns_name]
    .filter((n): n is string => !!n)
    .map(normalizeHostname);
  return {
    id: f.id,
    seq: f.seq,
    proto: f.proto,
    initiatorAddr: f.initiator_addr,
    responderAddr: f.responder_addr,
    responderPort: f.responder_port,
    farAddr: inbound ? f.initiator_addr : f.responder_addr,
    farPort: inbound ? f.initiator_port : f.responder_port,
    firstSeen: f.first_seen,
    lastSeen: f.last_seen,
    bytes: f.bytes_out + f.bytes_in,
    activity: f.activity,
    hostname: f.hostname ?? dnsQueries[0] ?? null,
    names: [...new Set([...names, ...dnsQueries])],
    dnsQueries,
    direction,
    viaProxy: f.connect_host !== null || (f.http_path !== null && /^https?:\/\//i.test(f.http_path)),
    answered: answered(f),
    connState: f.conn_state,
    history: f.history,
    outcome: connOutcome(f.conn_state, f.packets_in),
    owner: f.process_seq === null ? null : f.ollama_tree === 1 ? 'ollama' : 'other',
    attributable: attributable(f),
    process: f.pid === null ? null : { pid: f.pid, name: f.comm ?? '' },
    peerProcess: f.peer_pid === null ? null : { pid: f.peer_pid, name: f.peer_comm ?? '' },
    isApi: isApiActivity(f.activity),
  };
}

export function isApiActivity(activity: string): boolean {
  return activity === 'api' || activity.startsWith('api:');
}

export function isLoopbackText(addr: string): boolean {
  if (isIP(addr) === 4) return addr.startsWith('127.');
  const a = addr.toLowerCase();
  return a === '::1' || /^::ffff:127\./.test(a);
}

/**
 * This host's addresses as far as the session shows them: the client end of flows a process of
 * this host owns (a process is only ever attributed on the host that ran it). Without attribution
 * none is known: a connection to the API port from a non-loopback address is inbound, every other
 * flow with a non-loopback end outbound, since captures are taken on the audited host.
 */
function localAddrs(flows: FlowRow[]): Set<string> {
  const local = new Set<string>();
  for (const f of flows) {
    // A known peer: both ends are this host's. Otherwise an API flow's process may be the server.
    if (f.peer_pid !== null) local.add(f.initiator_addr).add(f.responder_addr);
    else if (f.process_seq !== null && !isApiActivity(f.activity)) local.add(f.initiator_addr);
  }
  return local;
}

function directionOf(f: FlowRow, local: Set<string>): FlowDirection {
  const li = isLoopbackText(f.initiator_addr);
  const lr = isLoopbackText(f.responder_addr);
  if (li && lr) return 'loopback';
  if (li) return 'outbound';
  const toApi = isApiActivity(f.activity) || f.responder_port === OLLAMA_API_PORT;
  // A connection to a remote Ollama API from here is outbound: its client end is a known local address.
  if (toApi) return local.has(f.initiator_addr) && !local.has(f.responder_addr) ? 'outbound' : 'inbound';
  return local.has(f.responder_addr) && !local.has(f.initiator_addr) ? 'inbound' : 'outbound';
}

function answered(f: FlowRow): boolean {
  if (f.proto === TCP && (f.tcp_state & TCP_STATE_SYN) !== 0) return (f.tcp_state & TCP_STATE_SYNACK) !== 0;
  return f.packets_in > 0;
}

/** ICMP echo (8) and ICMPv6 echo (128) come from a process (ping); other ICMP is the kernel's. */
function attributable(f: FlowRow): boolean {
  if (f.proto === TCP || f.proto === UDP || f.proto === SCTP) return true;
  if (f.proto === ICMP) return f.initiator_port === 8;
  if (f.proto === ICMPV6) return f.initiator_port === 128;
  return false;
}

/**
 * Who asked and who answered on an API flow. With a peer both ends are local: the process is the
 * client, the peer the server. Without one, a loopback flow's process is still its client (the
 * server's socket was not found); an inbound flow's only local process is the server.
 */
function apiEnds(f: FlowFact): Pick<ApiRequest, 'clientProcess' | 'serverProcess'> {
  if (f.peerProcess !== null || f.direction === 'loopback') return { clientProcess: f.process, serverProcess: f.peerProcess };
  return f.direction === 'inbound' ? { clientProcess: null, serverProcess: f.process } : { clientProcess: f.process, serverProcess: null };
}

function apiRequests(rows: SessionRows, flows: FlowFact[]): ApiRequest[] {
  const bySeq = new Map(flows.map((f) => [f.seq, f]));
  const perFlow = new Map<number, HttpRow[]>();
  for (const h of rows.http) {
    const f = bySeq.get(h.flow_seq);
    if (!f || !f.isApi || h.is_connect === 1) continue;
    perFlow.set(h.flow_seq, [...(perFlow.get(h.flow_seq) ?? []), h]);
  }
  const out: ApiRequest[] = [];
  for (const [seq, list] of perFlow) {
    const f = bySeq.get(seq)!;
    list.forEach((h, i) => {
      const next = list[i + 1];
      const ep = h.path === null ? null : apiEndpoint(h.path);
      out.push({
        flowId: f.id,
        method: h.method,
        path: h.path,
        activity: ep ? `api:${ep.route}` : 'api',
        client: f.initiatorAddr,
        ...apiEnds(f),
        ts: h.ts,
        end: next ? next.ts : Math.max(f.lastSeen, h.response_ts ?? 0),
      });
    });
  }
  return out.sort((a, b) => a.ts - b.ts || a.flowId - b.flowId);
}
