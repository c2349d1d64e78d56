/**
 * Names the far end of each flow from its first bytes, and emits DNS and HTTP records.
 *
 *   const enricher = createEnricher(sink);   // sink: { dns(rec: DnsRecord): void; http(rec: HttpRecord): void }
 *   enricher.onFlowOpen(flow);                // once, when the flow table makes the Flow: names the
 *                                             // responder from the DNS cache (flow.dnsName, and flow.hostname
 *                                             // if nothing better comes) and decides whether to look further
 *   enricher.onPacket(flow, dir, pkt, d);     // every packet of every flow (dir: DIR_OUT / DIR_IN)
 *   enricher.onDatagram(flow, dir, payload, ts); // a UDP datagram reassembled from IP fragments
 *   enricher.onFlowClose(flow);               // flushes pending records (unanswered DNS queries, HTTP
 *                                             // requests without a response) and drops per-flow state
 *
 * What is read, by flow:
 *  - UDP on a DNS-shaped port (53, 5353, 5355): every message (see dns.ts); the flow stays watched.
 *  - TCP on port 53: DNS over TCP (2-byte length prefix, RFC 7766) from both stream heads.
 *  - other TCP: the initiator's first bytes decide. A TLS handshake record: the ClientHello
 *    (SNI, ALPN, versions). A known HTTP method: HTTP/1.x requests and responses (http-session.ts),
 *    and after a successful CONNECT the tunnel's ClientHello. Anything else: nothing more.
 *  - everything else (ICMP, other UDP, QUIC): only the DNS-cache name.
 * Flow naming precedence: sni > connect > http > dns (naming.ts).
 *
 * onFlowOpen must come before the flow's first onPacket (the SYN fixes where each stream starts).
 * A TCP segment cut by the snapshot length leaves a hole in its stream head: the flow is then
 * simply not named from that direction (never named wrongly).
 *
 * flow.enrich holds this module's per-flow state and is set to null as soon as nothing more
 * can be learned; onPacket then returns at once. The per-packet path allocates nothing except
 * the bounded copy of a watched flow's first bytes into its stream heads.
 */
import type { Packet } from '../capture/packet.js';
import { IPPROTO, TCP_SYN, type Decoded } from '../decode/decoded.js';
import { DIR_OUT, type Flow } from '../flows/flow.js';
import { createDnsCache, type DnsCache } from './dns-cache.js';
import { DNS_PORT, dnsFlush, dnsOnMessage, isDnsPort, newDnsSession, type DnsSession, type DnsStats } from './dns.js';
import { HTTP_BAD, HTTP_NEED_MORE, startsWithMethod } from './http.js';
import {
  httpFinished, httpFlush, httpOnRequests, httpOnResponses, httpTunnelDone, httpTunnelStart, newHttpSession,
  type HttpSession,
} from './http-session.js';
import { offerHostname } from './naming.js';
import type { EnrichSink } from './records.js';
import { headAdd, headFull, headRelease, headSlide, headSyn, headTsAt, newStreamHead, type StreamHead } from './stream-head.js';
import { newClientHelloInfo, parseClientHello, TLS_NEED_MORE, TLS_PARSED, type ClientHelloInfo } from './tls-client-hello.js';

export type { DnsRecord, DnsAnswer, HttpRecord, EnrichSink } from './records.js';

/** Bytes of each direction's stream window: a ClientHello (≤ 16 KiB), or an HTTP head (HTTP slides it per message). */
export const HEAD_BUDGET = 16384;
/** DNS over TCP: a window for one message of the largest size (2-byte length + 65535). */
const DNS_TCP_BUDGET = 65537;

const K_UNKNOWN = 0;
const K_TLS = 1;
const K_HTTP = 2;
const K_DNS_TCP = 3;
const K_DNS_UDP = 4;

interface FlowState {
  kind: number;
  /**
   * Stream heads by direction (TCP only), made when the first segment has to be kept: most
   * flows are told apart (or named) from their first data segment in place and never need them.
   */
  heads: [StreamHead, StreamHead] | null;
  /** Head budget of each direction (TCP only). */
  budget: number;
  /** Stream start (SYN seq + 1) by direction, noted before the heads exist; -1 when no SYN was seen. */
  start0: number;
  start1: number;
  http: HttpSession | null;
  dns: DnsSession | null;
}

export interface EnrichStats extends DnsStats {
  /** ClientHellos read, and flows whose first bytes looked like TLS but did not parse. */
  clientHellos: number;
  badClientHellos: number;
  httpRequests: number;
  /** UDP DNS messages cut by the capture's snapshot length (not decoded). */
  truncatedDns: number;
}

export interface Enricher {
  /**
   * `held`: the flow table held this flow without a Flow object so far (flow-table.ts count()):
   * its dnsName is already the cache's name as of its first packet. `synSeq` ≥ 0: it was made of
   * bare SYNs from its initiator, all with this sequence number: its stream starts after it.
   */
  onFlowOpen(flow: Flow, held?: boolean, synSeq?: number): void;
  onPacket(flow: Flow, dir: number, pkt: Packet, d: Decoded): void;
  /** The UDP payload of a datagram that came in IP fragments, once they are all in (`ts`: the last one's time). */
  onDatagram(flow: Flow, dir: number, payload: Buffer, ts: number): void;
  onFlowClose(flow: Flow): void;
  readonly dnsCache: DnsCache;
  readonly stats: EnrichStats;
}

export interface EnricherOptions {
  /** Share a cache across sessions (e.g. a daemon that rotates sessions). */
  dnsCache?: DnsCache;
}

export function createEnricher(sink: EnrichSink, opts: EnricherOptions = {}): Enricher {
  const cache = opts.dnsCache ?? createDnsCache();
  const stats: EnrichStats = { malformed: 0, clientHellos: 0, badClientHellos: 0, httpRequests: 0, truncatedDns: 0 };
  const hello: ClientHelloInfo = newClientHelloInfo();
  // Counts what is emitted on the way to the caller's sink.
  const countingSink: EnrichSink = {
    dns: (r) => sink.dns(r),
    http: (r) => { stats.httpRequests++; sink.http(r); },
  };

  function onFlowOpen(flow: Flow, held = false, synSeq = -1): void {
    // A flow the table held without a Flow got its name from the cache at its first packet.
    const name = held ? flow.dnsName : cache.nameFor(flow.responderAddr, flow.responderAddr.length, flow.firstSeen);
    flow.dnsName = name;
    offerHostname(flow, 'dns', name);
    const st = initialState(flow);
    flow.enrich = st;
    if (synSeq >= 0 && st !== null) noteSyn(st, DIR_OUT, synSeq);
  }

  function onPacket(flow: Flow, dir: number, pkt: Packet, d: Decoded): void {
    const st = flow.enrich as FlowState | null | undefined;
    if (st === null || st === undefined) return;
    if (st.kind === K_DNS_UDP) {
      // A fragmented datagram comes whole through onDatagram once its fragments are in.
      if (d.payloadLen === 0 || st.dns === null || d.fragment !== 0) return;
      if (d.payloadLen < d.payloadWireLen) { stats.truncatedDns++; return; } // cut by the snapshot length
      dnsOnMessage(st.dns, flow.id, pkt.buf.subarray(d.payloadOff, d.payloadOff + d.payloadLen), pkt.ts,
        cache, countingSink, stats);
      return;
    }
    let seq = d.tcpSeq;
    if ((d.tcpFlags & TCP_SYN) !== 0) {
      noteSyn(st, dir, seq);
      seq = (seq + 1) >>> 0; // data on a SYN (TCP Fast Open) starts after it
    }
    if (d.payloadLen === 0) return;
    // Most flows are neither TLS nor HTTP: tell from the initiator's first segment, in place,
    // before copying anything into a stream head.
    // A ClientHello that fits in that segment (the usual case) is read there too.
    if (st.kind === K_UNKNOWN && dir === DIR_OUT && st.heads === null && (st.start0 === -1 || seq === st.start0)) {
      const kind = sniffBytes(pkt.buf, d.payloadOff, d.payloadOff + d.payloadLen);
      if (kind === -1 || (kind === K_TLS && readClientHelloAt(flow, pkt.buf, d.payloadOff, d.payloadOff + d.payloadLen, false))) {
        finish(flow, st);
        return;
      }
    }
    const h = headsOf(st)[dir];
    if (!headAdd(h, seq, pkt.buf, d.payloadOff, d.payloadLen, pkt.ts)) return;
    advance(flow, st, dir);
  }

  function onDatagram(flow: Flow, _dir: number, payload: Buffer, ts: number): void {
    const st = flow.enrich as FlowState | null | undefined;
    if (st === null || st === undefined || st.kind !== K_DNS_UDP || st.dns === null) return;
    dnsOnMessage(st.dns, flow.id, payload, ts, cache, countingSink, stats);
  }

  function onFlowClose(flow: Flow): void {
    const st = flow.enrich as FlowState | null | undefined;
    if (st === null || st === undefined) return;
    finish(flow, st);
  }

  /** Reads what the heads now hold; drops the flow's state once nothing more can come. */
  function advance(flow: Flow, st: FlowState, dir: number): void {
    const heads = st.heads as [StreamHead, StreamHead];
    if (st.kind === K_UNKNOWN) st.kind = sniff(heads, dir);
    switch (st.kind) {
      case K_UNKNOWN:
        return;
      case K_TLS:
        if (readClientHello(flow, heads[0], 0)) finish(flow, st);
        return;
      case K_HTTP:
        return advanceHttp(flow, st, heads);
      case K_DNS_TCP:
        return advanceDnsTcp(flow, st, heads, dir);
      default:
        finish(flow, st);
    }
  }

  function advanceHttp(flow: Flow, st: FlowState, heads: [StreamHead, StreamHead]): void {
    const s = st.http ?? (st.http = newHttpSession());
    httpOnRequests(s, heads[0], flow);
    httpOnResponses(s, heads[1], flow, countingSink);
    // Responses may have opened a tunnel or unblocked requests (a refused CONNECT).
    httpOnRequests(s, heads[0], flow);
    const tunnel = httpTunnelStart(s);
    if (tunnel >= 0 && readClientHello(flow, heads[0], tunnel)) httpTunnelDone(s);
    if (httpFinished(s)) finish(flow, st);
  }

  function advanceDnsTcp(flow: Flow, st: FlowState, heads: [StreamHead, StreamHead], dir: number): void {
    const s = st.dns as DnsSession;
    const h = heads[dir];
    let c = s.cursor[dir];
    while (h.contig - c >= 2) {
      const len = h.buf.readUInt16BE(c);
      if (h.contig - c - 2 < len) break;
      dnsOnMessage(s, flow.id, h.buf.subarray(c + 2, c + 2 + len), headTsAt(h, c), cache, countingSink, stats);
      c += 2 + len;
    }
    // Slide past the messages read: every message of a long DNS-over-TCP connection (RFC 7766
    // pipelining) is read with a window of one message's size.
    headSlide(h, c);
    s.cursor[dir] = 0;
  }

  /**
   * Reads a ClientHello at `start` in the initiator's head and names the flow from it.
   * Returns true when done (read, or certainly not to be read).
   */
  function readClientHello(flow: Flow, h: StreamHead, start: number): boolean {
    return readClientHelloAt(flow, h.buf, start, h.contig, headFull(h));
  }

  /** Reads a ClientHello in buf[start, end): true when done with it (named, or not TLS); false when it needs more bytes. */
  function readClientHelloAt(flow: Flow, buf: Buffer, start: number, end: number, noMoreComing: boolean): boolean {
    const r = parseClientHello(buf, start, end, hello);
    if (r === TLS_NEED_MORE) return noMoreComing;
    if (r !== TLS_PARSED) {
      stats.badClientHellos++;
      return true;
    }
    stats.clientHellos++;
    if (flow.sni === null) {
      flow.sni = hello.sni;
      flow.alpn = hello.alpn;
    }
    offerHostname(flow, 'sni', hello.sni);
    return true;
  }

  function finish(flow: Flow, st: FlowState): void {
    if (st.http !== null) httpFlush(st.http, countingSink);
    if (st.dns !== null) dnsFlush(st.dns, countingSink);
    if (st.heads !== null) {
      headRelease(st.heads[0]);
      headRelease(st.heads[1]);
    }
    flow.enrich = null;
  }

  return { onFlowOpen, onPacket, onDatagram, onFlowClose, dnsCache: cache, stats };
}

function initialState(flow: Flow): FlowState | null {
  if (flow.proto === IPPROTO.UDP) {
    if (!isDnsPort(flow.responderPort) && !isDnsPort(flow.initiatorPort)) return null;
    return { kind: K_DNS_UDP, heads: null, budget: 0, start0: -1, start1: -1, http: null, dns: newDnsSession('udp') };
  }
  if (flow.proto !== IPPROTO.TCP) return null;
  const dnsTcp = flow.responderPort === DNS_PORT || flow.initiatorPort === DNS_PORT;
  return {
    kind: dnsTcp ? K_DNS_TCP : K_UNKNOWN,
    heads: null,
    budget: dnsTcp ? DNS_TCP_BUDGET : HEAD_BUDGET,
    start0: -1,
    start1: -1,
    http: null,
    dns: dnsTcp ? newDnsSession('tcp') : null,
  };
}

/** A SYN (or SYN-ACK) fixes where its direction's stream starts, unless that is already fixed. */
function noteSyn(st: FlowState, dir: number, seq: number): void {
  if (st.heads !== null) {
    headSyn(st.heads[dir], seq);
    return;
  }
  const start = (seq + 1) >>> 0;
  if (dir === DIR_OUT) {
    if (st.start0 === -1) st.start0 = start;
  } else if (st.start1 === -1) {
    st.start1 = start;
  }
}

function headsOf(st: FlowState): [StreamHead, StreamHead] {
  if (st.heads !== null) return st.heads;
  const heads: [StreamHead, StreamHead] = [newStreamHead(st.budget), newStreamHead(st.budget)];
  if (st.start0 !== -1) headSyn(heads[0], (st.start0 - 1) >>> 0);
  if (st.start1 !== -1) headSyn(heads[1], (st.start1 - 1) >>> 0);
  st.heads = heads;
  return heads;
}

/**
 * What the initiator's first bytes say the flow is. Stays K_UNKNOWN while too few bytes are
 * in; gives up (-1) when they match nothing, or when the responder has filled its head before
 * the initiator said anything (a server-speaks-first protocol).
 */
function sniff(heads: [StreamHead, StreamHead], dir: number): number {
  const out = heads[DIR_OUT];
  if (out.contig === 0) return dir !== DIR_OUT && headFull(heads[1]) ? -1 : K_UNKNOWN;
  const kind = sniffBytes(out.buf, 0, out.contig);
  if (kind === K_TLS) headRelease(heads[1]); // the server's TLS bytes name nothing: stop keeping them
  return kind;
}

/** What a stream's first bytes [off, end) say it is: K_TLS, K_HTTP, K_UNKNOWN (need more) or -1 (neither). */
function sniffBytes(buf: Buffer, off: number, end: number): number {
  if (buf[off] === 0x16) return K_TLS;
  const m = startsWithMethod(buf, off, end);
  if (m === HTTP_NEED_MORE) return K_UNKNOWN;
  if (m === HTTP_BAD) return -1;
  return K_HTTP;
}
