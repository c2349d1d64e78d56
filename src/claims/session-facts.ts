/**
 * What the claims engine knows about one stored session: its row, and per flow the facts claims
 * match on (direction, far end, names, owner). Loading is the only part that touches the
 * database; everything after works on these plain objects.
 */
import type { Db } from '../store/open-db.js';
import {
  claimDns, claimFlowCount, claimFlows, claimHttp, claimSession, localEndRows,
  type ClaimDnsRow, type ClaimFlowRow, type ClaimHttpRow, type ClaimSessionRow, type LocalEndRow,
} from '../store/read/claim-rows.js';
import { processCount } from '../store/read/sessions.js';
import { hostWithoutPort, normalizeHostname } from '../knowledge/hostname.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, OLLAMA_API_PORT } from '../knowledge/ports.js';
import { isApiActivity } from '../knowledge/activity.js';
import { apiEndpoint } from '../knowledge/api-endpoints.js';
import { TCP_STATE_SYN, TCP_STATE_SYNACK } from '../flows/flow.js';
import { connOutcome, type ConnOutcome } from '../flows/conn-state.js';
import { isIP } from 'node:net';
import { FlowFacts, type FlowKind } from './flow-facts.js';

export type SessionRow = ClaimSessionRow;
export type FlowRow = ClaimFlowRow;
export type DnsRow = ClaimDnsRow;
export type HttpRow = ClaimHttpRow;

/** A session's row and its small tables; its flows live only as FlowFacts (a session may hold millions). */
export interface SessionRows {
  session: SessionRow;
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
  names: readonly string[];
  dnsQueries: readonly string[];
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
  /** The model the request named in its body (http.model), when read; why not (http.model_status; null: not a model route). */
  model: string | null;
  modelStatus: string | null;
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
  /** In (first_seen, id) order, in columns (flow-facts.ts). */
  flows: FlowFacts;
  requests: ApiRequest[];
  attribution: boolean;
}

const TCP = IPPROTO_TCP;
const UDP = IPPROTO_UDP;
const SCTP = IPPROTO_SCTP;
const ICMP = IPPROTO_ICMP;
const ICMPV6 = IPPROTO_ICMPV6;

export { sessionIds } from '../store/read/sessions.js';

/**
 * Reads one session's facts: flows are read one at a time and kept in columns (flow-facts.ts),
 * what many flows share once, so a million flows take tens of MB, not hundreds.
 */
export function loadSessionFacts(db: Db, id: number): SessionFacts | null {
  const session = claimSession(db, id);
  if (!session) return null;
  const rows: SessionRows = { session, dns: claimDns(db, id), http: claimHttp(db, id), processCount: processCount(db, id) };
  const queries = dnsQueriesBySeq(rows.dns);
  const local = localAddrs(localEndRows(db, id));
  const shared = new Interner();
  const flows = new FlowFacts(claimFlowCount(db, id));
  for (const f of claimFlows(db, id)) addFlow(flows, f, queries.get(f.seq) ?? NO_NAMES, local, shared);
  return sessionFacts(rows, flows);
}

/** A session's facts from its rows and the facts of its flows (loadSessionFacts reads both). */
export function sessionFacts(rows: SessionRows, flows: FlowFacts = new FlowFacts(0)): SessionFacts {
  // A live capture looks every flow up in procfs, so it has attribution even when nothing was
  // attributed (an idle host); an imported file has it only when its packets named processes.
  const attribution = rows.session.kind === 'live' || rows.processCount > 0;
  return { rows, flows, requests: apiRequests(rows, flows), attribution };
}

const NO_NAMES: readonly string[] = Object.freeze([]);

function dnsQueriesBySeq(dns: readonly DnsRow[]): Map<number, string[]> {
  const queries = new Map<number, string[]>();
  for (const d of dns) {
    const q = normalizeHostname(d.query);
    if (q === '') continue;
    const list = queries.get(d.flow_seq) ?? [];
    if (!list.includes(q)) list.push(q);
    queries.set(d.flow_seq, list);
  }
  return queries;
}

/** One copy of each repeated string and process: a million flows mostly share a few hundred of each. */
class Interner {
  private strings = new Map<string, string>();
  private procs = new Map<string, { pid: number; name: string }>();
  text<T extends string | null>(s: T): T {
    if (s === null) return s;
    const known = this.strings.get(s);
    if (known !== undefined) return known as T;
    this.strings.set(s, s);
    return s;
  }
  process(pid: number | null, name: string | null): { pid: number; name: string } | null {
    if (pid === null) return null;
    const key = `${pid}\u0000${name ?? ''}`;
    let p = this.procs.get(key);
    if (!p) this.procs.set(key, (p = { pid, name: this.text(name ?? '') }));
    return p;
  }
}

/** Adds one flow: its own values in columns, the rest as its kind (made once per distinct kind). */
function addFlow(flows: FlowFacts, f: FlowRow, dnsQueries: readonly string[], local: Set<string>, shared: Interner): void {
  const direction = directionOf(f, local);
  const inbound = direction === 'inbound';
  const viaProxy = f.connect_host !== null || (f.http_path !== null && /^https?:\/\//i.test(f.http_path));
  const outcome = connOutcome(f.conn_state, f.packets_in);
  const owner = f.process_seq === null ? null : f.ollama_tree === 1 ? 'ollama' : 'other';
  const isAnswered = answered(f);
  const canOwn = attributable(f);
  // Every input of the kind, JSON so that no captured text can make two different kinds one key.
  const key = JSON.stringify([f.proto, f.responder_port, f.activity, f.hostname, f.sni, f.connect_host, f.http_host, f.dns_name,
    dnsQueries, direction, viaProxy, isAnswered, f.conn_state, f.history, outcome, owner, canOwn, f.pid, f.comm, f.peer_pid, f.peer_comm]);
  const values = {
    id: f.id, seq: f.seq, firstSeen: f.first_seen, lastSeen: f.last_seen, bytes: f.bytes_out + f.bytes_in,
    initiatorAddr: f.initiator_addr, responderAddr: f.responder_addr, farPort: inbound ? f.initiator_port : f.responder_port,
  };
  flows.push(values, key, (): FlowKind => {
    const names = [f.hostname, f.sni, f.connect_host && hostWithoutPort(f.connect_host), f.http_host && hostWithoutPort(f.http_host), f.dns_name]
      .filter((n): n is string => !!n)
      .map((n) => shared.text(normalizeHostname(n)));
    return {
      proto: f.proto,
      responderPort: f.responder_port,
      activity: shared.text(f.activity),
      hostname: shared.text(f.hostname ?? dnsQueries[0] ?? null),
      names: names.length === 0 ? dnsQueries : [...new Set([...names, ...dnsQueries])],
      dnsQueries,
      direction,
      viaProxy,
      answered: isAnswered,
      connState: shared.text(f.conn_state),
      history: shared.text(f.history),
      outcome,
      owner,
      attributable: canOwn,
      process: shared.process(f.pid, f.comm),
      peerProcess: shared.process(f.peer_pid, f.peer_comm),
      isApi: isApiActivity(f.activity),
    };
  });
}

export { isApiActivity } from '../knowledge/activity.js';

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
function localAddrs(flows: Iterable<LocalEndRow>): Set<string> {
  const local = new Set<string>();
  for (const f of flows) {
    // A known peer: both ends are this host's. Otherwise an API flow's process may be the server.
    if (f.has_peer) local.add(f.initiator_addr).add(f.responder_addr);
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

function apiRequests(rows: SessionRows, flows: FlowFacts): ApiRequest[] {
  const perSeq = new Map<number, HttpRow[]>();
  for (const h of rows.http) {
    if (h.is_connect === 1) continue;
    const list = perSeq.get(h.flow_seq);
    if (list) list.push(h);
    else perSeq.set(h.flow_seq, [h]);
  }
  // The flow of each seq that has requests (the last one, should a seq repeat), as its own object.
  const flowOf = new Map<number, FlowFact>();
  for (let i = 0; i < flows.length; i++) if (perSeq.has(flows.seq(i))) flowOf.set(flows.seq(i), flows.at(i));
  const out: ApiRequest[] = [];
  for (const [seq, list] of perSeq) {
    const f = flowOf.get(seq);
    if (!f || !f.isApi) continue;
    list.forEach((h, i) => {
      const next = list[i + 1];
      const ep = h.path === null ? null : apiEndpoint(h.path);
      out.push({
        flowId: f.id,
        method: h.method,
        path: h.path,
        model: h.model,
        modelStatus: h.model_status,
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
