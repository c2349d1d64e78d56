/**
 * DNS transactions of one flow: queries matched to responses by transaction id and question,
 * one DnsRecord each, and every A/AAAA answer fed to the address -> name cache.
 *
 * DNS-shaped ports: 53 (DNS, UDP and TCP), 5353 (mDNS, RFC 6762) and 5355 (LLMNR, RFC 4795)
 * use the same message format; all three are read, recorded and cached, since a local name
 * (printer.local) naming a LAN flow is as useful as a public one. mDNS announcements carry
 * answers without a question: they are recorded with an empty query. Multicast answers come
 * from the answering host, so on another flow than the query: the query is then emitted
 * unanswered and the answer on its own.
 *
 * Messages are decoded with `dns-packet`; a message it cannot decode is counted, never thrown.
 */
import { createRequire } from 'node:module';
import type { Answer, DecodedPacket } from 'dns-packet';
import { addrKey, type DnsCache } from './dns-cache.js';
import type { DnsAnswer, DnsRecord, EnrichSink } from './records.js';

// Loaded by require, not by `import`: an ES module importing a CommonJS one makes Node lex its
// source for named exports (cjs-module-lexer), and dns-packet's 45 KB made V8 compile that lexer
// three times, each import: about a tenth of an import's instructions on the capture thread
// (bench/RESULTS.md, Import, ninth session).
const dnsPacket = createRequire(import.meta.url)('dns-packet') as typeof import('dns-packet');

export const DNS_PORT = 53;

export { isDnsPort } from '../knowledge/ports.js';

/** Queries waiting for an answer, per flow, at most; the oldest is emitted unanswered beyond. */
const MAX_PENDING = 64;
/** A query unanswered this long is emitted as unanswered (Zeek's dns_session_timeout is 10 s). */
const ANSWER_TIMEOUT_US = 30e6;
/** CNAME hops followed from the question before giving up (a loop, or an absurd chain). */
const MAX_CHAIN = 16;

export interface DnsSession {
  transport: 'udp' | 'tcp';
  pending: DnsRecord[];
  /** DNS over TCP: offset of the next length prefix in each direction's stream head. */
  cursor: [number, number];
}

export interface DnsStats {
  /** Messages dns-packet could not decode. */
  malformed: number;
}

export function newDnsSession(transport: 'udp' | 'tcp'): DnsSession {
  return { transport, pending: [], cursor: [0, 0] };
}

/** Handles one DNS message held in `msg` (exactly the message bytes). */
export function dnsOnMessage(s: DnsSession, flowId: number, msg: Buffer, ts: number,
  cache: DnsCache, sink: EnrichSink, stats: DnsStats): void {
  let m: DecodedPacket;
  try {
    m = dnsPacket.decode(msg);
  } catch {
    stats.malformed++;
    return;
  }
  expire(s, ts, sink);
  const q = m.questions !== undefined && m.questions.length > 0 ? m.questions[0] : null;
  const query = q === null ? '' : normName(q.name);
  const qtype = q === null ? '' : typeName(String(q.type));
  const txid = m.id ?? 0;
  if (!m.flag_qr) {
    if (s.pending.some((p) => p.txid === txid && p.query === query)) return; // a retransmission
    if (s.pending.length >= MAX_PENDING) sink.dns(s.pending.shift() as DnsRecord);
    s.pending.push({
      ts, flowId, transport: s.transport, txid, query, qtype, rcode: null, answers: [], responseTs: null,
    });
    return;
  }
  const answers = (m.answers ?? []).map(toAnswer);
  feedCache(cache, query, answers, ts);
  const rcode = (m as { rcode?: unknown }).rcode;
  const i = s.pending.findIndex((p) => p.txid === txid && (query === '' || p.query === query));
  const rec = i >= 0 ? s.pending.splice(i, 1)[0] : {
    ts, flowId, transport: s.transport, txid, query, qtype, rcode: null, answers: [], responseTs: null,
  };
  rec.rcode = typeof rcode === 'string' ? rcode : 'UNKNOWN';
  rec.answers = answers;
  rec.responseTs = ts;
  sink.dns(rec);
}

/** Emits every query still waiting (no response seen). */
export function dnsFlush(s: DnsSession, sink: EnrichSink): void {
  for (const p of s.pending) sink.dns(p);
  s.pending.length = 0;
}

function expire(s: DnsSession, now: number, sink: EnrichSink): void {
  while (s.pending.length > 0 && now - s.pending[0].ts > ANSWER_TIMEOUT_US) sink.dns(s.pending.shift() as DnsRecord);
}

/**
 * Names every A/AAAA answer's address. Owners on the question's CNAME chain get the question
 * name; any other owner (unrelated records, mDNS announcements) names its address itself.
 */
function feedCache(cache: DnsCache, query: string, answers: DnsAnswer[], ts: number): void {
  const chain = cnameChain(query, answers);
  for (const a of answers) {
    if (a.type !== 'A' && a.type !== 'AAAA') continue;
    const key = addrKey(a.data);
    if (key === null) continue;
    const at = chain.indexOf(a.name);
    if (at >= 0) cache.add(key, { name: query, aliases: chain.slice(1, at + 1), ts, ttl: a.ttl });
    else cache.add(key, { name: a.name, aliases: [], ts, ttl: a.ttl });
  }
}

/** [query, its CNAME target, that target's CNAME target, ...]. */
function cnameChain(query: string, answers: DnsAnswer[]): string[] {
  const chain: string[] = [];
  if (query === '') return chain;
  chain.push(query);
  let cur = query;
  for (let hop = 0; hop < MAX_CHAIN; hop++) {
    const next = answers.find((a) => a.type === 'CNAME' && a.name === cur);
    if (next === undefined) break;
    cur = normName(next.data);
    if (chain.includes(cur)) break;
    chain.push(cur);
  }
  return chain;
}

function toAnswer(a: Answer): DnsAnswer {
  const ttl = 'ttl' in a && typeof a.ttl === 'number' ? a.ttl : 0;
  return { name: normName(a.name), type: typeName(String(a.type)), ttl, data: answerData(a) };
}

function answerData(a: Answer): string {
  switch (a.type) {
    case 'A':
    case 'AAAA':
      return a.data;
    case 'CNAME':
    case 'DNAME':
    case 'NS':
    case 'PTR':
      return normName(a.data);
    case 'MX':
      return `${a.data.preference ?? 0} ${normName(a.data.exchange)}`;
    case 'SRV':
      return `${a.data.priority ?? 0} ${a.data.weight ?? 0} ${a.data.port} ${normName(a.data.target)}`;
    case 'SOA':
      return `${normName(a.data.mname)} ${normName(a.data.rname)} ${a.data.serial ?? 0}`;
    case 'TXT': {
      const parts = Array.isArray(a.data) ? a.data : [a.data];
      return parts.map((p) => (typeof p === 'string' ? p : p.toString('latin1'))).join(' ');
    }
    default:
      return '';
  }
}

/** dns-packet 5 does not know SVCB/HTTPS (RFC 9460), which browsers ask for. */
function typeName(t: string): string {
  if (t === 'UNKNOWN_64') return 'SVCB';
  if (t === 'UNKNOWN_65') return 'HTTPS';
  return t;
}

function normName(n: string): string {
  const l = n.toLowerCase();
  return l.length > 1 && l.endsWith('.') ? l.slice(0, -1) : l;
}
