/**
 * One HTTP/1.x connection seen from its two stream heads: requests from the initiator,
 * responses from the responder, matched in order (RFC 9112 §9.3: responses come back in
 * request order). Emits one HttpRecord per request and fills the flow's http* and connect*
 * fields from the first request.
 *
 * Only requests and responses that start inside the stream-head budget are seen: bodies are
 * skipped by Content-Length or chunked framing, and a later request past the budget (a long
 * keep-alive connection, a large upload) is not seen at all.
 */
import type { Flow } from '../flows/flow.js';
import {
  HTTP_BAD, HTTP_NEED_MORE, newRequestHead, newResponseHead, parseRequestHead, parseResponseHead, skipChunked,
  type RequestHead, type ResponseHead,
} from './http.js';
import { offerHostname, splitHostPort } from './naming.js';
import type { EnrichSink, HttpRecord } from './records.js';
import { headFull, headTsAt, type StreamHead } from './stream-head.js';

// What the next bytes of a direction are.
const S_HEAD = 0;         // a message head starts at the cursor
const S_BODY_CHUNKED = 1; // a chunked body starts at the cursor
const S_WAIT_CONNECT = 2; // (requests) a CONNECT was sent: its response decides what follows
const S_TUNNEL = 3;       // (requests) the tunnel's bytes start at the cursor
const S_DONE = 4;

/** Requests answered or not, kept at most; a client pipelining more is not followed further. */
const MAX_PENDING = 32;

interface Pending {
  rec: HttpRecord;
  isHead: boolean;
}

export interface HttpSession {
  outState: number;
  outCursor: number;
  inState: number;
  inCursor: number;
  /** Requests waiting for their response, oldest first. */
  pending: Pending[];
  requests: number;
  answered: number;
  req: RequestHead;
  resp: ResponseHead;
}

export function newHttpSession(): HttpSession {
  return {
    outState: S_HEAD, outCursor: 0, inState: S_HEAD, inCursor: 0, pending: [], requests: 0, answered: 0,
    req: newRequestHead(), resp: newResponseHead(),
  };
}

/** Stream offset where a successful CONNECT's tunnel starts, or -1. */
export function httpTunnelStart(s: HttpSession): number {
  return s.outState === S_TUNNEL ? s.outCursor : -1;
}

/** The tunnel has been read (or abandoned): nothing more to do on the initiator side. */
export function httpTunnelDone(s: HttpSession): void {
  s.outState = S_DONE;
}

/** True when neither direction can yield anything more. */
export function httpFinished(s: HttpSession): boolean {
  if (s.outState === S_TUNNEL) return false;
  return s.outState === S_DONE && (s.inState === S_DONE || s.pending.length === 0);
}

/** Reads every request now complete in the initiator's head. */
export function httpOnRequests(s: HttpSession, h: StreamHead, flow: Flow): void {
  for (;;) {
    if (s.outState === S_HEAD) {
      if (s.outCursor >= h.limit) { s.outState = S_DONE; return; }
      if (s.outCursor >= h.contig) return;
      const r = parseRequestHead(h.buf, s.outCursor, h.contig, s.req);
      if (r === HTTP_NEED_MORE) { if (headFull(h)) s.outState = S_DONE; return; }
      if (r === HTTP_BAD || s.pending.length >= MAX_PENDING) { s.outState = S_DONE; return; }
      const start = s.outCursor;
      s.outCursor = s.req.headEnd;
      addRequest(s, flow, headTsAt(h, start));
      if (s.outState !== S_HEAD) continue;
      if (s.req.chunked) s.outState = S_BODY_CHUNKED;
      else if (s.req.contentLength > 0) s.outCursor += s.req.contentLength;
    } else if (s.outState === S_BODY_CHUNKED) {
      const next = skipChunked(h.buf, s.outCursor, h.contig);
      if (next === -2) { s.outState = S_DONE; return; }
      if (next === -1) { if (headFull(h)) s.outState = S_DONE; return; }
      s.outCursor = next;
      s.outState = S_HEAD;
    } else {
      return;
    }
  }
}

/** Reads every response now complete in the responder's head, matching them to requests. */
export function httpOnResponses(s: HttpSession, h: StreamHead, flow: Flow, sink: EnrichSink): void {
  for (;;) {
    if (s.inState === S_HEAD) {
      if (s.inCursor >= h.limit) { s.inState = S_DONE; return; }
      // A response is read only once its request has been: it may arrive first in the capture.
      if (s.inCursor >= h.contig || s.pending.length === 0) return;
      const r = parseResponseHead(h.buf, s.inCursor, h.contig, s.resp);
      if (r === HTTP_NEED_MORE) { if (headFull(h)) s.inState = S_DONE; return; }
      if (r === HTTP_BAD) { s.inState = S_DONE; return; }
      const start = s.inCursor;
      s.inCursor = s.resp.headEnd;
      const status = s.resp.status;
      if (status >= 100 && status < 200 && status !== 101) continue; // interim: the real one follows
      answer(s, flow, headTsAt(h, start), status, sink);
    } else if (s.inState === S_BODY_CHUNKED) {
      const next = skipChunked(h.buf, s.inCursor, h.contig);
      if (next === -2) { s.inState = S_DONE; return; }
      if (next === -1) { if (headFull(h)) s.inState = S_DONE; return; }
      s.inCursor = next;
      s.inState = S_HEAD;
    } else {
      return;
    }
  }
}

/** Emits the requests still waiting (no response seen), in order. */
export function httpFlush(s: HttpSession, sink: EnrichSink): void {
  for (const p of s.pending) sink.http(p.rec);
  s.pending.length = 0;
}

function addRequest(s: HttpSession, flow: Flow, ts: number): void {
  const q = s.req;
  const isConnect = q.method === 'CONNECT';
  let connectHost: string | null = null;
  let connectPort: number | null = null;
  if (isConnect) {
    const hp = splitHostPort(q.target.toLowerCase());
    connectHost = hp.host;
    connectPort = Number.isNaN(hp.port) ? null : hp.port;
  }
  const rec: HttpRecord = {
    ts, flowId: flow.id, method: q.method, path: q.target, version: q.version, host: q.host,
    userAgent: q.userAgent, status: null, responseTs: null, responseLength: null, location: null, isConnect, connectHost, connectPort,
  };
  s.pending.push({ rec, isHead: q.method === 'HEAD' });
  if (s.requests++ === 0) {
    flow.httpMethod = rec.method;
    flow.httpPath = rec.path;
    flow.httpHost = rec.host;
  }
  if (isConnect) {
    if (flow.connectHost === null) {
      flow.connectHost = connectHost;
      flow.connectPort = connectPort;
    }
    offerHostname(flow, 'connect', connectHost);
    s.outState = S_WAIT_CONNECT;
  }
  if (rec.host !== null) offerHostname(flow, 'http', splitHostPort(rec.host).host);
}

function answer(s: HttpSession, flow: Flow, ts: number, status: number, sink: EnrichSink): void {
  const p = s.pending.shift() as Pending;
  p.rec.status = status;
  p.rec.responseTs = ts;
  p.rec.responseLength = s.resp.contentLength >= 0 ? s.resp.contentLength : null;
  if (status >= 300 && status < 400) p.rec.location = s.resp.location;
  if (s.answered++ === 0) flow.httpStatus = status;
  sink.http(p.rec);
  if (status === 101) {
    // Upgraded (WebSocket...): neither side speaks HTTP/1 any more.
    s.inState = S_DONE;
    s.outState = S_DONE;
    return;
  }
  if (p.rec.isConnect) {
    if (status >= 200 && status < 300) {
      s.outState = S_TUNNEL;
      s.inState = S_DONE; // the tunnel's server bytes are not HTTP
      return;
    }
    if (s.outState === S_WAIT_CONNECT) s.outState = S_HEAD; // refused: the client may retry (407)
  }
  skipResponseBody(s, p.isHead, status);
}

function skipResponseBody(s: HttpSession, isHead: boolean, status: number): void {
  const r = s.resp;
  if (isHead || status === 204 || status === 304) return;
  if (r.chunked) s.inState = S_BODY_CHUNKED;
  else if (r.contentLength >= 0) s.inCursor += r.contentLength;
  else s.inState = S_DONE; // body runs to the end of the connection (RFC 9112 §6.3 rule 8)
}

